// What the timeline chart draws, as plain data: one lane per kind of point and one per WAL
// timeline, plus the span "Fit" shows and how far zoom may go. Items without a readable
// time are left out rather than guessed at.
import type { TimelineView } from '../bindings/TimelineView';
import type { RestorePoint } from '../bindings/RestorePoint';
import type { WalEvent } from '../bindings/WalEvent';
import { timeFormat, utcFormat } from 'd3-time-format';
import { inUtc } from '../preferences.svelte';
import { parseLsn, parseTime, spans } from './reach';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export type Marker = { time: number; label: string; title: string; point?: RestorePoint; event?: WalEvent };
export type GapMark = { time: number; side: 'start' | 'end'; title: string };

export type Bar = { time: number; count: number; title: string };

export type Lane =
  | { kind: 'markers'; id: string; label: string; markers: Marker[] }
  | { kind: 'density'; id: string; label: string; bars: Bar[]; max: number }
  | {
      kind: 'wal';
      id: string;
      label: string;
      timeline: number;
      bar: { start: number; end: number; title: string } | null;
      gaps: GapMark[];
      note: string | null;
    };

function markers<T>(items: T[], time: (i: T) => string, make: (i: T, t: number) => Omit<Marker, 'time'>): Marker[] {
  const out: Marker[] = [];
  for (const item of items) {
    const t = parseTime(time(item));
    if (t !== null) out.push({ time: t, ...make(item, t) });
  }
  return out.sort((a, b) => a.time - b.time);
}

const VERB: Record<WalEvent['kind'], string> = { drop: 'DROP', truncate: 'TRUNCATE', delete: 'DELETE', update: 'UPDATE' };

/** A marker's short label: what was done to which table ("DELETE public.orders", "+1" more). */
export function eventLabel(e: WalEvent): string {
  const first = e.effects[0];
  if (!first) return VERB[e.kind];
  const more = e.effects.length > 1 ? ` +${e.effects.length - 1}` : '';
  return `${VERB[first.kind]} ${first.relation}${more}`;
}

export function lanes(view: TimelineView): Lane[] {
  const w = view.window;
  const out: Lane[] = [
    {
      kind: 'markers',
      id: 'base',
      label: 'Base backups',
      markers: markers(w.base_backups, (b) => b.finished_at, (b) => ({
        label: b.id,
        title: `Base backup ${b.id} (timeline ${b.timeline}, consistent at ${b.stop_lsn})`,
      })),
    },
    {
      kind: 'markers',
      id: 'dumps',
      label: 'Logical dumps',
      markers: markers(view.logical_dumps, (d) => d.finished_at, (d) => ({
        label: d.database,
        title: `Dump ${d.id} of ${d.database}`,
      })),
    },
    {
      kind: 'markers',
      id: 'points',
      label: 'Restore points',
      markers: markers(view.restore_points, (p) => p.created_at, (p) => ({
        label: p.name,
        title: `Restore point “${p.name}” at ${p.lsn} (timeline ${p.timeline})`,
        point: p,
      })),
    },
    {
      kind: 'markers',
      id: 'events',
      label: 'Destructive events',
      markers: markers(view.events, (e) => e.time, (e) => ({
        label: e.by_tideline === null ? eventLabel(e) : `${eventLabel(e)} (Tideline)`,
        title:
          e.by_tideline === null
            ? `${e.description} (transaction ${e.xid}, ${e.lsn})`
            : `${e.description}, by Tideline: ${e.by_tideline} (transaction ${e.xid})`,
        event: e,
      })),
    },
  ];
  // Commits per minute from the WAL summaries: how busy the server was, moment by moment.
  const bars: Bar[] = [];
  for (const m of view.commit_density) {
    const t = parseTime(m.minute);
    if (t !== null) bars.push({ time: t, count: m.commits, title: `${m.commits} commits in the minute from ${m.minute}` });
  }
  out.push({ kind: 'density', id: 'commits', label: 'Commits per minute', bars, max: Math.max(1, ...bars.map((b) => b.count)) });
  const covered = new Map(spans(w).map((s) => [s.timeline, s]));
  for (const t of w.timelines) {
    const span = covered.get(t.timeline) ?? null;
    const label = t.parent === null
      ? `timeline ${t.timeline}`
      : `timeline ${t.timeline} (forked from ${t.parent} at ${t.switch_lsn ?? '?'})`;
    const earliestLsn = parseLsn(t.earliest?.lsn);
    // Gaps have only LSNs: one before the window's start is drawn at its start, any other at
    // its end, where replay has to stop.
    const gaps: GapMark[] = span
      ? w.gaps
          .filter((g) => g.timeline === t.timeline)
          .map((g) => {
            const before = earliestLsn !== null && (parseLsn(g.end_lsn) ?? Infinity) <= earliestLsn;
            // A damaged file is left out of the window like a missing one; say which it is.
            const damaged = (w.damaged ?? []).filter((d) => d.name >= g.first_missing && d.name <= g.last_missing);
            const what = damaged.length > 0
              ? `Damaged WAL ${damaged.map((d) => d.name).join(', ')}`
              : `Missing WAL ${g.first_missing} to ${g.last_missing}`;
            return {
              time: before ? span.start : span.end,
              side: before ? 'start' : 'end',
              title: `${what} (${g.start_lsn} – ${g.end_lsn})`,
            };
          })
      : [];
    let note: string | null = null;
    if (!t.earliest) note = 'no base backup reaches this timeline';
    else if (!span && t.earliest.time && t.latest?.time)
      // A time target needs a commit after it to stop at: none has been archived since the backup.
      note = `no commit archived since the backup yet (WAL ${t.earliest.lsn} – ${t.latest.lsn})`;
    else if (!span) note = `times unknown (WAL ${t.earliest.lsn} – ${t.latest?.lsn ?? '?'})`;
    out.push({
      kind: 'wal',
      id: `timeline-${t.timeline}`,
      label,
      timeline: t.timeline,
      bar: span && {
        start: span.start,
        end: span.end,
        title: `Recoverable on timeline ${t.timeline}: ${t.earliest?.lsn} – ${t.latest?.lsn}` +
          (t.from_backup ? ` (from backup ${t.from_backup})` : ''),
      },
      gaps,
      note,
    });
  }
  return out;
}

