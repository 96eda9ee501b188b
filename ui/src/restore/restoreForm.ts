import type { BackupRecord } from '../bindings/BackupRecord';
import type { RestoreOptions } from '../bindings/RestoreOptions';
import type { TocEntry } from '../bindings/TocEntry';

/** Section 1 of the wizard: where the backup goes and how. */
export type RestoreTarget = {
  toDb: string;
  /** A profile name; the backup's own by default. */
  profile: string;
  clean: boolean;
  noOwner: boolean;
  jobs: number | null;
  /** Restore the picked tables under this new schema name (empty: their own schema). */
  intoSchema: string;
  /** Into a new sandbox (a local server Tideline manages) instead of the profile's server. */
  sandbox: boolean;
};

export function defaultTarget(record: BackupRecord): RestoreTarget {
  return { toDb: `${record.database}_restored`, profile: record.profile, clean: false, noOwner: false, jobs: null, intoSchema: '', sandbox: false };
}

/** Plain SQL (and pg_dumpall output) has no archive TOC: it restores whole. */
export const restoresWhole = (record: BackupRecord): boolean => record.format === 'plain' || record.kind === 'dumpall';

/** pg_restore runs jobs in parallel only from custom and directory archives. */
export const supportsJobs = (record: BackupRecord): boolean => record.format === 'custom' || record.format === 'directory';

export function toRestoreOptions(
  record: BackupRecord,
  target: RestoreTarget,
  tables: string[],
  dryRun: boolean,
): RestoreOptions {
  const jobs = target.jobs;
  return {
    to_db: target.toDb.trim(),
    // null means the backup's own profile, as the engine defaults.
    profile: target.profile === record.profile ? null : target.profile,
    jobs: supportsJobs(record) && typeof jobs === 'number' && Number.isInteger(jobs) && jobs >= 1 ? jobs : null,
    tables: restoresWhole(record) ? [] : tables,
    schemas: [],
    clean: target.clean,
    no_owner: target.noOwner,
    dry_run: dryRun,
    into_schema: restoresWhole(record) || target.intoSchema.trim() === '' ? null : target.intoSchema.trim(),
    sections: [],
    owner: null,
    map_roles: [],
    // pg_dumpall scripts restore into a server as a whole, never a sandbox.
    sandbox: target.sandbox && record.kind !== 'dumpall',
  };
}

/** TOC entries a user picks from: tables, views, materialized views. */
const PICKABLE = new Set(['TABLE', 'VIEW', 'MATERIALIZED VIEW']);

export function pickable(entries: TocEntry[]): TocEntry[] {
  return entries.filter((e) => PICKABLE.has(e.kind));
}

/** Entries grouped by schema, schemas and entries in TOC order. */
export function bySchema(entries: TocEntry[]): [string, TocEntry[]][] {
  const groups = new Map<string, TocEntry[]>();
  for (const e of entries) {
    const group = groups.get(e.schema);
    if (group) group.push(e);
    else groups.set(e.schema, [e]);
  }
  return [...groups];
}

/** How many entries of each kind, kinds in order of first appearance. */
export function countByKind(entries: TocEntry[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(e.kind, (counts.get(e.kind) ?? 0) + 1);
  return [...counts];
}

/** The -L lines that restore something (pg_restore's `;` lines are comments). */
export const planEntries = (list: string[]): number => list.filter((l) => l.trim() !== '' && !l.trimStart().startsWith(';')).length;
