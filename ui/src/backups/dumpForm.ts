import type { DumpFormat } from '../bindings/DumpFormat';
import type { DumpOptions } from '../bindings/DumpOptions';
import { lines } from '../names';

export const FORMATS: { value: DumpFormat; label: string }[] = [
  { value: 'directory', label: 'Directory (parallel, compressed)' },
  { value: 'custom', label: 'Custom (one compressed file)' },
  { value: 'tar', label: 'Tar' },
  { value: 'plain', label: 'Plain SQL' },
];

export type Content = 'both' | 'schema' | 'data';

/** The Back up now form as typed; `toDumpOptions` turns it into what the engine reads. */
export type DumpForm = {
  database: string;
  format: DumpFormat;
  jobs: number | null;
  content: Content;
  tables: string;
  excludeTables: string;
  schemas: string;
  excludeSchemas: string;
  compress: string;
  noOwner: boolean;
  noPrivileges: boolean;
  largeObjects: boolean;
  noRowCounts: boolean;
};

export function emptyDumpForm(): DumpForm {
  return {
    database: '',
    format: 'directory',
    jobs: null,
    content: 'both',
    tables: '',
    excludeTables: '',
    schemas: '',
    excludeSchemas: '',
    compress: '',
    noOwner: false,
    noPrivileges: false,
    largeObjects: false,
    noRowCounts: false,
  };
}

const positiveInteger = (n: number | null | undefined): number | null =>
  typeof n === 'number' && Number.isInteger(n) && n >= 1 ? n : null;

export function toDumpOptions(form: DumpForm): DumpOptions {
  const database = form.database.trim();
  const compress = form.compress.trim();
  return {
    database: database === '' ? null : database,
    format: form.format,
    jobs: form.format === 'directory' ? positiveInteger(form.jobs) : null,
    schema_only: form.content === 'schema',
    data_only: form.content === 'data',
    tables: lines(form.tables),
    exclude_tables: lines(form.excludeTables),
    schemas: lines(form.schemas),
    exclude_schemas: lines(form.excludeSchemas),
    large_objects: form.largeObjects,
    no_owner: form.noOwner,
    no_privileges: form.noPrivileges,
    compress: compress === '' ? null : compress,
    no_row_counts: form.noRowCounts,
  };
}

/** The options a backup was made with, as short phrases: "directory", "4 jobs", "schema only", … */
export function describeOptions(o: DumpOptions): string[] {
  const out: string[] = [o.format];
  if (o.jobs !== null) out.push(`${o.jobs} jobs`);
  if (o.schema_only) out.push('schema only');
  if (o.data_only) out.push('data only');
  if (o.tables.length) out.push(`tables: ${o.tables.join(', ')}`);
  if (o.exclude_tables.length) out.push(`excluding tables: ${o.exclude_tables.join(', ')}`);
  if (o.schemas.length) out.push(`schemas: ${o.schemas.join(', ')}`);
  if (o.exclude_schemas.length) out.push(`excluding schemas: ${o.exclude_schemas.join(', ')}`);
  out.push(`compression: ${o.compress ?? 'best available'}`);
  if (o.large_objects) out.push('large objects');
  if (o.no_owner) out.push('no owner');
  if (o.no_privileges) out.push('no privileges');
  if (o.no_row_counts) out.push('no row counts');
  if (o.statistics === true) out.push('planner statistics');
  if (o.statistics === false) out.push('no planner statistics');
  return out;
}
