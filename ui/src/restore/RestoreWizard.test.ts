import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { BackupRecord } from '../bindings/BackupRecord';
import type { JobProgress } from '../bindings/JobProgress';
import type { RestoreReport } from '../bindings/RestoreReport';
import {
  backupRecord,
  channelSender,
  deferred,
  fakeBackend,
  jobProgress,
  profile,
  reject,
  restoreReport,
  sandbox,
  tocEntry,
} from '../testing/backend';
import RestoreWizard from './RestoreWizard.svelte';

const el = <T extends HTMLElement = HTMLInputElement>(testId: string) => screen.getByTestId(testId) as unknown as T;

const record = backupRecord({ id: 'b1', database: 'app', profile: 'prod', format: 'directory' });
const profiles = [profile({ name: 'prod' }), profile({ name: 'staging' })];

const toc = [
  tocEntry(10, 'SCHEMA', '-', 'a.b'),
  tocEntry(11, 'TABLE', 'public', 'orders'),
  tocEntry(12, 'TABLE', 'public', 'customers'),
  tocEntry(13, 'VIEW', 'public', 'order_totals', [11]),
  tocEntry(14, 'TABLE', 'a.b', 'x*y?', [10]),
  tocEntry(15, 'MATERIALIZED VIEW', 'reports', 'daily'),
  tocEntry(20, 'TABLE DATA', 'public', 'orders', [11]),
  tocEntry(21, 'INDEX', 'public', 'orders_pkey', [11]),
  tocEntry(22, 'FK CONSTRAINT', 'public', 'orders customer_fk', [11, 12]),
  tocEntry(23, 'SEQUENCE', 'public', 'orders_id_seq'),
];

function open(r: BackupRecord = record) {
  let closed = 0;
  render(RestoreWizard, { props: { record: r, profiles, onClose: () => closed++ } });
  return { closed: () => closed };
}

function table(name: string): HTMLInputElement {
  const box = screen.getAllByTestId('rs-table').find((b) => b.dataset.name === name);
  if (!box) throw new Error(`no table checkbox ${name}`);
  return box as HTMLInputElement;
}

describe('restore target', () => {
  it('defaults to <database>_restored on the backup’s profile and warns about clean', async () => {
    fakeBackend({ toc_list: () => toc });
    open();
    expect(el('rs-to-db').value).toBe('app_restored');
    expect(el<HTMLSelectElement>('rs-profile').value).toBe('prod');
    expect(Array.from(el<HTMLSelectElement>('rs-profile').options, (o) => o.value)).toEqual(['prod', 'staging']);
    expect(screen.queryByTestId('rs-clean-warning')).toBeNull();

    await fireEvent.click(el('rs-clean'));
    expect(el('rs-clean-warning').textContent).toContain('drops and recreates the archive’s objects in app_restored');
  });
});

describe('object picker', () => {
  it('groups tables, views and materialized views by schema, and checks by exact qualified name', async () => {
    const backend = fakeBackend({
      toc_list: () => toc,
      toc_select: (args) => {
        const two = (args.tables as string[]).length === 2;
        const ids = two ? [11, 14, 20, 21, 10] : [14, 10];
        return {
          entries: ids.map((id) => toc.find((e) => e.id === id)!),
          warnings: two ? ['public.orders references public.customers, which is not selected'] : [],
        };
      },
    });
    open();

    await waitFor(() => expect(screen.getAllByTestId('rs-table')).toHaveLength(5));
    expect(backend.callsTo('toc_list')).toEqual([{ id: 'b1' }]);
    expect(screen.getAllByTestId('rs-table').map((b) => b.dataset.name)).toEqual([
      'public.orders',
      'public.customers',
      'public.order_totals',
      '"a.b"."x*y?"',
      'reports.daily',
    ]);
    const legends = Array.from(screen.getByTestId('restore-wizard').querySelectorAll('.schema legend'), (l) => l.textContent);
    expect(legends).toEqual(['public', 'a.b', 'reports']);
    // Nothing checked: the whole backup, and nothing to ask the engine yet.
    expect(backend.callsTo('toc_select')).toHaveLength(0);

    await fireEvent.click(table('"a.b"."x*y?"'));
    await fireEvent.click(table('public.orders'));

    await waitFor(() => expect(backend.callsTo('toc_select')).toHaveLength(2));
    // In TOC order, whatever order they were clicked in.
    expect(backend.callsTo('toc_select')[1]).toEqual({ id: 'b1', tables: ['public.orders', '"a.b"."x*y?"'] });
    const selection = await screen.findByTestId('rs-selection');
    await waitFor(() => expect(screen.queryByTestId('rs-warnings')).not.toBeNull());
    expect(selection.textContent).toContain('Restores 5 archive entries');
    expect(
      within(selection)
        .getAllByTestId('rs-kind')
        .map((k) => [k.dataset.kind, k.textContent]),
    ).toEqual([
      ['TABLE', '2 table'],
      ['TABLE DATA', '1 table data'],
      ['INDEX', '1 index'],
      ['SCHEMA', '1 schema'],
    ]);
    expect(el('rs-warnings').textContent).toContain('public.orders references public.customers, which is not selected');

    // Unchecking everything goes back to the whole backup.
    await fireEvent.click(table('public.orders'));
    await fireEvent.click(table('"a.b"."x*y?"'));
    await waitFor(() => expect(screen.queryByTestId('rs-selection')).toBeNull());
    expect(backend.callsTo('toc_select')).toHaveLength(3);
  });

  it('says a plain-format backup restores whole, without reading a TOC', async () => {
    const backend = fakeBackend({});
    open(backupRecord({ id: 'b-plain', format: 'plain' }));
    expect(el('rs-whole').textContent).toContain('restores whole');
    expect(screen.queryAllByTestId('rs-table')).toHaveLength(0);
    expect(backend.calls).toHaveLength(0);
  });
});

