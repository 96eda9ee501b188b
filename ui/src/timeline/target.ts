// A recovery target typed by hand — a time with its zone, a transaction id, an LSN, a restore
// point — checked as it is typed against the recovery window, and said in words when it is
// out of reach.
import type { TargetPoint } from '../bindings/TargetPoint';
import type { TimelineView } from '../bindings/TimelineView';
import { formatTimestamp } from '../format';
import { inUtc } from '../preferences.svelte';
import { blockedAt, parseLsn, reachAt, targetTimeline, toRfc3339 } from './reach';

export type TargetKind = 'time' | 'xid' | 'lsn' | 'name';

export type Checked =
  | { ok: true; point: TargetPoint; timeline: number | null; what: string; note: string | null }
  | { ok: false; why: string };

/**
 * "2026-12-06 04:36:48" in the zone times are shown in (local, or UTC when Settings says so),
 * or with its own zone or offset ("…Z", "…+01:00").
 */
export function parseMoment(text: string, utc: boolean = inUtc()): number | null {
  const t = text.trim().replace(' ', 'T');
  const m = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(t);
  if (!m) return null;
  const ms = Date.parse(utc && !m[3] ? `${t}Z` : t);
  return Number.isNaN(ms) ? null : ms;
}

function checkTime(view: TimelineView, text: string): Checked {
  const at = parseMoment(text);
  if (at === null) return { ok: false, why: `Write a moment as 2026-12-06 04:36:48 (${inUtc() ? 'UTC' : 'your local time'}) or with its zone, …Z.` };
  const blocked = blockedAt(view.window, at, formatTimestamp);
  if (blocked) return { ok: false, why: `That moment is ${blocked}.` };
  const r = reachAt(view.window, at);
  const timeline = r.reachable ? targetTimeline(view.window, r.timeline) : null;
  return { ok: true, point: { kind: 'time', value: toRfc3339(at) }, timeline, what: formatTimestamp(at), note: null };
}

function checkLsn(view: TimelineView, text: string): Checked {
  const lsn = parseLsn(text.trim());
  if (lsn === null) return { ok: false, why: 'An LSN reads like 0/3000148.' };
  const windows = view.window.timelines.filter((t) => t.earliest && t.latest);
  const within = windows.filter((t) => (parseLsn(t.earliest?.lsn) ?? 0) <= lsn && lsn <= (parseLsn(t.latest?.lsn) ?? 0));
  if (within.length > 0) {
    const newest = Math.max(...within.map((t) => t.timeline));
    return { ok: true, point: { kind: 'lsn', value: text.trim() }, timeline: targetTimeline(view.window, newest), what: `LSN ${text.trim()}`, note: null };
  }
  if (windows.length === 0) return { ok: false, why: 'Nothing can be recovered yet: no base backup with WAL after it.' };
  const first = windows.reduce((a, b) => ((parseLsn(a.earliest?.lsn) ?? 0) <= (parseLsn(b.earliest?.lsn) ?? 0) ? a : b));
  const last = windows.reduce((a, b) => ((parseLsn(a.latest?.lsn) ?? 0) >= (parseLsn(b.latest?.lsn) ?? 0) ? a : b));
  const when = (p: { lsn: string; time: string | null } | null) => (p?.time ? ` (${formatTimestamp(p.time)})` : '');
  if (lsn < (parseLsn(first.earliest?.lsn) ?? 0)) {
    return { ok: false, why: `That is before the first base backup is consistent, at ${first.earliest?.lsn}${when(first.earliest)}.` };
  }
  if (lsn > (parseLsn(last.latest?.lsn) ?? 0)) {
    return { ok: false, why: `That is after the newest WAL, which ends at ${last.latest?.lsn}${when(last.latest)}.` };
  }
  return { ok: false, why: 'No base backup and WAL cover that position: it falls in a gap.' };
}

export function checkTarget(view: TimelineView, kind: TargetKind, text: string): Checked {
  if (text.trim() === '') return { ok: false, why: '' };
  switch (kind) {
    case 'time':
      return checkTime(view, text);
    case 'lsn':
      return checkLsn(view, text);
    case 'xid':
      return /^\d+$/.test(text.trim())
        ? {
            ok: true,
            point: { kind: 'xid', value: text.trim() },
            timeline: null,
            what: `transaction ${text.trim()}`,
            note: 'Checked against the WAL when you recover: a transaction it never had is refused before anything is laid down.',
          }
        : { ok: false, why: 'A transaction id is a number, like 757.' };
    case 'name': {
      const p = view.restore_points.find((r) => r.name === text);
      if (!p) return { ok: false, why: 'Pick a restore point from the list.' };
      return { ok: true, point: { kind: 'name', value: p.name }, timeline: targetTimeline(view.window, p.timeline), what: `restore point “${p.name}”`, note: null };
    }
  }
}
