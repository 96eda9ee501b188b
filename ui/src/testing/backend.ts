// Test helpers: a fake Rust side built on Tauri's mockIPC that records every call.
import { profileContext } from '../profileContext.svelte';
import type { Channel } from '@tauri-apps/api/core';
import { mockIPC } from '@tauri-apps/api/mocks';
import type { BackupRecord } from '../bindings/BackupRecord';
import type { DumpOptions } from '../bindings/DumpOptions';
import type { ErrorPayload } from '../bindings/ErrorPayload';
import type { JobProgress } from '../bindings/JobProgress';
import type { Manifest } from '../bindings/Manifest';
import type { Profile } from '../bindings/Profile';
import type { RestoreReport } from '../bindings/RestoreReport';
import type { Sandbox } from '../bindings/Sandbox';
import type { SandboxComparison } from '../bindings/SandboxComparison';
import type { ServerFacts } from '../bindings/ServerFacts';
import type { TimelineView } from '../bindings/TimelineView';
import type { TocEntry } from '../bindings/TocEntry';
import type { VerifyReport } from '../bindings/VerifyReport';

export type Call = { cmd: string; args: Record<string, unknown> };
type Handler = (args: Record<string, unknown>) => unknown;

export function fakeBackend(handlers: Record<string, Handler>) {
  const calls: Call[] = [];
  // Each test starts as the app does: no profile chosen yet.
  profileContext.name = '';
  mockIPC((cmd, payload) => {
    const args = (payload ?? {}) as Record<string, unknown>;
    // The start-up timing report only logs: no test is about it.
    if (cmd === 'screen_drawn') return Promise.resolve(null);
    calls.push({ cmd, args });
    const handler = handlers[cmd];
    if (!handler) return Promise.reject(`unexpected command ${cmd}`);
    return handler(args);
  }, { shouldMockEvents: true });
  return {
    calls,
    callsTo: (cmd: string) => calls.filter((c) => c.cmd === cmd).map((c) => c.args),
  };
}

/** What a command returns to make invoke reject with an engine error. */
export const reject = (error: ErrorPayload) => Promise.reject(error);

export function profile(overrides: Partial<Profile> = {}): Profile {
  const name = overrides.name ?? 'prod';
  return {
    id: `id-${name}`,
    name,
    host: 'db.example.com',
    port: 5432,
    database: 'app',
    user: 'alice',
    sslmode: 'prefer',
    sslrootcert: null,
    sslcert: null,
    sslkey: null,
    application_name: null,
    connect_timeout_secs: 10,
    has_password: false,
    created_at: '2025-01-02T03:04:05Z',
    updated_at: '2025-01-02T03:04:05Z',
    ...overrides,
  };
}

export function facts(overrides: Partial<ServerFacts> = {}): ServerFacts {
  return {
    server_version: '17.2 (Debian 17.2-1.pgdg120+1)',
    major: 17,
    current_user: 'alice',
    is_superuser: false,
    can_replicate: true,
    wal_level: 'replica',
    archive_mode: 'off',
    archive_command: '',
    max_wal_senders: 10,
    databases: [
      { name: 'app', size_bytes: 1610612736 },
      { name: 'postgres', size_bytes: 7654321 },
    ],
    round_trip_ms: 3,
    tls: true,
    tested_at: '2025-01-02T03:04:05Z',
    ...overrides,
  };
}

// Backups and restores.

export function backupRecord(overrides: Partial<BackupRecord> = {}): BackupRecord {
  const id = overrides.id ?? '20250102T030405Z-app';
  return {
    id,
    kind: 'logical',
    profile: 'prod',
    database: 'app',
    path: `/home/alice/.local/share/tideline/backups/prod/${id}`,
    status: 'complete',
    started_at: '2025-01-02T03:04:05Z',
    finished_at: '2025-01-02T03:05:10Z',
    size_bytes: 52428800,
    format: 'directory',
    verified_at: null,
    verify_status: null,
    verify_detail: null,
    ...overrides,
  };
}

export function dumpOptions(overrides: Partial<DumpOptions> = {}): DumpOptions {
  return {
    database: null,
    format: 'directory',
    jobs: null,
    schema_only: false,
    data_only: false,
    tables: [],
    exclude_tables: [],
    schemas: [],
    exclude_schemas: [],
    large_objects: false,
    no_owner: false,
    no_privileges: false,
    compress: null,
    no_row_counts: false,
    ...overrides,
  };
}