describe('check (dry run)', () => {
  it('sends the options with dry_run and shows the -L plan', async () => {
    const plan = ['; Archive created at 2025-01-02 03:04:05 UTC', '11; 1259 16390 TABLE public orders alice', '20; 0 16390 TABLE DATA public orders alice'];
    const backend = fakeBackend({
      toc_list: () => toc,
      toc_select: () => ({ entries: [], warnings: [] }),
      restore_run: () => restoreReport({ dry_run: true, database: 'orders_copy', profile: 'staging', list: plan }),
    });
    open();
    await waitFor(() => expect(screen.getAllByTestId('rs-table')).toHaveLength(5));

    await fireEvent.input(el('rs-to-db'), { target: { value: 'orders_copy' } });
    await fireEvent.change(el('rs-profile'), { target: { value: 'staging' } });
    await fireEvent.input(el('rs-jobs'), { target: { value: '3' } });
    await fireEvent.click(el('rs-no-owner'));
    await fireEvent.click(table('public.orders'));
    await fireEvent.click(el('rs-dry-run'));

    const preflight = await screen.findByTestId('rs-preflight');
    const args = backend.callsTo('restore_run')[0];
    expect(args.id).toBe('b1');
    expect(args.options).toEqual({
      to_db: 'orders_copy',
      profile: 'staging',
      jobs: 3,
      tables: ['public.orders'],
      schemas: [],
      clean: false,
      no_owner: true,
      dry_run: true,
      into_schema: null,
      sections: [],
      owner: null,
      map_roles: [],
      sandbox: false,
    });
    expect(typeof args.jobId).toBe('string');
    expect(args.onProgress).toBeDefined();
    expect(preflight.textContent).toContain('the restore into orders_copy on staging can go ahead');
    expect(el('rs-summary').textContent).toBe('Restores 1 table with its data, owned by alice.');
    expect(el('rs-plan').textContent).toBe(plan.join('\n'));
    expect(screen.queryByTestId('rs-result')).toBeNull();
  });

  it('shows a target_not_empty error with its hint', async () => {
    const backend = fakeBackend({
      toc_list: () => toc,
      restore_run: () =>
        reject({
          code: 'target_not_empty',
          message: 'Database app_restored already holds objects.',
          hint: 'Choose another database name, or tick Clean to drop and recreate the archive’s objects.',
        }),
    });
    open();
    await fireEvent.click(el('rs-dry-run'));

    const box = await screen.findByTestId('error');
    expect(box.dataset.code).toBe('target_not_empty');
    expect(screen.getByTestId('error-hint').textContent).toBe(
      'Choose another database name, or tick Clean to drop and recreate the archive’s objects.',
    );
    expect(screen.queryByTestId('rs-plan')).toBeNull();
    // The backup's own profile is sent as null (the engine's default); nothing checked = whole.
    expect(backend.callsTo('restore_run')[0].options).toMatchObject({ profile: null, tables: [], dry_run: true });
    expect(el<HTMLButtonElement>('rs-dry-run').disabled).toBe(false);
  });

  it('needs a target database name', async () => {
    fakeBackend({ toc_list: () => toc });
    open();
    await fireEvent.input(el('rs-to-db'), { target: { value: '  ' } });
    expect(el<HTMLButtonElement>('rs-dry-run').disabled).toBe(true);
    expect(el<HTMLButtonElement>('rs-start').disabled).toBe(true);
  });
});

