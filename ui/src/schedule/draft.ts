// The schedule form's state, and what it becomes: a ScheduleSpec for the engine. A day clicked
// on the calendar starts a draft for that day.
import type { RetentionPolicy } from '../bindings/RetentionPolicy';
import type { Schedule } from '../bindings/Schedule';
import type { ScheduleSpec } from '../bindings/ScheduleSpec';
import type { ScheduleWhat } from '../bindings/ScheduleWhat';
import type { When } from '../bindings/When';

export type Preset = When['kind'];
export type WhatKind = ScheduleWhat['kind'];

export const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

export const retentionFields = [
  'keep_last',
  'keep_days',
  'keep_daily',
  'keep_weekly',
  'keep_monthly',
  'keep_yearly',
] as const;
export type RetentionField = (typeof retentionFields)[number];

export type ScheduleDraft = {
  profile: string;
  what: WhatKind;
  /** For `database`: empty means the profile's own. */
  database: string;
  preset: Preset;
  /** HH:MM for daily, weekdays, weekly and monthly. */
  at: string;
  minute: number;
  weekday: string;
  day: number;
  cron: string;
  timeZone: string;
  catchUp: boolean;
  /** Blank: no such rule. */
  retention: Record<RetentionField, string>;
};

const noRetention = (): Record<RetentionField, string> =>
  Object.fromEntries(retentionFields.map((f) => [f, ''])) as Record<RetentionField, string>;

const pad = (n: number) => String(n).padStart(2, '0');

/** A daily backup at the time clicked (02:00 for a whole day), on that weekday or day of month. */
export function draftForDay(date: Date, allDay: boolean, profile: string, timeZone: string): ScheduleDraft {
  return {
    profile,
    what: 'database',
    database: '',
    preset: 'daily',
    at: allDay ? '02:00' : `${pad(date.getHours())}:${pad(date.getMinutes())}`,
    minute: 0,
    weekday: weekdays[(date.getDay() + 6) % 7],
    day: Math.min(date.getDate(), 28),
    cron: '0 2 * * *',
    timeZone,
    catchUp: true,
    retention: noRetention(),
  };
}

export function draftOf(s: Schedule): ScheduleDraft {
  const d = draftForDay(new Date(2026, 0, 5), true, s.spec.profile, s.spec.time_zone);
  const w = s.spec.when;
  d.preset = w.kind;
  if ('at' in w) d.at = w.at;
  if (w.kind === 'hourly') d.minute = w.minute;
  if (w.kind === 'weekly') d.weekday = w.weekday;
  if (w.kind === 'monthly') d.day = w.day;
  d.cron = s.expression;
  d.what = s.spec.what.kind;
  if (s.spec.what.kind === 'database') d.database = s.spec.what.database ?? '';
  d.catchUp = s.spec.catch_up;
  for (const f of retentionFields) {
    const v = s.spec.retention[f];
    d.retention[f] = v === null || v === undefined ? '' : String(v);
  }
  return d;
}

export function whenOf(d: ScheduleDraft): When {
  switch (d.preset) {
    case 'cron':
      return { kind: 'cron', expression: d.cron };
    case 'hourly':
      return { kind: 'hourly', minute: d.minute };
    case 'daily':
      return { kind: 'daily', at: d.at };
    case 'weekdays':
      return { kind: 'weekdays', at: d.at };
    case 'weekly':
      return { kind: 'weekly', weekday: d.weekday, at: d.at };
    case 'monthly':
      return { kind: 'monthly', day: d.day, at: d.at };
  }
}

export function whatOf(d: ScheduleDraft): ScheduleWhat {
  if (d.what === 'database') return { kind: 'database', database: d.database.trim() || null };
  return { kind: d.what } as ScheduleWhat;
}

/** Blank fields are no rule; anything else must be a whole number ≥ 1 (else null: not valid). */
export function retentionOf(d: ScheduleDraft): RetentionPolicy | null {
  const policy = {} as RetentionPolicy;
  for (const f of retentionFields) {
    const text = d.retention[f].trim();
    if (text === '') {
      policy[f] = null;
      continue;
    }
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) return null;
    policy[f] = n;
  }
  return policy;
}

export function specOf(d: ScheduleDraft): ScheduleSpec | null {
  const retention = retentionOf(d);
  if (!retention) return null;
  return {
    profile: d.profile,
    what: whatOf(d),
    when: whenOf(d),
    time_zone: d.timeZone,
    catch_up: d.catchUp,
    retention,
  };
}
