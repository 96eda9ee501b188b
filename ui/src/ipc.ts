// The only module that talks to the Rust side. Every wrapper resolves with the
// command's typed result or rejects with an ErrorPayload, nothing else.
import { invoke, type Channel, type InvokeArgs } from '@tauri-apps/api/core';
import type { BackupRecord } from './bindings/BackupRecord';
import type { Delivery } from './bindings/Delivery';
import type { Hook } from './bindings/Hook';
import type { HookFormat } from './bindings/HookFormat';
import type { NotifyEvent } from './bindings/NotifyEvent';
import type { RepositoryAccess } from './bindings/RepositoryAccess';
import type { RepositoryRecord } from './bindings/RepositoryRecord';
import type { RepositoryRequest } from './bindings/RepositoryRequest';
import type { RepositoryTest } from './bindings/RepositoryTest';
import type { SyncReport } from './bindings/SyncReport';
import type { RescanFrom } from './bindings/RescanFrom';
import type { RotatedKey } from './bindings/RotatedKey';
import type { CleanReport } from './bindings/CleanReport';
import type { BackupCopy } from './bindings/BackupCopy';
import type { Command } from './bindings/Commands';
import type { CalendarView } from './bindings/CalendarView';
import type { ProfileHealth } from './bindings/ProfileHealth';
import type { RetentionPolicy } from './bindings/RetentionPolicy';
import type { RetentionReport } from './bindings/RetentionReport';
import type { Schedule } from './bindings/Schedule';
import type { SchedulePreview } from './bindings/SchedulePreview';
import type { ScheduleRun } from './bindings/ScheduleRun';
import type { ScheduleSpec } from './bindings/ScheduleSpec';
import type { When } from './bindings/When';
import type { BaseBackupOptions } from './bindings/BaseBackupOptions';
import type { CopyBackReport } from './bindings/CopyBackReport';
import type { CopyBackRequest } from './bindings/CopyBackRequest';
import type { DemoReport } from './bindings/DemoReport';
import type { DumpallMode } from './bindings/DumpallMode';
import type { DumpOptions } from './bindings/DumpOptions';
import type { ErrorCode } from './bindings/ErrorCode';
import type { ErrorPayload } from './bindings/ErrorPayload';
import type { ImportReport } from './bindings/ImportReport';
import type { ImportRequest } from './bindings/ImportRequest';
import type { JobProgress } from './bindings/JobProgress';
import type { Manifest } from './bindings/Manifest';
import type { PasswordChange } from './bindings/PasswordChange';
import type { PitrRequest } from './bindings/PitrRequest';
import type { Profile } from './bindings/Profile';
import type { ProfileDraft } from './bindings/ProfileDraft';
import type { RestoreOptions } from './bindings/RestoreOptions';
import type { RestorePoint } from './bindings/RestorePoint';
import type { RestoreReport } from './bindings/RestoreReport';
import type { Sandbox } from './bindings/Sandbox';
import type { SandboxComparison } from './bindings/SandboxComparison';
import type { Selection } from './bindings/Selection';
import type { ServerFacts } from './bindings/ServerFacts';
import type { TimelineView } from './bindings/TimelineView';
import type { TocEntry } from './bindings/TocEntry';
import type { ToolInventory } from './bindings/ToolInventory';
import type { VerifyReport } from './bindings/VerifyReport';
import type { WalMethod } from './bindings/WalMethod';
import type { WalSetupReport } from './bindings/WalSetupReport';
import type { WalStatus } from './bindings/WalStatus';
import type { StreamSummary } from './bindings/StreamSummary';
import type { WalCheckReport } from './bindings/WalCheckReport';
import type { WalTeardown } from './bindings/WalTeardown';

export function isErrorPayload(value: unknown): value is ErrorPayload {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === 'string' && typeof v.message === 'string' && typeof v.hint === 'string';
}

