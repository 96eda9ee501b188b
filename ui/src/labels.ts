// Backups and sandboxes as people name them: what they are and when, not their ids
// ("Base backup · today 04:35 · 20.0 MiB"). Ids stay on screen, smaller, for the CLI.
import type { BackupRecord } from './bindings/BackupRecord';
import type { RecoveryTarget } from './bindings/RecoveryTarget';
import type { SandboxRecord } from './bindings/SandboxRecord';
import { formatBytes, formatClock, formatTimestamp } from './format';
import { inUtc } from './preferences.svelte';

const DAY_MS = 86_400_000;

/** The start of the day `ms` falls on, in the zone times are shown in. */
function localDay(ms: number): number {
  const d = new Date(ms);
  if (inUtc()) return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/** "today 04:35", "yesterday 22:10", else the date: "2026-12-03 04:35". In the zone shown. */
export function dayAndTime(value: string | number, now: number = Date.now()): string {
  const ms = typeof value === 'number' ? value : Date.parse(value);
  if (Number.isNaN(ms)) return String(value);
  const clock = formatClock(ms).slice(0, 5);
  const days = Math.round((localDay(now) - localDay(ms)) / DAY_MS);
  if (days === 0) return `today ${clock}`;
  if (days === 1) return `yesterday ${clock}`;
  return `${formatTimestamp(ms).slice(0, 10)} ${clock}`;
}

/** When a backup id (`20261206T043524Z-3db54e`) says it started; null for another shape. */
export function backupIdTime(id: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(id);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

const KIND: Record<BackupRecord['kind'], string> = {
  base: 'Base backup',
  logical: 'Dump',
  dumpall: 'Whole-cluster dump',
  globals: 'Roles and tablespaces',
  roles: 'Roles',
};

export function backupLabel(r: BackupRecord, now: number = Date.now()): string {
  const what = r.kind === 'logical' ? `Dump of ${r.database}` : KIND[r.kind];
  return `${what} · ${dayAndTime(r.started_at, now)} · ${formatBytes(r.size_bytes)}`;
}

/**
 * "Before DELETE of 2,000 rows from public.film_actor · created today 04:37 · from base
 * backup of today 04:35"; without an event, what it was recovered or restored from.
 */
export function sandboxLabel(s: SandboxRecord, now: number = Date.now()): string {
  const created = `created ${dayAndTime(s.created_at, now)}`;
  const from = backupIdTime(s.backup_id);
  const source = s.kind === 'restore' ? 'from a dump' : 'from base backup';
  const of = from === null ? source : `${source} of ${dayAndTime(from, now)}`;
  const what = s.label ?? (s.kind === 'restore' ? `Restored ${s.database}` : targetLabel(s.target, now));
  return `${what} · ${created} · ${of}`;
}

/** A recovery target as a sandbox's name: "At restore point “before-migration”". */
function targetLabel(target: RecoveryTarget, now: number): string {
  const p = target.point;
  const edge = target.exclusive ? 'Just before' : 'At';
  switch (p.kind) {
    case 'immediate':
      return 'At the end of its base backup';
    case 'time':
      return `${edge} ${dayAndTime(p.value, now)}`;
    case 'name':
      return `${edge} restore point “${p.value}”`;
    case 'xid':
      return `${edge} transaction ${p.value}`;
    case 'lsn':
      return `${edge} WAL position ${p.value}`;
    case 'before_event':
      return `Just before event ${p.value}`;
  }
}