export function manifest(overrides: Partial<Manifest> = {}): Manifest {
  return {
    format_version: 1,
    id: '20250102T030405Z-app',
    kind: 'logical',
    profile: 'prod',
    database: 'app',
    server_version: '17.2',
    server_major: 17,
    tool_version: 'pg_dump (PostgreSQL) 17.10',
    tool_major: 17,
    options: dumpOptions({ jobs: 4 }),
    artifact: 'dump',
    command: ['pg_dump', '--format=directory', '--jobs=4', '--file', 'dump', 'app'],
    started_at: '2025-01-02T03:04:05Z',
    finished_at: '2025-01-02T03:05:10Z',
    duration_ms: 65000,
    size_bytes: 52428800,
    files: [
      { path: 'dump/toc.dat', size_bytes: 4096, blake3: 'a'.repeat(64) },
      { path: 'dump/3001.dat.zst', size_bytes: 52424704, blake3: 'b'.repeat(64) },
    ],
    row_counts: {
      status: 'counted',
      reason: null,
      tables: [
        { schema: 'public', table: 'orders', rows: 1200 },
        { schema: 'public', table: 'customers', rows: 85 },
      ],
    },
    database_size_bytes: 20_971_520,
    status: 'complete',
    ...overrides,
  };
}

export function tocEntry(id: number, kind: string, schema: string, name: string, depends_on: number[] = []): TocEntry {
  return { id, kind, schema, name, owner: 'alice', depends_on };
}

export function restoreReport(overrides: Partial<RestoreReport> = {}): RestoreReport {
  return {
    backup_id: '20250102T030405Z-app',
    profile: 'prod',
    database: 'app_restored',
    created_database: true,
    dry_run: false,
    list: [],
    warnings: [],
    row_counts: [],
    duration_ms: 4200,
    log_path: null,
    sandbox: null,
    tool_choice: 'pg_restore 17.10 from /usr/lib/postgresql/17/bin: the server\'s own major',
    ...overrides,
  };
}

export function verifyReport(overrides: Partial<VerifyReport> = {}): VerifyReport {
  return {
    id: '20250102T030405Z-app',
    status: 'passed',
    files_checked: 2,
    readable: true,
    restore_tested: false,
    tables_compared: 0,
    row_counts_note: null,
    problems: [],
    verified_at: '2025-01-03T10:00:00Z',
    copies: [],
    ...overrides,
  };
}

export function jobProgress(overrides: Partial<JobProgress> = {}): JobProgress {
  return {
    job_id: 'job',
    phase: 'dumping',
    current_object: null,
    bytes_done: 0,
    bytes_total: null,
    eta_seconds: null,
    ...overrides,
  };
}

// Point-in-time recovery.

/**
 * Three base backups, timeline 1 recoverable 03-01 10:00 to 03-03 10:00 with a gap after it,
 * timeline 2 (forked from 1 at 0/6000000) recoverable 03-01 10:00 to 03-05 10:00.
 */