/** Turns any rejection into an ErrorPayload; anything not from the engine is `internal`. */
export function toErrorPayload(error: unknown): ErrorPayload {
  if (isErrorPayload(error)) return error;
  let message: string;
  if (error instanceof Error) message = error.message;
  else if (typeof error === 'string') message = error;
  else {
    try {
      message = JSON.stringify(error) ?? String(error);
    } catch {
      message = String(error);
    }
  }
  const code: ErrorCode = 'internal';
  return {
    code,
    message: message || 'Something went wrong.',
    hint: 'This is unexpected. Try again; if it keeps happening, please report it.',
  };
}

async function call<T>(cmd: Command, args?: InvokeArgs): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (error) {
    throw toErrorPayload(error);
  }
}

export const profilesList = (): Promise<Profile[]> => call('profiles_list');

export const profileParse = (input: string): Promise<ProfileDraft> =>
  call('profile_parse', { input });

export const profileAdd = (draft: ProfileDraft, password: string | null): Promise<Profile> =>
  call('profile_add', { draft, password });

export const profileUpdate = (
  name: string,
  draft: ProfileDraft,
  password: PasswordChange,
): Promise<Profile> => call('profile_update', { name, draft, password });

export const profileRemove = (name: string): Promise<null> => call('profile_remove', { name });

export const profileTest = (name: string): Promise<ServerFacts> => call('profile_test', { name });

export const profileImport = (request: ImportRequest): Promise<ImportReport> =>
  call('profile_import', { request });

export const toolsList = (): Promise<ToolInventory> => call('tools_list');
export const toolsFolders = (): Promise<string[]> => call('tools_folders');
export const toolsFolderAdd = (dir: string): Promise<string[]> => call('tools_folder_add', { dir });
export const toolsFolderRemove = (dir: string): Promise<string[]> => call('tools_folder_remove', { dir });

// Backups. Long-running commands take a job id (made here, in the UI) and a channel for
// progress; `job_cancel` with the same id makes them reject with code `cancelled`.

/** Newest first; every profile's when `profile` is null. */
export const backupsList = (profile: string | null): Promise<BackupRecord[]> => call('backups_list', { profile });

export const backupShow = (id: string): Promise<Manifest> => call('backup_show', { id });

/** pg_dump's verbose output for this backup. */
export const backupLog = (id: string): Promise<string> => call('backup_log', { id });

/** The equivalent shell command, without secrets. */
export const backupCommandPreview = (profile: string, options: DumpOptions): Promise<string> =>
  call('backup_command_preview', { profile, options });

export const backupRun = (
  profile: string,
  options: DumpOptions,
  jobId: string,
  onProgress: Channel<JobProgress>,
): Promise<BackupRecord> => call('backup_run', { profile, options, jobId, onProgress });

export const dumpallRun = (
  profile: string,
  mode: DumpallMode,
  jobId: string,
  onProgress: Channel<JobProgress>,
): Promise<BackupRecord> => call('dumpall_run', { profile, mode, jobId, onProgress });

/** Asks a running backup or restore to stop; false when no such job is running. */
export const jobCancel = (jobId: string): Promise<boolean> => call('job_cancel', { jobId });

export const tocList = (id: string): Promise<TocEntry[]> => call('toc_list', { id });

/** What restoring these tables (exact `schema.table` names) pulls in, with warnings. */
export const tocSelect = (id: string, tables: string[]): Promise<Selection> => call('toc_select', { id, tables });

/** With `options.dry_run` it only plans: `list` holds the pg_restore -L lines. */
export const restoreRun = (
  id: string,
  options: RestoreOptions,
  jobId: string,
  onProgress: Channel<JobProgress>,
): Promise<RestoreReport> => call('restore_run', { id, options, jobId, onProgress });

export const restoreLog = (path: string): Promise<string> => call('restore_log', { path });

export const verifyRun = (
  id: string,
  restoreTest: boolean,
  jobId: string,
  onProgress: Channel<JobProgress>,
): Promise<VerifyReport> => call('verify_run', { id, restoreTest, jobId, onProgress });

// Continuous WAL and physical backups.

/** What the server needs for continuous WAL; with `apply`, set it (superuser) and test archiving. */
export const walSetup = (profile: string, method: WalMethod | null, apply: boolean): Promise<WalSetupReport> =>
  call('wal_setup', { profile, method, apply });

