import { describe, expect, it } from 'vitest';
import type { RecoveryWindow } from '../bindings/RecoveryWindow';
import type { TimelineWindow } from '../bindings/TimelineWindow';
import { timelineView } from '../testing/backend';
import { parseLsn, parseTime, reachAt, reachText, snapToSpan, spans, targetTimeline, toRfc3339 } from './reach';

const at = (s: string) => Date.parse(s);
const view = timelineView();

function tl(timeline: number, earliest: string | null, latest: string | null, parent: number | null = null): TimelineWindow {
  return {
    timeline,
    parent,
    switch_lsn: parent === null ? null : '0/1000000',
    earliest: earliest === null ? null : { lsn: '0/1000028', time: earliest },
    latest: latest === null ? null : { lsn: '0/3000000', time: latest },
    from_backup: 'x',
    partial_segment: null,
  };
}

function windowOf(timelines: TimelineWindow[]): RecoveryWindow {
  return { ...view.window, timelines, gaps: [], base_backups: [] };
}

describe('parsing', () => {
  it('reads LSNs and times, null for anything else', () => {
    expect(parseLsn('16/B374D848')).toBe(0x16 * 2 ** 32 + 0xb374d848);
    expect(parseLsn('0/0')).toBe(0);
    expect(parseLsn('nope')).toBeNull();
    expect(parseLsn(null)).toBeNull();
    expect(parseTime('2025-03-01T10:00:00Z')).toBe(at('2025-03-01T10:00:00Z'));
    expect(parseTime('')).toBeNull();
    expect(parseTime(null)).toBeNull();
    expect(parseTime('yesterday-ish')).toBeNull();
  });
});

describe('reachAt', () => {
  it('names the newest covering timeline and the backup the engine would pick', () => {
    expect(reachAt(view.window, at('2025-03-01T12:00:00Z'))).toMatchObject({ reachable: true, timeline: 2, backup: 'b1' });
    expect(reachAt(view.window, at('2025-03-02T12:00:00Z'))).toMatchObject({ reachable: true, timeline: 2, backup: 'b2' });
    expect(reachAt(view.window, at('2025-03-04T12:00:00Z'))).toMatchObject({ reachable: true, timeline: 2, backup: 'b3' });
    // The window's edges are recoverable.
    expect(reachAt(view.window, at('2025-03-05T10:00:00Z')).reachable).toBe(true);
    expect(reachText(reachAt(view.window, at('2025-03-02T12:00:00Z')))).toBe('Reachable from backup b2 on timeline 2');
  });

  it('follows a fork only up to its switch point', () => {
    // b4 ends on timeline 1 after timeline 2 forked off it: no path to timeline 2.
    const b4 = { id: 'b4', timeline: 1, start_lsn: '0/7F00000', stop_lsn: '0/8000000', finished_at: '2025-03-02T20:00:00Z' };
    const w = { ...view.window, base_backups: [...view.window.base_backups, b4] };
    expect(reachAt(w, at('2025-03-03T12:00:00Z'))).toMatchObject({ timeline: 2, backup: 'b2' });
    expect(reachAt(w, at('2025-03-04T12:00:00Z'))).toMatchObject({ timeline: 2, backup: 'b3' });
    // On timeline 1 alone it is the newest.
    const onlyOne = { ...w, timelines: [w.timelines[0]] };
    expect(reachAt(onlyOne, at('2025-03-02T23:00:00Z'))).toMatchObject({ timeline: 1, backup: 'b4' });
  });

  it('says why a moment is out of reach', () => {
    const before = reachAt(view.window, at('2025-02-28T10:00:00Z'));
    expect(before).toEqual({ reachable: false, reason: 'before_first_backup' });
    expect(reachText(before)).toBe('Not reachable: before the first backup');
    const after = reachAt(view.window, at('2025-03-06T10:00:00Z'));
    expect(reachText(after)).toBe('Not reachable: after the newest WAL');

    const apart = windowOf([tl(1, '2025-01-01T00:00:00Z', '2025-01-02T00:00:00Z'), tl(2, '2025-01-05T00:00:00Z', '2025-01-06T00:00:00Z')]);
    expect(reachAt(apart, at('2025-01-03T00:00:00Z'))).toEqual({ reachable: false, reason: 'not_covered' });
    // Without a base backup on the path the window's own backup is named.
    expect(reachAt(apart, at('2025-01-05T12:00:00Z'))).toMatchObject({ timeline: 2, backup: 'x' });
  });

  it('copes with missing times and empty windows', () => {
    expect(reachAt(windowOf([]), Date.now())).toEqual({ reachable: false, reason: 'no_backup' });
    expect(reachAt(windowOf([tl(1, null, null)]), Date.now())).toEqual({ reachable: false, reason: 'no_backup' });
    const unknownEnd = windowOf([tl(1, '2025-01-01T00:00:00Z', null)]);
    expect(spans(unknownEnd)).toEqual([]);
    expect(reachAt(unknownEnd, at('2025-01-01T01:00:00Z'))).toEqual({ reachable: false, reason: 'times_unknown' });
  });
});

describe('request helpers', () => {
  it('leaves the timeline to the engine unless an older branch is meant', () => {
    expect(targetTimeline(view.window, 2)).toBeNull();
    expect(targetTimeline(view.window, 1)).toBe(1);
    expect(targetTimeline(windowOf([]), 1)).toBeNull();
  });

  it('snaps to whole seconds inside the span', () => {
    const span = spans(view.window)[1];
    expect(snapToSpan(at('2025-03-02T12:00:00.600Z'), span)).toBe(at('2025-03-02T12:00:01Z'));
    expect(snapToSpan(span.start - 400, span)).toBe(span.start);
    expect(snapToSpan(span.end + 400, span)).toBe(span.end);
  });

  it('writes RFC 3339 with the local offset, to the same instant', () => {
    for (const ms of [at('2025-03-02T12:00:00Z'), at('2025-07-01T23:59:59.250Z')]) {
      const text = toRfc3339(ms);
      expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?[+-]\d\d:\d\d$/);
      expect(Date.parse(text)).toBe(ms);
    }
  });
});