export function timelineView(overrides: Partial<TimelineView> = {}): TimelineView {
  return {
    profile: 'prod',
    window: {
      system_identifier: '7311',
      segment_bytes: 16777216,
      timelines: [
        {
          timeline: 1,
          parent: null,
          switch_lsn: null,
          earliest: { lsn: '0/2000028', time: '2025-03-01T10:00:00Z' },
          latest: { lsn: '0/9000000', time: '2025-03-03T10:00:00Z' },
          from_backup: 'b2',
          partial_segment: null,
        },
        {
          timeline: 2,
          parent: 1,
          switch_lsn: '0/6000000',
          earliest: { lsn: '0/2000028', time: '2025-03-01T10:00:00Z' },
          latest: { lsn: '0/C000000', time: '2025-03-05T10:00:00Z' },
          from_backup: 'b3',
          partial_segment: null,
        },
      ],
      runs: [],
      gaps: [
        {
          timeline: 1,
          first_missing: '000000010000000000000009',
          last_missing: '00000001000000000000000A',
          start_lsn: '0/9000000',
          end_lsn: '0/B000000',
        },
      ],
      base_backups: [
        { id: 'b1', timeline: 1, start_lsn: '0/2000000', stop_lsn: '0/2000028', finished_at: '2025-03-01T10:00:00Z' },
        { id: 'b2', timeline: 1, start_lsn: '0/5000000', stop_lsn: '0/5000028', finished_at: '2025-03-02T10:00:00Z' },
        { id: 'b3', timeline: 2, start_lsn: '0/7000000', stop_lsn: '0/7000028', finished_at: '2025-03-04T10:00:00Z' },
      ],
      damaged: [],
    },
    logical_dumps: [{ id: 'd1', database: 'app', finished_at: '2025-03-02T18:00:00Z' }],
    restore_points: [
      {
        system_identifier: '7311',
        name: 'before-migration',
        profile: 'prod',
        lsn: '0/8000100',
        timeline: 2,
        created_at: '2025-03-04T12:00:00Z',
      },
    ],
    commit_density: [
      { minute: '2025-03-02T12:00:00Z', commits: 4 },
      { minute: '2025-03-02T12:01:00Z', commits: 40 },
    ],
    events: [
      {
        id: '2:900',
        rank: 2,
        kind: 'delete',
        timeline: 2,
        xid: '900',
        lsn: '0/8000200',
        time: '2025-03-04T13:00:00Z',
        effects: [{ kind: 'delete', relation: 'public.orders', database: null, rows: 48210, rows_before: 96420, share: 0.5 }],
        description: 'DELETE of 48,210 of 96,420 rows from public.orders (50%)',
        severity: 'high',
        by_tideline: null,
      },
      {
        id: '2:950',
        rank: 1,
        kind: 'drop',
        timeline: 2,
        xid: '950',
        lsn: '0/8000900',
        time: '2025-03-04T15:00:00Z',
        effects: [
          { kind: 'drop', relation: 'public.audit', database: null, rows: null, rows_before: null, share: null },
          { kind: 'delete', relation: 'public.log', database: null, rows: 2000, rows_before: null, share: null },
        ],
        description: 'DROP TABLE public.audit; DELETE of 2,000 rows from public.log',
        severity: 'high',
        by_tideline: null,
      },
      {
        id: '2:990',
        rank: 3,
        kind: 'delete',
        timeline: 2,
        xid: '990',
        lsn: '0/8000F00',
        time: '2025-03-04T16:00:00Z',
        effects: [{ kind: 'delete', relation: 'public.orders', database: null, rows: 48210, rows_before: 48210, share: 1 }],
        description: 'DELETE of 48,210 of 48,210 rows from public.orders (100%)',
        severity: 'high',
        by_tideline: 'copy-back of public.orders from sandbox sb-1a2b',
      },
    ],
    ...overrides,
  };
}

export function sandbox(overrides: Partial<Sandbox> = {}): Sandbox {
  const id = overrides.id ?? 'sb1';
  return {
    status: 'running',
    host: '/tmp/tideline-sb',
    url: `postgresql://alice@localhost:54321/app`,
    id,
    kind: 'recovery',
    profile: 'prod',
    system_identifier: '7311',
    root: `/home/alice/.local/share/tideline/sandboxes/${id}`,
    major: 17,
    port: 54321,
    database: 'app',
    user: 'alice',
    backup_id: 'b2',
    backup_chain: ['b2'],
    target: { point: { kind: 'time', value: '2025-03-02T12:00:00+00:00' }, exclusive: false, timeline: null },
    timeline: 2,
    reached: { time: '2025-03-02T11:59:58Z', lsn: '0/5123456', xid: '1234', stop: null, timeline: 3 },
    created_at: '2025-03-06T09:00:00Z',
    laydown_ms: 4200,
    replay_ms: 1800,
    ...overrides,
  };
}

export function comparison(overrides: Partial<SandboxComparison> = {}): SandboxComparison {
  return {
    id: 'sb1',
    database: 'app',
    tables: [
      { schema: 'public', table: 'customers', sandbox_rows: 85, live_rows: 85 },
      { schema: 'public', table: 'orders', sandbox_rows: 1200, live_rows: 3 },
      { schema: 'public', table: 'audit', sandbox_rows: null, live_rows: 10 },
    ],
    differing: 2,
    ...overrides,
  };
}

type TauriInternals = { runCallback: (id: number, data: unknown) => void };

/**
 * Sends messages down a Channel the UI passed to a command, the way the Rust side does:
 * numbered messages delivered to the channel's registered callback.
 */
export function channelSender<T>(channel: unknown): (message: T) => void {
  const id = (channel as Channel<T>).id;
  const internals = (window as unknown as { __TAURI_INTERNALS__: TauriInternals }).__TAURI_INTERNALS__;
  let index = 0;
  return (message: T) => internals.runCallback(id, { index: index++, message });
}

/** A promise a test settles by hand: for commands that stay running while the test looks. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
