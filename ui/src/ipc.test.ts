import { describe, expect, it } from 'vitest';
import { Channel } from '@tauri-apps/api/core';
import type { JobProgress } from './bindings/JobProgress';
import {
  backupRun,
  backupsList,
  jobCancel,
  profileUpdate,
  profilesList,
  restoreRun,
  toErrorPayload,
  toolsList,
  tocSelect,
  verifyRun,
} from './ipc';
import { backupRecord, dumpOptions, fakeBackend, profile, reject, restoreReport, verifyReport } from './testing/backend';

describe('toErrorPayload', () => {
  it('passes an engine ErrorPayload through unchanged', () => {
    const e = { code: 'timeout', message: 'No answer in 10 s.', hint: 'Check the host.' };
    expect(toErrorPayload(e)).toBe(e);
  });

  it('turns strings, Errors and other values into internal errors', () => {
    expect(toErrorPayload('invalid args `name` for command')).toMatchObject({
      code: 'internal',
      message: 'invalid args `name` for command',
    });
    expect(toErrorPayload(new Error('boom'))).toMatchObject({ code: 'internal', message: 'boom' });
    expect(toErrorPayload({ code: 1 })).toMatchObject({ code: 'internal', message: '{"code":1}' });
    expect(toErrorPayload(undefined).code).toBe('internal');
    expect(toErrorPayload('x').hint).not.toBe('');
  });
});

describe('command wrappers', () => {
  it('pass camelCase argument keys and return the result', async () => {
    const backend = fakeBackend({
      profiles_list: () => [profile()],
      profile_update: () => profile({ name: 'renamed' }),
    });
    expect(await profilesList()).toEqual([profile()]);
    const draft = { ...profile(), name: 'renamed' };
    await profileUpdate('prod', draft, { kind: 'keep' });
    expect(backend.callsTo('profile_update')[0]).toEqual({ name: 'prod', draft, password: { kind: 'keep' } });
  });

  it('reject with an ErrorPayload, normalising non-engine rejections', async () => {
    fakeBackend({
      profiles_list: () => reject({ code: 'io', message: 'disk full', hint: 'Free some space.' }),
      tools_list: () => Promise.reject('command tools_list not found'),
    });
    await expect(profilesList()).rejects.toEqual({ code: 'io', message: 'disk full', hint: 'Free some space.' });
    await expect(toolsList()).rejects.toMatchObject({ code: 'internal', message: 'command tools_list not found' });
  });
});

describe('backup and restore wrappers', () => {
  it('send the contract’s argument names, with the progress channel itself', async () => {
    const backend = fakeBackend({
      backups_list: () => [backupRecord()],
      backup_run: () => backupRecord(),
      job_cancel: () => true,
      toc_select: () => ({ entries: [], warnings: [] }),
      restore_run: () => restoreReport(),
      verify_run: () => verifyReport(),
    });
    const channel = new Channel<JobProgress>();
    expect(await backupsList(null)).toEqual([backupRecord()]);
    await backupRun('prod', dumpOptions(), 'job-1', channel);
    expect(await jobCancel('job-1')).toBe(true);
    await tocSelect('b1', ['public.orders']);
    const options = { to_db: 'x', profile: null, jobs: null, tables: [], schemas: [], clean: false, no_owner: false, dry_run: true, into_schema: null, sections: [], owner: null, map_roles: [], sandbox: false };
    await restoreRun('b1', options, 'job-2', channel);
    await verifyRun('b1', false, 'job-3', channel);

    expect(backend.calls).toEqual([
      { cmd: 'backups_list', args: { profile: null } },
      { cmd: 'backup_run', args: { profile: 'prod', options: dumpOptions(), jobId: 'job-1', onProgress: channel } },
      { cmd: 'job_cancel', args: { jobId: 'job-1' } },
      { cmd: 'toc_select', args: { id: 'b1', tables: ['public.orders'] } },
      { cmd: 'restore_run', args: { id: 'b1', options, jobId: 'job-2', onProgress: channel } },
      { cmd: 'verify_run', args: { id: 'b1', restoreTest: false, jobId: 'job-3', onProgress: channel } },
    ]);
  });
});
