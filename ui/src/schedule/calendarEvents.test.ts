import { describe, expect, it } from 'vitest';
import type { CalendarEntry } from '../bindings/CalendarEntry';
import { toEvents, toneOf, wallClock } from './calendarEvents';

const entry = (over: Partial<CalendarEntry>): CalendarEntry => ({
  schedule_id: 'sch-1',
  profile: 'prod',
  what: 'database backup',
  time: '2026-11-24T02:00:00+01:00',
  kind: 'planned',
  status: null,
  duration_ms: null,
  size_bytes: null,
  backup_ids: [],
  error: null,
  ...over,
});

describe('calendar entries', () => {
  it('take a tone from what happened', () => {
    expect(toneOf(entry({}))).toBe('planned');
    expect(toneOf(entry({ kind: 'missed' }))).toBe('missed');
    expect(toneOf(entry({ kind: 'scheduled', status: 'succeeded' }))).toBe('succeeded');
    expect(toneOf(entry({ kind: 'manual', status: 'running' }))).toBe('running');
    expect(toneOf(entry({ kind: 'catch_up', status: 'crashed' }))).toBe('failed');
    expect(toneOf(entry({ kind: 'scheduled', status: 'failed' }))).toBe('failed');
  });

  it('keep the wall-clock time the engine gave (the viewer zone), lasting at least half an hour', () => {
    const events = toEvents({
      from: '2026-11-24',
      to: '2026-11-24',
      time_zone: 'Europe/Berlin',
      days: [
        {
          date: '2026-11-24',
          entries: [entry({}), entry({ kind: 'scheduled', status: 'succeeded', time: '2026-11-24T23:50:00+01:00', duration_ms: 3_600_000 })],
        },
      ],
    });
    expect(events.map((e) => [e.start, e.end, e.classNames[0], e.extendedProps.date])).toEqual([
      ['2026-11-24T02:00:00', '2026-11-24T02:30:00', 'tone-planned', '2026-11-24'],
      ['2026-11-24T23:50:00', '2026-11-25T00:50:00', 'tone-succeeded', '2026-11-24'],
    ]);
  });

  it('name a time by its own wall clock, not the viewer’s', () => {
    expect(wallClock('2026-03-29T03:00:00+02:00')).toMatch(/29.*Mar.*03:00|Mar.*29.*03:00/);
    expect(wallClock('not a time')).toBe('not a time');
  });
});
