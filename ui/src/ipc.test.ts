import { describe, expect, it } from 'vitest';
import { profileUpdate, profilesList, toErrorPayload, toolsList } from './ipc';
import { fakeBackend, profile, reject } from './testing/backend';

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