export const walStatus = (profile: string): Promise<WalStatus> => call('wal_status', { profile });

export const walTeardown = (profile: string): Promise<WalTeardown> => call('wal_teardown', { profile });

/** Every archived WAL file read back against its checksum; damaged summaries written again. */
export const walVerify = (profile: string): Promise<WalCheckReport> => call('wal_verify', { profile });

export const basebackupRun = (
  profile: string,
  options: BaseBackupOptions,
  jobId: string,
  onProgress: Channel<JobProgress>,
): Promise<BackupRecord> => call('basebackup_run', { profile, options, jobId, onProgress });

export const markCreate = (profile: string, name: string): Promise<RestorePoint> =>
  call('mark_create', { profile, name });

export const timelineShow = (profile: string): Promise<TimelineView> => call('timeline_show', { profile });

/** Streams WAL (pg_receivewal on Tideline's slot) until `jobCancel(jobId)`; resolves then. */
export const walStreamRun = (profile: string, jobId: string, onProgress: Channel<JobProgress>): Promise<StreamSummary> =>
  call('wal_stream_run', { profile, jobId, onProgress });


// Point-in-time recovery into sandboxes, and the demo.

/** Recovers `profile`'s cluster to the target in a new sandbox; resolves once it is promoted. */
export const pitrRun = (
  profile: string,
  request: PitrRequest,
  jobId: string,
  onProgress: Channel<JobProgress>,
): Promise<Sandbox> => call('pitr_run', { profile, request, jobId, onProgress });

export const sandboxesList = (): Promise<Sandbox[]> => call('sandboxes_list');

export const sandboxStop = (id: string): Promise<Sandbox> => call('sandbox_stop', { id });
export const sandboxPassword = (id: string): Promise<string> => call('sandbox_password', { id });

export const sandboxStart = (id: string): Promise<Sandbox> => call('sandbox_start', { id });

export const sandboxRemove = (id: string): Promise<null> => call('sandbox_remove', { id });

/** Row counts per table, sandbox against the live database. */
export const sandboxCompare = (id: string): Promise<SandboxComparison> => call('sandbox_compare', { id });

/** `request.replace` needs `request.confirmed`, or it rejects with `confirmation_required`. */
export const sandboxCopyBack = (id: string, request: CopyBackRequest): Promise<CopyBackReport> =>
  call('sandbox_copy_back', { id, request });

/** Creates the demo cluster and its profile `demo` (or starts it when it exists). */
export const demoOpen = (jobId: string, onProgress: Channel<JobProgress>): Promise<DemoReport> =>
  call('demo_open', { jobId, onProgress });

/** The scripted accident on the demo: a restore point, then rows deleted. */
export const demoAccident = (): Promise<DemoReport> => call('demo_accident');

// Schedules, the calendar and health.

export const schedulesList = (): Promise<Schedule[]> => call('schedules_list');

/** `when` in words and its next occurrences, before saving; rejects as saving would. */
export const schedulePreview = (when: When, timeZone: string): Promise<SchedulePreview> =>
  call('schedule_preview', { when, timeZone });

export const scheduleAdd = (spec: ScheduleSpec): Promise<Schedule> => call('schedule_add', { spec });

export const scheduleUpdate = (id: string, spec: ScheduleSpec): Promise<Schedule> =>
  call('schedule_update', { id, spec });

export const scheduleRemove = (id: string): Promise<null> => call('schedule_remove', { id });

export const scheduleEnable = (id: string, enabled: boolean): Promise<Schedule> =>
  call('schedule_enable', { id, enabled });

/** Runs the schedule now; resolves when the run has finished (succeeded or failed). */
export const scheduleRunNow = (id: string): Promise<ScheduleRun> => call('schedule_run_now', { id });

/** Days `from`..`to` (YYYY-MM-DD, inclusive) in `timeZone`: planned, run and missed. */
export const scheduleCalendar = (from: string, to: string, timeZone: string): Promise<CalendarView> =>
  call('schedule_calendar', { from, to, timeZone });

/** Writes the planned occurrences as an .ics file (to Downloads); resolves with its path. */
export const scheduleIcsExport = (from: string, to: string): Promise<string> =>
  call('schedule_ics_export', { from, to });

