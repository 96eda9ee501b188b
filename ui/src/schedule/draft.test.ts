import { describe, expect, it } from 'vitest';
import type { Schedule } from '../bindings/Schedule';
import { draftForDay, draftOf, retentionOf, specOf } from './draft';

describe('a schedule from a day on the calendar', () => {
  it('is a daily backup at 02:00 for a whole day, remembering the weekday and day of month', () => {
    // Sunday 31 May 2026.
    const d = draftForDay(new Date(2026, 4, 31, 0, 0), true, 'prod', 'Europe/Berlin');
    expect([d.preset, d.at, d.weekday, d.day, d.profile, d.timeZone]).toEqual(['daily', '02:00', 'sun', 28, 'prod', 'Europe/Berlin']);
    expect(specOf(d)).toEqual({
      profile: 'prod',
      what: { kind: 'database', database: null },
      when: { kind: 'daily', at: '02:00' },
      time_zone: 'Europe/Berlin',
      catch_up: true,
      retention: { keep_last: null, keep_days: null, keep_daily: null, keep_weekly: null, keep_monthly: null, keep_yearly: null },
    });
  });

  it('takes the time clicked in the week view', () => {
    const d = draftForDay(new Date(2026, 5, 3, 14, 30), false, 'prod', 'UTC');
    expect([d.at, d.weekday, d.day]).toEqual(['14:30', 'wed', 3]);
    d.preset = 'weekly';
    expect(specOf(d)?.when).toEqual({ kind: 'weekly', weekday: 'wed', at: '14:30' });
    d.preset = 'monthly';
    expect(specOf(d)?.when).toEqual({ kind: 'monthly', day: 3, at: '14:30' });
  });
});

describe('retention fields', () => {
  it('are whole numbers from 1 or blank; anything else makes the form unsavable', () => {
    const d = draftForDay(new Date(2026, 0, 1), true, 'p', 'UTC');
    d.retention.keep_last = ' 7 ';
    d.retention.keep_monthly = '12';
    expect(retentionOf(d)).toMatchObject({ keep_last: 7, keep_monthly: 12, keep_days: null });
    for (const bad of ['0', '-1', '2.5', 'seven']) {
      d.retention.keep_days = bad;
      expect(retentionOf(d)).toBeNull();
      expect(specOf(d)).toBeNull();
    }
  });
});

describe('editing', () => {
  it('round-trips a saved schedule through the form', () => {
    const s: Schedule = {
      id: 'sch-1',
      expression: '15 3 * * 1',
      description: 'At 03:15, only on Monday.',
      what: 'backup of shop',
      next: [],
      enabled: true,
      created_at: '2026-01-01T00:00:00Z',
      considered_until: '2026-01-01T00:00:00Z',
      spec: {
        profile: 'prod',
        what: { kind: 'database', database: 'shop' },
        when: { kind: 'weekly', weekday: 'mon', at: '03:15' },
        time_zone: 'America/New_York',
        catch_up: false,
        retention: { keep_last: 3, keep_days: null, keep_daily: 7, keep_weekly: null, keep_monthly: null, keep_yearly: null },
      },
    };
    expect(specOf(draftOf(s))).toEqual(s.spec);
    const every = { ...s, spec: { ...s.spec, what: { kind: 'every_database' as const } } };
    expect(specOf(draftOf(every))?.what).toEqual({ kind: 'every_database' });
  });
});
