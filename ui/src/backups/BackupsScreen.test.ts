import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { BackupRecord } from '../bindings/BackupRecord';
import { formatTimestamp } from '../format';
import type { JobProgress } from '../bindings/JobProgress';
import type { VerifyReport } from '../bindings/VerifyReport';
import {
  backupRecord,
  channelSender,
  deferred,
  dumpOptions,
  fakeBackend,
  jobProgress,
  manifest,
  profile,
  reject,
  verifyReport,
} from '../testing/backend';
import BackupsScreen from './BackupsScreen.svelte';

const el = <T extends HTMLElement = HTMLInputElement>(testId: string) => screen.getByTestId(testId) as unknown as T;

async function type(testId: string, value: string) {
  await fireEvent.input(el(testId), { target: { value } });
}

async function choose(testId: string, value: string) {
  await fireEvent.change(el<HTMLSelectElement>(testId), { target: { value } });
}

async function openRow(id: string) {
  const rows = await screen.findAllByTestId('backup-row');
  const row = rows.find((r) => r.dataset.id === id);
  if (!row) throw new Error(`no backup row ${id}`);
  await fireEvent.click(row);
}

const older = backupRecord({
  id: 'b-old',
  started_at: '2025-01-01T01:00:00Z',
  size_bytes: 1536,
  format: 'custom',
  verify_status: 'passed',
  verified_at: '2025-01-01T02:00:00Z',
});
const newer = backupRecord({ id: 'b-new', started_at: '2025-01-02T03:04:05Z', verify_status: 'failed' });
const unverified = backupRecord({ id: 'b-plain', database: 'billing', format: 'plain', size_bytes: 0 });

describe('backup history', () => {
  it('lists the first profile’s backups newest first, with kind, size and verification', async () => {
    const backend = fakeBackend({
      profiles_list: () => [profile({ name: 'prod' }), profile({ name: 'staging' })],
      backups_list: () => [newer, older, unverified],
    });
    render(BackupsScreen);

    const rows = await screen.findAllByTestId('backup-row');
    expect(backend.callsTo('backups_list')).toEqual([{ profile: 'prod' }]);
    expect(el<HTMLSelectElement>('backups-profile').value).toBe('prod');
    expect(rows.map((r) => r.dataset.id)).toEqual(['b-new', 'b-old', 'b-plain']);
    expect(rows[0].textContent).toContain(formatTimestamp('2025-01-02T03:04:05Z'));
    expect(rows[0].textContent).toContain('logical · directory');
    expect(rows[0].textContent).toContain('50.0 MiB');
    expect(rows[1].textContent).toContain('logical · custom');
    expect(rows[1].textContent).toContain('1.5 KiB');
    expect(rows[2].textContent).toContain('billing');
    expect(rows.map((r) => within(r).getByTestId('backup-verified').textContent)).toEqual([
      'failed',
      'passed',
      'unverified',
    ]);
  });

  it('reads the history again for another profile, or for all of them', async () => {
    const backend = fakeBackend({
      profiles_list: () => [profile({ name: 'prod' }), profile({ name: 'staging' })],
      backups_list: (args) =>
        args.profile === 'staging' ? [] : [newer, backupRecord({ id: 'b-s', profile: 'staging' })],
    });
    render(BackupsScreen);
    await screen.findAllByTestId('backup-row');

    await choose('backups-profile', 'staging');
    expect((await screen.findByTestId('backups-empty')).textContent).toContain('of staging');
    expect(screen.queryAllByTestId('backup-row')).toHaveLength(0);

    await choose('backups-profile', '');
    await waitFor(() => expect(screen.getAllByTestId('backup-row')).toHaveLength(2));
    expect(screen.getAllByTestId('backup-row')[1].textContent).toContain('staging');
    expect(el<HTMLButtonElement>('backup-now').disabled).toBe(true);
    expect(backend.callsTo('backups_list')).toEqual([{ profile: 'prod' }, { profile: 'staging' }, { profile: null }]);
  });

  it('shows the empty state', async () => {
    fakeBackend({ profiles_list: () => [profile()], backups_list: () => [] });
    render(BackupsScreen);
    expect((await screen.findByTestId('backups-empty')).textContent).toContain('No backups of prod yet');
  });

  it('shows an error when the history cannot be read', async () => {
    fakeBackend({
      profiles_list: () => [profile()],
      backups_list: () => reject({ code: 'catalog', message: 'The catalog is unreadable.', hint: 'Check the data folder.' }),
    });
    render(BackupsScreen);
    expect((await screen.findByTestId('error')).dataset.code).toBe('catalog');
    expect(screen.queryByTestId('backups-empty')).toBeNull();
  });
});