/** What `policy` would delete of `profile`'s backups, and why (nothing is deleted). */
export const retentionPreview = (profile: string, policy: RetentionPolicy): Promise<RetentionReport> =>
  call('retention_preview', { profile, policy });

export const healthList = (thresholdHours: number): Promise<ProfileHealth[]> =>
  call('health_list', { thresholdHours });

// Settings: the repository and notifications.
export const repoShow = (): Promise<RepositoryAccess> => call('repo_show');
export const repositoriesList = (): Promise<RepositoryRecord[]> => call('repositories_list');
/** The secret access key and the kit's passphrase go to the keychain and the kit only. */
export const repositoryAdd = (
  request: RepositoryRequest,
  secretAccessKey: string | null,
  passphrase: string | null,
): Promise<RepositoryRecord> => call('repository_add', { request, secretAccessKey, passphrase });
export const repositoryTest = (name: string): Promise<RepositoryTest> => call('repository_test', { name });
export const repositoryRemove = (name: string): Promise<RepositoryRecord> => call('repository_remove', { name });
export const repositoryKeyExport = (name: string, path: string, passphrase: string): Promise<void> =>
  call('repository_key_export', { name, path, passphrase });
/** Copies what `from` holds and `to` lacks ('local': the default folder); never deletes. */
export const repositorySync = (from: string, to: string, jobId: string, onProgress: Channel<JobProgress>): Promise<SyncReport> =>
  call('repository_sync', { from, to, jobId, onProgress });
/** What `name` holds comes to this computer, then the backup list is rebuilt (`repo rescan --repo`). */
export const repositoryRescan = (name: string, jobId: string, onProgress: Channel<JobProgress>): Promise<RescanFrom> =>
  call('repository_rescan', { name, jobId, onProgress });
export const profileRepository = (profile: string): Promise<RepositoryRecord | null> => call('profile_repository', { profile });
/** `profile`'s backups and WAL kept in `repository`; null keeps them on this computer only. */
export const profileRepositorySet = (profile: string, repository: string | null): Promise<RepositoryRecord | null> =>
  call('profile_repository_set', { profile, repository });
export const profileSecondRepository = (profile: string): Promise<RepositoryRecord | null> =>
  call('profile_second_repository', { profile });
/** Each backup of `profile` copied to `repository` once complete; null stops it. */
export const profileSecondRepositorySet = (profile: string, repository: string | null): Promise<RepositoryRecord | null> =>
  call('profile_second_repository_set', { profile, repository });
export const backupCopies = (id: string): Promise<BackupCopy[]> => call('backup_copies', { id });
export const backupsCopies = (): Promise<Record<string, BackupCopy[]>> => call('backups_copies', {});
/** Aborts the unfinished uploads a stopped run left in the bucket (over an hour old). */
export const repositoryClean = (name: string): Promise<CleanReport> => call('repository_clean', { name });
/** A new key from now on; the new kit at `path` holds every key, the old ones too. */
export const repositoryKeyRotate = (name: string, path: string, passphrase: string): Promise<RotatedKey> =>
  call('repository_key_rotate', { name, path, passphrase });
export const repositoryKeyImport = (name: string, path: string, passphrase: string): Promise<void> =>
  call('repository_key_import', { name, path, passphrase });
export const repoSet = (dir: string): Promise<RepositoryAccess> => call('repo_set', { dir });
export const notifyHooks = (): Promise<Hook[]> => call('notify_hooks');
export const notifyHookAdd = (
  profile: string | null,
  format: HookFormat,
  events: NotifyEvent[],
  url: string | null,
): Promise<Hook> => call('notify_hook_add', { profile, format, events, url });
export const notifyHookRemove = (id: string): Promise<void> => call('notify_hook_remove', { id });
/** Once, when the first screen has drawn what it loaded: the app logs how long starting took. */
export const screenDrawn = (screen: string): Promise<null> => call('screen_drawn', { screen });

export const notifyHookTest = (id: string): Promise<Delivery> => call('notify_hook_test', { id });