const MIN_FIT = 2 * 60_000;

/** Every time the chart knows of, padded a little; the last day when there is none. */
export function fitDomain(view: TimelineView, now: number): [number, number] {
  const times: number[] = [];
  for (const lane of lanes(view)) {
    if (lane.kind === 'markers') times.push(...lane.markers.map((m) => m.time));
    else if (lane.kind === 'density') times.push(...lane.bars.map((b) => b.time));
    else if (lane.bar) times.push(lane.bar.start, lane.bar.end);
  }
  if (times.length === 0) return [now - DAY, now];
  let lo = Math.min(...times);
  let hi = Math.max(...times);
  // At least two minutes, so a single point still sits in a readable span, and a history of
  // seconds (the demo's) fills the chart rather than a sliver of an hour.
  if (hi - lo < MIN_FIT) {
    const mid = (lo + hi) / 2;
    lo = mid - MIN_FIT / 2;
    hi = mid + MIN_FIT / 2;
  }
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

/** The narrowest span the chart zooms to: ten seconds across, where commits a second apart part. */
export const FINEST = 10_000;

/** Zoom factors relative to the fitted span: in to ten seconds, out to a quarter (or the fit). */
export function zoomLimits([lo, hi]: [number, number]): [number, number] {
  const span = hi - lo;
  return [Math.min(1, span / (92 * DAY)), Math.max(1, span / FINEST)];
}

const TICK_FORMATS = { second: '%H:%M:%S', minute: '%H:%M', day: '%b %d', month: '%B', year: '%Y' };
const TICK = {
  local: Object.fromEntries(Object.entries(TICK_FORMATS).map(([k, f]) => [k, timeFormat(f)])),
  utc: Object.fromEntries(Object.entries(TICK_FORMATS).map(([k, f]) => [k, utcFormat(f)])),
};

/**
 * An axis tick in the 24-hour clock every other time on screen uses, as coarse as it can be,
 * in the zone times are shown in.
 */
export function tickLabel(d: Date, utc: boolean = inUtc()): string {
  const f = utc ? TICK.utc : TICK.local;
  const [h, mi, s, day, month] = utc
    ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCDate(), d.getUTCMonth()]
    : [d.getHours(), d.getMinutes(), d.getSeconds(), d.getDate(), d.getMonth()];
  if (s || d.getMilliseconds()) return f.second(d);
  if (mi || h) return f.minute(d);
  if (day !== 1) return f.day(d);
  return month ? f.month(d) : f.year(d);
}

/**
 * Markers (sorted by time) in groups whose neighbours sit closer than `minGap` pixels at the
 * current zoom: drawn as one marker ("DELETE public.orders +3 more") so labels never overlap.
 */
export function groupMarkers(markers: Marker[], xOf: (time: number) => number, minGap: number): Marker[][] {
  const groups: Marker[][] = [];
  for (const m of markers) {
    const last = groups[groups.length - 1];
    if (last && xOf(m.time) - xOf(last[last.length - 1].time) < minGap) last.push(m);
    else groups.push([m]);
  }
  return groups;
}
