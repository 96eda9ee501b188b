import { describe, expect, it } from 'vitest';
import { backupIdTime, backupLabel, dayAndTime, sandboxLabel } from './labels';
import { backupRecord } from './testing/backend';
import type { SandboxRecord } from './bindings/SandboxRecord';

const now = new Date(2026, 11, 6, 12, 0).getTime();

describe('labels', () => {
  it('says today and yesterday, else the date', () => {
    expect(dayAndTime(new Date(2026, 11, 6, 4, 35).getTime(), now)).toBe('today 04:35');
    expect(dayAndTime(new Date(2026, 11, 5, 22, 10).toISOString(), now)).toBe('yesterday 22:10');
    expect(dayAndTime(new Date(2026, 11, 3, 4, 5).getTime(), now)).toBe('2026-12-03 04:05');
    expect(dayAndTime('soon', now)).toBe('soon');
  });

  it('reads the start from a backup id', () => {
    expect(backupIdTime('20261206T043524Z-3db54e')).toBe(Date.UTC(2026, 11, 6, 4, 35, 24));
    expect(backupIdTime('sb-f954649e')).toBeNull();
  });

  it('names backups by kind, time and size', () => {
    const at = new Date(2026, 11, 6, 4, 35).toISOString();
    const base = backupRecord({ kind: 'base', started_at: at, size_bytes: 20 * 1024 * 1024 });
    expect(backupLabel(base, now)).toBe('Base backup · today 04:35 · 20.0 MiB');
    const dump = backupRecord({ kind: 'logical', database: 'shop', started_at: at, size_bytes: 1536 });
    expect(backupLabel(dump, now)).toBe('Dump of shop · today 04:35 · 1.5 KiB');
  });

  it('names sandboxes by what they hold', () => {
    const backupAt = new Date(2026, 11, 6, 4, 35, 24);
    const id = backupAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z') + '-3db54e';
    const s = {
      kind: 'recovery',
      label: 'Before DELETE of 2,000 of 2,000 rows from public.film_actor (100%)',
      created_at: new Date(2026, 11, 6, 4, 37).toISOString(),
      backup_id: id,
      database: 'pagila',
    } as SandboxRecord;
    expect(sandboxLabel(s, now)).toBe(
      'Before DELETE of 2,000 of 2,000 rows from public.film_actor (100%) · created today 04:37 · from base backup of today 04:35',
    );
    const atPoint = { point: { kind: 'name', value: 'before-accident' }, exclusive: false, timeline: null } as const;
    expect(sandboxLabel({ ...s, label: undefined, target: atPoint }, now)).toMatch(/^At restore point “before-accident” · /);
    expect(sandboxLabel({ ...s, label: undefined, kind: 'restore', backup_id: 'x' }, now)).toBe(
      'Restored pagila · created today 04:37 · from a dump',
    );
  });
});
