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

/** pg_restore's entry kinds, longest first (a kind may be several words). */
const KINDS = [
  'MATERIALIZED VIEW DATA',
  'SEQUENCE OWNED BY',
  'MATERIALIZED VIEW',
  'FK CONSTRAINT',
  'SEQUENCE SET',
  'DEFAULT ACL',
  'TABLE DATA',
  'LARGE OBJECT',
  'BLOB DATA',
  'CONSTRAINT',
  'EXTENSION',
  'FUNCTION',
  'PROCEDURE',
  'SEQUENCE',
  'TRIGGER',
  'COMMENT',
  'DEFAULT',
  'SCHEMA',
  'DOMAIN',
  'POLICY',
  'INDEX',
  'TABLE',
  'VIEW',
  'TYPE',
  'ACL',
];

/** Entries that set the session up rather than restore anything. */
const SETTINGS = new Set(['ENCODING', 'STDSTRINGS', 'SEARCHPATH', 'DATABASE PROPERTIES']);

const NOUNS: [string[], string, string][] = [
  [['TABLE'], 'table', 'tables'],
  [['INDEX'], 'index', 'indexes'],
  [['CONSTRAINT', 'FK CONSTRAINT'], 'constraint', 'constraints'],
  [['SEQUENCE'], 'sequence', 'sequences'],
  [['VIEW', 'MATERIALIZED VIEW'], 'view', 'views'],
  [['FUNCTION', 'PROCEDURE'], 'function', 'functions'],
  [['TRIGGER'], 'trigger', 'triggers'],
  [['SCHEMA'], 'schema', 'schemas'],
  [['TYPE', 'DOMAIN'], 'type', 'types'],
  [['EXTENSION'], 'extension', 'extensions'],
];

function joinWords(parts: string[]): string {
  return parts.length <= 1 ? (parts[0] ?? '') : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

/**
 * The -L list in a sentence: "Restores 3 tables with their data, 2 indexes and 1 sequence,
 * owned by app_owner." Lines read `ID; OID OID KIND SCHEMA NAME OWNER`.
 */
export function planSentence(list: string[]): string {
  const counts = new Map<string, number>();
  const owners = new Set<string>();
  let data = 0;
  for (const line of list) {
    const body = line.split(';').slice(1).join(';').trim();
    if (!body || line.trimStart().startsWith(';')) continue;
    const rest = body.split(/\s+/).slice(2).join(' ');
    const kind = KINDS.find((k) => rest === k || rest.startsWith(`${k} `));
    if (!kind || SETTINGS.has(rest.split(' - ')[0])) continue;
    if (kind === 'TABLE DATA') data += 1;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
    const owner = rest.split(/\s+/).pop();
    // Roles the restored objects belong to (a schema `public` belongs to whoever owns the
    // database from 15 on, which the restore does not need).
    const owns = !['TABLE DATA', 'SEQUENCE SET', 'ACL', 'COMMENT', 'SCHEMA', 'EXTENSION'].includes(kind);
    if (owner && owner !== '-' && owns) owners.add(owner);
  }
  const parts: string[] = [];
  for (const [kinds, one, many] of NOUNS) {
    const n = kinds.reduce((sum, k) => sum + (counts.get(k) ?? 0), 0);
    if (n === 0) continue;
    let phrase = `${n} ${n === 1 ? one : many}`;
    if (one === 'table' && data > 0) phrase += data === n ? (n === 1 ? ' with its data' : ' with their data') : ` (data of ${data})`;
    parts.push(phrase);
  }
  if (parts.length === 0 && data > 0) parts.push(`the data of ${data} ${data === 1 ? 'table' : 'tables'}`);
  if (parts.length === 0) return 'Restores nothing but session settings.';
  const owned = owners.size ? `, owned by ${joinWords([...owners].sort())}` : '';
  return `Restores ${joinWords(parts)}${owned}.`;
}
