import { describe, expect, it } from 'vitest';
import { dumpOptions } from '../testing/backend';
import { describeOptions, emptyDumpForm, toDumpOptions } from './dumpForm';

describe('toDumpOptions', () => {
  it('maps an untouched form to the engine defaults', () => {
    expect(toDumpOptions(emptyDumpForm())).toEqual(dumpOptions());
  });

  it('keeps jobs only for the directory format, and only whole positive numbers', () => {
    const form = { ...emptyDumpForm(), jobs: 4 };
    expect(toDumpOptions(form).jobs).toBe(4);
    expect(toDumpOptions({ ...form, format: 'tar' }).jobs).toBeNull();
    expect(toDumpOptions({ ...form, jobs: 0 }).jobs).toBeNull();
    expect(toDumpOptions({ ...form, jobs: 1.5 }).jobs).toBeNull();
  });
});

describe('describeOptions', () => {
  it('lists what differs from a plain full dump', () => {
    expect(
      describeOptions(dumpOptions({ format: 'custom', schema_only: true, tables: ['public.a', 'public.b'], compress: 'zstd:3' })),
    ).toEqual(['custom', 'schema only', 'tables: public.a, public.b', 'compression: zstd:3']);
  });
});