describe('restoring', () => {
  it('shows progress, then the outcome with row counts per table', async () => {
    const run = deferred<RestoreReport>();
    const backend = fakeBackend({
      toc_list: () => toc,
      toc_select: () => ({ entries: [], warnings: [] }),
      restore_run: () => run.promise,
    });
    open();
    await waitFor(() => expect(screen.getAllByTestId('rs-table')).toHaveLength(5));
    await fireEvent.click(el('rs-clean'));
    await fireEvent.click(table('public.orders'));
    await fireEvent.click(table('"a.b"."x*y?"'));
    await fireEvent.click(el('rs-start'));

    await waitFor(() => expect(backend.callsTo('restore_run')).toHaveLength(1));
    const args = backend.callsTo('restore_run')[0];
    expect(args.options).toMatchObject({ clean: true, dry_run: false, tables: ['public.orders', '"a.b"."x*y?"'] });
    const send = channelSender<JobProgress>(args.onProgress);
    send(jobProgress({ job_id: args.jobId as string, phase: 'restoring', current_object: 'TABLE DATA public.orders' }));
    const panel = await screen.findByTestId('rs-progress');
    await waitFor(() => expect(within(panel).getByTestId('job-object').textContent).toBe('TABLE DATA public.orders'));
    expect(within(panel).getByTestId('job-phase').textContent).toBe('restoring');
    // Without a known total the bar is indeterminate.
    expect((within(panel).getByTestId('job-bar') as HTMLProgressElement).hasAttribute('value')).toBe(false);
    expect(el<HTMLButtonElement>('rs-start').disabled).toBe(true);
    expect(el<HTMLButtonElement>('rs-close').disabled).toBe(true);

    run.resolve(
      restoreReport({
        created_database: false,
        duration_ms: 12300,
        warnings: ['pg_restore: 1 error ignored: role "reporting" does not exist'],
        row_counts: [
          { schema: 'public', table: 'orders', rows: 1200 },
          { schema: 'a.b', table: 'x*y?', rows: 7 },
        ],
      }),
    );

    const result = await screen.findByTestId('rs-result');
    expect(screen.queryByTestId('rs-progress')).toBeNull();
    expect(within(result).getByTestId('rs-result-db').textContent).toBe('app_restored');
    expect(within(result).getByTestId('rs-result-created').textContent).toBe('no');
    expect(within(result).getByTestId('rs-result-duration').textContent).toBe('12.3 s');
    expect(within(result).getByTestId('rs-result-warnings').textContent).toContain('role "reporting" does not exist');
    const rows = within(result).getAllByTestId('rs-row-count');
    expect(rows.map((r) => [r.dataset.table, r.querySelector('.num')?.textContent])).toEqual([
      ['public.orders', (1200).toLocaleString()],
      ['"a.b"."x*y?"', '7'],
    ]);
  });

  it('restores into a new sandbox and names it in the outcome', async () => {
    const backend = fakeBackend({
      toc_list: () => toc,
      toc_select: () => ({ entries: [], warnings: [] }),
      restore_run: () => restoreReport({ sandbox: sandbox({ id: 'sb-1234abcd', kind: 'restore', url: 'postgresql://alice@127.0.0.1:54400/app' }) }),
    });
    open();
    await waitFor(() => expect(screen.getAllByTestId('rs-table')).toHaveLength(5));
    await fireEvent.click(el('rs-sandbox'));
    expect(el('rs-sandbox-note').textContent).toContain('none of the source’s roles');
    expect(el<HTMLInputElement>('rs-clean').disabled).toBe(true);
    await fireEvent.click(el('rs-start'));
    await waitFor(() => expect(backend.callsTo('restore_run')).toHaveLength(1));
    expect(backend.callsTo('restore_run')[0].options).toMatchObject({ sandbox: true, clean: false });
    const result = await screen.findByTestId('rs-result');
    expect(within(result).getByTestId('rs-result-sandbox').textContent).toBe('sb-1234abcd · postgresql://alice@127.0.0.1:54400/app');
  });

  it('shows the restore log on request', async () => {
    const backend = fakeBackend({
      toc_list: () => toc,
      restore_run: () => restoreReport({ log_path: '/home/u/.local/share/tideline/logs/restores/b1.log' }),
      restore_log: () => 'pg_restore: creating TABLE "public.orders"',
    });
    open();
    await fireEvent.click(el('rs-start'));
    const result = await screen.findByTestId('rs-result');
    await fireEvent.click(within(result).getByTestId('rs-show-log'));
    expect((await screen.findByTestId('rs-log')).textContent).toContain('creating TABLE "public.orders"');
    expect(backend.callsTo('restore_log')[0]).toEqual({ path: '/home/u/.local/share/tideline/logs/restores/b1.log' });
  });

  it('cancels the restore by its job id', async () => {
    const run = deferred<RestoreReport>();
    const backend = fakeBackend({ toc_list: () => toc, restore_run: () => run.promise, job_cancel: () => true });
    open();
    await fireEvent.click(el('rs-start'));
    await screen.findByTestId('rs-progress');
    await fireEvent.click(el('rs-cancel'));

    await waitFor(() => expect(backend.callsTo('job_cancel')).toHaveLength(1));
    expect(backend.callsTo('job_cancel')[0]).toEqual({ jobId: backend.callsTo('restore_run')[0].jobId });
    run.reject({ code: 'cancelled', message: 'The restore was cancelled.', hint: '' });
    expect((await screen.findByTestId('rs-cancelled')).textContent).toBe('Restore cancelled.');
    expect(screen.queryByTestId('error')).toBeNull();
    expect(screen.queryByTestId('rs-result')).toBeNull();
  });
});
