// Whether a moment can be recovered to, worked out from the recovery window alone so the
// cursor can answer while it moves. The engine checks again before it starts anything; this
// mirrors its rules (pitr/window.rs check_time, pitr/choose.rs) closely enough to explain them.
import type { RecoveryWindow } from '../bindings/RecoveryWindow';
import { inUtc } from '../preferences.svelte';
import type { TimelineWindow } from '../bindings/TimelineWindow';

/** Milliseconds since the epoch, or null for a missing or unreadable RFC 3339 time. */
export function parseTime(value: string | null | undefined): number | null {
  if (!value) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

/** `16/B374D848` → its position; null when it does not read as an LSN. */
export function parseLsn(value: string | null | undefined): number | null {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(value ?? '');
  // Number is exact up to 2^53 bytes of WAL, far beyond any real cluster.
  return m ? parseInt(m[1], 16) * 2 ** 32 + parseInt(m[2], 16) : null;
}

/** The moments a timeline's window covers; only timelines whose both ends have a time. */
export type Span = { timeline: number; start: number; end: number; window: TimelineWindow };

export function spans(window: RecoveryWindow): Span[] {
  const out: Span[] = [];
  for (const w of window.timelines) {
    const start = parseTime(w.earliest?.time);
    const end = parseTime(w.latest?.time);
    if (start !== null && end !== null && end >= start) out.push({ timeline: w.timeline, start, end, window: w });
  }
  return out;
}

export type NotReachable = 'no_backup' | 'times_unknown' | 'before_first_backup' | 'after_newest_wal' | 'not_covered';

export type Reachability =
  | { reachable: true; timeline: number; backup: string | null; span: Span }
  | { reachable: false; reason: NotReachable };

/**
 * The base backup the engine would start from for a time on `timeline`: the newest (by
 * consistency point) finished by then on the timeline's path, i.e. on it or on an ancestor
 * before the fork.
 */
export function backupFor(window: RecoveryWindow, timeline: number, at: number): string | null {
  const forks: { parent: number; switchLsn: number }[] = [];
  const seen = new Set<number>();
  let w = window.timelines.find((t) => t.timeline === timeline);
  while (w && w.parent !== null && !seen.has(w.timeline)) {
    seen.add(w.timeline);
    forks.push({ parent: w.parent, switchLsn: parseLsn(w.switch_lsn) ?? 0 });
    const parent: number = w.parent;
    w = window.timelines.find((t) => t.timeline === parent);
  }
  let best: { id: string; stop: number } | null = null;
  for (const b of window.base_backups) {
    const finished = parseTime(b.finished_at);
    const stop = parseLsn(b.stop_lsn) ?? 0;
    const onPath = b.timeline === timeline || forks.some((f) => f.parent === b.timeline && stop <= f.switchLsn);
    if (onPath && finished !== null && finished <= at && (best === null || stop > best.stop)) best = { id: b.id, stop };
  }
  return best?.id ?? null;
}

/** Whether `at` can be recovered to; the newest timeline wins, as the engine's default does. */
export function reachAt(window: RecoveryWindow, at: number): Reachability {
  const all = spans(window);
  if (all.length === 0) {
    const any = window.timelines.some((t) => t.earliest !== null);
    return { reachable: false, reason: any ? 'times_unknown' : 'no_backup' };
  }
  const hits = all.filter((s) => s.start <= at && at <= s.end).sort((a, b) => b.timeline - a.timeline);
  if (hits.length > 0) {
    const span = hits[0];
    const backup = backupFor(window, span.timeline, at) ?? span.window.from_backup;
    return { reachable: true, timeline: span.timeline, backup, span };
  }
  if (at < Math.min(...all.map((s) => s.start))) return { reachable: false, reason: 'before_first_backup' };
  if (at > Math.max(...all.map((s) => s.end))) return { reachable: false, reason: 'after_newest_wal' };
  return { reachable: false, reason: 'not_covered' };
}

const REASONS: Record<NotReachable, string> = {
  no_backup: 'Not reachable: no base backup yet',
  times_unknown: 'Not reachable by time: the times of the archived WAL are unknown',
  before_first_backup: 'Not reachable: before the first backup',
  after_newest_wal: 'Not reachable: after the newest WAL',
  not_covered: 'Not reachable: no backup and WAL cover this moment',
};

/** From the first recoverable moment to the last, and whether gaps lie between. */
export type Range = { start: number; end: number; broken: boolean };

export function recoverableRange(window: RecoveryWindow): Range | null {
  const all = spans(window);
  if (all.length === 0) return null;
  const start = Math.min(...all.map((s) => s.start));
  const end = Math.max(...all.map((s) => s.end));
  // One span per timeline; on one timeline a gap ends the span, so gaps show as its end.
  const broken = window.gaps.length > 0 || window.damaged.length > 0;
  return { start, end, broken };
}

/**
 * Why recovering to just before `at` is impossible, in words with the moment that bounds it
 * ("before the first base backup (2026-12-06 04:35:26 UTC)"); null when it is possible.
 */
export function blockedAt(window: RecoveryWindow, at: number, format: (ms: number) => string): string | null {
  const r = reachAt(window, at);
  if (r.reachable) return null;
  const all = spans(window);
  if (r.reason === 'before_first_backup') {
    return `before the first base backup (${format(Math.min(...all.map((s) => s.start)))})`;
  }
  if (r.reason === 'after_newest_wal') return `after the newest WAL (${format(Math.max(...all.map((s) => s.end)))})`;
  return REASONS[r.reason].replace(/^Not reachable( by time)?: /, '');
}

export function reachText(r: Reachability): string {
  if (!r.reachable) return REASONS[r.reason];
  return r.backup
    ? `Reachable from backup ${r.backup} on timeline ${r.timeline}`
    : `Reachable on timeline ${r.timeline}`;
}

/**
 * The moment to send as a target: the cursor rounded to the second (a pixel is coarser
 * anyway), kept inside the span so rounding never steps out of it.
 */
export function snapToSpan(at: number, span: Span): number {
  const rounded = Math.round(at / 1000) * 1000;
  return Math.min(span.end, Math.max(span.start, rounded));
}

/**
 * RFC 3339 in the local offset (`2025-01-02T04:04:05+01:00`), or in UTC (`…Z`) when Settings
 * shows times in UTC, as PostgreSQL reads it.
 */
export function toRfc3339(ms: number, utc: boolean = inUtc()): string {
  const d = new Date(ms);
  if (utc) return d.toISOString().replace('.000Z', 'Z');
  const pad = (n: number, width = 2) => String(Math.abs(n)).padStart(width, '0');
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const frac = d.getMilliseconds() ? `.${pad(d.getMilliseconds(), 3)}` : '';
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${frac}` +
    `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`
  );
}

/**
 * The timeline to name in a request: null (the engine's "newest reachable") when that is the
 * one meant, so the common case reads as the default; the number only for an older branch.
 */
export function targetTimeline(window: RecoveryWindow, timeline: number): number | null {
  const reachable = window.timelines.filter((t) => t.earliest !== null).map((t) => t.timeline);
  return reachable.length === 0 || timeline >= Math.max(...reachable) ? null : timeline;
}