describe('back up now', () => {
  function backupBackend(extra: Record<string, (args: Record<string, unknown>) => unknown> = {}) {
    const history: BackupRecord[] = [older];
    const run = deferred<BackupRecord>();
    const backend = fakeBackend({
      profiles_list: () => [profile({ name: 'prod', database: 'app' })],
      backups_list: () => [...history],
      backup_command_preview: (args) => {
        const o = args.options as { format: string; tables: string[] };
        return `pg_dump --format=${o.format}${o.tables.map((t) => ` --table=${t}`).join('')} app`;
      },
      backup_run: () => run.promise,
      job_cancel: () => true,
      ...extra,
    });
    return { backend, history, run };
  }

  it('sends every option as DumpOptions, shows progress, then the new record and the refreshed history', async () => {
    const { backend, history, run } = backupBackend();
    render(BackupsScreen);
    await screen.findAllByTestId('backup-row');
    await fireEvent.click(el('backup-now'));

    // Defaults: the profile's database (empty field), directory format.
    expect(el('bk-database').value).toBe('');
    expect(el('bk-database').placeholder).toBe('app');
    expect(el<HTMLSelectElement>('bk-format').value).toBe('directory');
    expect(el('bk-compress').placeholder).toBe('best available');

    await type('bk-jobs', '4');
    await choose('bk-content', 'schema');
    await type('bk-tables', 'public.orders\n\n  "a.b"."x*y?"  \n');
    await type('bk-exclude-tables', 'public.audit_log');
    await type('bk-schemas', 'public\n"a.b"');
    await type('bk-exclude-schemas', 'tmp\r\nscratch\n');
    await type('bk-compress', ' zstd:3 ');
    await fireEvent.click(el('bk-no-owner'));
    await fireEvent.click(el('bk-no-row-counts'));
    await fireEvent.click(el('bk-start'));

    await waitFor(() => expect(backend.callsTo('backup_run')).toHaveLength(1));
    const args = backend.callsTo('backup_run')[0];
    expect(args.profile).toBe('prod');
    expect(args.options).toEqual(
      dumpOptions({
        database: null,
        format: 'directory',
        jobs: 4,
        schema_only: true,
        data_only: false,
        tables: ['public.orders', '"a.b"."x*y?"'],
        exclude_tables: ['public.audit_log'],
        schemas: ['public', '"a.b"'],
        exclude_schemas: ['tmp', 'scratch'],
        compress: 'zstd:3',
        no_owner: true,
        no_row_counts: true,
      }),
    );
    expect(args.jobId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    // Live progress through the channel.
    const send = channelSender<JobProgress>(args.onProgress);
    send(jobProgress({ job_id: args.jobId as string, phase: 'counting rows' }));
    const panel = await screen.findByTestId('bk-progress');
    await waitFor(() => expect(within(panel).getByTestId('job-phase').textContent).toBe('counting rows'));
    send(
      jobProgress({
        job_id: args.jobId as string,
        phase: 'dumping',
        current_object: 'public.orders',
        bytes_done: 25 * 1024 * 1024,
        bytes_total: 100 * 1024 * 1024,
        eta_seconds: 95,
      }),
    );
    await waitFor(() => expect(within(panel).getByTestId('job-phase').textContent).toBe('dumping'));
    expect(within(panel).getByTestId('job-object').textContent).toBe('public.orders');
    const bar = within(panel).getByTestId('job-bar') as HTMLProgressElement;
    expect(bar.max).toBe(100 * 1024 * 1024);
    expect(bar.value).toBe(25 * 1024 * 1024);
    expect(within(panel).getByTestId('job-bytes').textContent).toBe('25.0 MiB of 100 MiB');
    expect(within(panel).getByTestId('job-eta').textContent).toBe('about 1 min 35 s left');
    expect(el<HTMLButtonElement>('bk-start').disabled).toBe(true);

    const made = backupRecord({ id: 'b-made', started_at: '2025-02-01T00:00:00Z', size_bytes: 2048 });
    history.unshift(made);
    run.resolve(made);

    const result = await screen.findByTestId('bk-result');
    expect(result.dataset.id).toBe('b-made');
    expect(within(result).getByTestId('bk-result-size').textContent).toBe('2.0 KiB');
    expect(screen.queryByTestId('bk-progress')).toBeNull();
    await waitFor(() =>
      expect(screen.getAllByTestId('backup-row').map((r) => r.dataset.id)).toEqual(['b-made', 'b-old']),
    );
    expect(backend.callsTo('backups_list')).toHaveLength(2);
  });

  it('sends a named database, data only and no jobs outside the directory format', async () => {
    const { backend, run } = backupBackend();
    render(BackupsScreen);
    await screen.findAllByTestId('backup-row');
    await fireEvent.click(el('backup-now'));

    await type('bk-jobs', '8');
    await choose('bk-format', 'custom');
    expect(screen.queryByTestId('bk-jobs')).toBeNull();
    await type('bk-database', ' reports ');
    await choose('bk-content', 'data');
    await fireEvent.click(el('bk-no-privileges'));
    await fireEvent.click(el('bk-large-objects'));
    await fireEvent.click(el('bk-start'));

    await waitFor(() => expect(backend.callsTo('backup_run')).toHaveLength(1));
    expect(backend.callsTo('backup_run')[0].options).toEqual(
      dumpOptions({
        database: 'reports',
        format: 'custom',
        jobs: null,
        data_only: true,
        no_privileges: true,
        large_objects: true,
      }),
    );
    run.resolve(backupRecord({ id: 'b-x' }));
    await screen.findByTestId('bk-result');
  });

  it('shows the equivalent command and follows option changes', async () => {
    const { backend } = backupBackend();
    render(BackupsScreen);
    await screen.findAllByTestId('backup-row');
    await fireEvent.click(el('backup-now'));

    await waitFor(() => expect(el('bk-command').textContent).toBe('pg_dump --format=directory app'));
    await choose('bk-format', 'plain');
    await type('bk-tables', 'public.orders');
    await waitFor(() => expect(el('bk-command').textContent).toBe('pg_dump --format=plain --table=public.orders app'));
    const last = backend.callsTo('backup_command_preview').at(-1)!;
    expect(last.profile).toBe('prod');
    expect(last.options).toEqual(dumpOptions({ format: 'plain', tables: ['public.orders'] }));
    // Debounced: far fewer calls than changes.
    expect(backend.callsTo('backup_command_preview').length).toBeLessThanOrEqual(3);
  });

  it('shows a preview error quietly, not as an alert', async () => {
    backupBackend({
      backup_command_preview: () =>
        reject({ code: 'compression_unsupported', message: 'pg_dump 13 cannot compress with zstd.', hint: 'Use gzip.' }),
    });
    render(BackupsScreen);
    await screen.findAllByTestId('backup-row');
    await fireEvent.click(el('backup-now'));

    const quiet = await screen.findByTestId('bk-command-error');
    expect(quiet.dataset.code).toBe('compression_unsupported');
    expect(quiet.textContent).toBe('pg_dump 13 cannot compress with zstd.');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('cancels the running job by its id and reads as cancelled, not as a failure', async () => {
    const { backend, run } = backupBackend();
    render(BackupsScreen);
    await screen.findAllByTestId('backup-row');
    await fireEvent.click(el('backup-now'));
    await fireEvent.click(el('bk-start'));
    await screen.findByTestId('bk-progress');

    await fireEvent.click(el('bk-cancel'));
    await waitFor(() => expect(backend.callsTo('job_cancel')).toHaveLength(1));
    expect(backend.callsTo('job_cancel')[0]).toEqual({ jobId: backend.callsTo('backup_run')[0].jobId });
    expect(el('bk-cancel').textContent).toContain('Cancelling');

    run.reject({ code: 'cancelled', message: 'The backup was cancelled.', hint: '' });
    expect((await screen.findByTestId('bk-cancelled')).textContent).toContain('Backup cancelled');
    expect(screen.queryByTestId('error')).toBeNull();
    expect(screen.queryByTestId('bk-progress')).toBeNull();
    expect(screen.queryByTestId('bk-result')).toBeNull();
  });

  it('shows a failed backup with its hint, and a new job id for the next try', async () => {
    const { backend, run } = backupBackend();
    render(BackupsScreen);
    await screen.findAllByTestId('backup-row');
    await fireEvent.click(el('backup-now'));
    await fireEvent.click(el('bk-start'));

    run.reject({ code: 'table_missing', message: 'No table public.nope.', hint: 'Check the spelling.' });
    expect((await screen.findByTestId('error')).dataset.code).toBe('table_missing');
    expect(screen.getByTestId('error-hint').textContent).toBe('Check the spelling.');
    expect(screen.queryByTestId('bk-cancelled')).toBeNull();

    await fireEvent.click(el('bk-start'));
    await waitFor(() => expect(backend.callsTo('backup_run')).toHaveLength(2));
    const [first, second] = backend.callsTo('backup_run');
    expect(second.jobId).not.toBe(first.jobId);
  });
});

describe('backup details', () => {
  it('shows the manifest summary, and the log on demand', async () => {
    const backend = fakeBackend({
      profiles_list: () => [profile()],
      backups_list: () => [newer, older],
      backup_show: () =>
        manifest({
          id: 'b-new',
          server_version: '16.14',
          server_major: 16,
          tool_choice: 'pg_dump 17.10 from /opt/pg17/bin: no pg_dump 16 here, so the closest newer major (newer clients read older servers)',
        }),
      backup_log: () => 'pg_dump: reading schemas\npg_dump: dumping contents of table "public.orders"',
    });
    render(BackupsScreen);
    await openRow('b-new');

    const details = await screen.findByTestId('backup-details');
    expect(details.dataset.id).toBe('b-new');
    await waitFor(() => expect(el('manifest-server').textContent).toBe('PostgreSQL 16.14'));
    expect(backend.callsTo('backup_show')).toEqual([{ id: 'b-new' }]);
    // Which pg_dump ran, and why a newer one than the server.
    expect(el('manifest-tool').textContent).toContain('pg_dump (PostgreSQL) 17.10');
    expect(el('manifest-tool-choice').textContent).toContain('no pg_dump 16 here, so the closest newer major');
    expect(el('manifest-files').textContent).toBe('2');
    expect(el('manifest-size').textContent).toBe('50.0 MiB');
    expect(el('manifest-duration').textContent).toBe('1 min 05 s');
    expect(el('manifest-options').textContent).toContain('4 jobs');
    expect(el('manifest-command').textContent).toBe('pg_dump --format=directory --jobs=4 --file dump app');
    const counts = screen
      .getAllByTestId('manifest-row-count')
      .map((r) => Array.from(r.querySelectorAll('td'), (td) => td.textContent));
    expect(counts).toEqual([
      ['public.orders', (1200).toLocaleString()],
      ['public.customers', '85'],
    ]);

    expect(screen.queryByTestId('backup-log')).toBeNull();
    expect(backend.callsTo('backup_log')).toHaveLength(0);
    await fireEvent.click(el('backup-show-log'));
    expect((await screen.findByTestId('backup-log')).textContent).toContain('dumping contents of table "public.orders"');
    expect(backend.callsTo('backup_log')).toEqual([{ id: 'b-new' }]);
  });

  it('says why row counts were skipped', async () => {
    fakeBackend({
      profiles_list: () => [profile()],
      backups_list: () => [newer],
      backup_show: () => manifest({ row_counts: { status: 'skipped', reason: 'schema-only backup', tables: [] } }),
    });
    render(BackupsScreen);
    await openRow('b-new');
    expect((await screen.findByTestId('row-counts-skipped')).textContent).toBe('Skipped: schema-only backup.');
    expect(screen.queryByTestId('row-counts')).toBeNull();
  });

  it('shows where each backup is copied in the list', async () => {
    fakeBackend({
      profiles_list: () => [profile()],
      backups_list: () => [newer],
      backups_copies: () => ({
        'b-new': [
          { repository: 'offsite', complete: true, at: '2025-01-03T10:00:00Z', detail: null },
          { repository: 'nas', complete: false, at: '2025-01-03T10:00:00Z', detail: 'repository_unreachable: down' },
        ],
      }),
    });
    render(BackupsScreen);
    await screen.findAllByTestId('backup-row');
    const copies = await screen.findAllByTestId('backup-row-copy');
    expect(copies.map((c) => [c.textContent, c.dataset.complete])).toEqual([
      ['✓ offsite', 'true'],
      ['✗ nas', 'false'],
    ]);
  });

  it('says what reading each copy back found', async () => {
    fakeBackend({
      profiles_list: () => [profile()],
      backups_list: () => [newer],
      backup_show: () => manifest(),
      verify_run: () =>
        verifyReport({
          id: 'b-new',
          copies: [
            { repository: 'offsite', status: 'passed', files_checked: 7, problems: [] },
            { repository: 'nas', status: 'not_copied', files_checked: 0, problems: ['repository_unreachable: down'] },
          ],
        }),
    });
    render(BackupsScreen);
    await openRow('b-new');
    await fireEvent.click(await screen.findByTestId('backup-verify'));
    await screen.findByTestId('verify-result');
    const copies = screen.getAllByTestId('verify-copy');
    expect(copies.map((c) => [c.dataset.repository, c.dataset.status, c.textContent?.trim()])).toEqual([
      ['offsite', 'passed', 'read back: 7 files match'],
      ['nas', 'not_copied', 'not copied yet'],
    ]);
  });

  it('verifies with a test restore and lists the problems of a failed verification', async () => {
    let verified = false;
    const backend = fakeBackend({
      profiles_list: () => [profile()],
      backups_list: () => [verified ? { ...newer, verify_status: 'failed' } : { ...newer, verify_status: null }],
      backup_show: () => manifest(),
      verify_run: () => {
        verified = true;
        return verifyReport({
          id: 'b-new',
          status: 'failed',
          restore_tested: true,
          tables_compared: 2,
          problems: ['dump/3001.dat.zst: checksum mismatch', 'public.orders: 1200 rows in the manifest, 1199 restored'],
        });
      },
    });
    render(BackupsScreen);
    await openRow('b-new');
    await screen.findByTestId('backup-details');
    expect(within(screen.getAllByTestId('backup-row')[0]).getByTestId('backup-verified').textContent).toBe('unverified');

    await fireEvent.click(el('backup-verify-restore'));
    await fireEvent.click(el('backup-verify'));

    const result = await screen.findByTestId('verify-result');
    expect(backend.callsTo('verify_run')).toEqual([expect.objectContaining({ id: 'b-new', restoreTest: true })]);
    expect(result.dataset.status).toBe('failed');
    expect(result.textContent).toContain('Verification failed');
    expect(result.textContent).toContain('done, 2 tables compared');
    expect(within(result).getAllByRole('listitem').map((li) => li.textContent)).toEqual([
      'dump/3001.dat.zst: checksum mismatch',
      'public.orders: 1200 rows in the manifest, 1199 restored',
    ]);
    // The history is read again so the row shows the new status.
    await waitFor(() =>
      expect(within(screen.getAllByTestId('backup-row')[0]).getByTestId('backup-verified').textContent).toBe('failed'),
    );
  });

  it('shows a test restore\'s progress and cancels it', async () => {
    const run = deferred<VerifyReport>();
    const backend = fakeBackend({
      profiles_list: () => [profile()],
      backups_list: () => [newer],
      backup_show: () => manifest(),
      verify_run: () => run.promise,
      job_cancel: () => {
        run.reject({ code: 'cancelled', message: 'Cancelled.', hint: 'Nothing was kept.' });
        return true;
      },
    });
    render(BackupsScreen);
    await openRow('b-new');
    await fireEvent.click(el('backup-verify-restore'));
    await fireEvent.click(el('backup-verify'));
    await screen.findByTestId('verify-progress');
    const send = channelSender<JobProgress>(backend.callsTo('verify_run')[0].onProgress);
    send(jobProgress({ phase: 'test restore: restoring' }));
    await waitFor(() => expect(screen.getByTestId('job-phase').textContent).toBe('test restore: restoring'));
    await fireEvent.click(el('verify-cancel'));
    expect(await screen.findByTestId('verify-cancelled')).toBeTruthy();
    expect(backend.callsTo('job_cancel')[0]).toEqual({ jobId: backend.callsTo('verify_run')[0].jobId });
    expect(screen.queryByTestId('verify-result')).toBeNull();
  });

  it('opens the restore wizard for the selected backup', async () => {
    fakeBackend({
      profiles_list: () => [profile()],
      backups_list: () => [newer],
      backup_show: () => manifest(),
      toc_list: () => [],
    });
    render(BackupsScreen);
    await openRow('b-new');
    await fireEvent.click(await screen.findByTestId('backup-restore'));

    await screen.findByTestId('restore-wizard');
    expect(el('rs-to-db').value).toBe('app_restored');
    expect(screen.queryByTestId('backup-details')).toBeNull();
    await fireEvent.click(el('rs-close'));
    expect(await screen.findByTestId('backup-details')).toBeTruthy();
  });
});
