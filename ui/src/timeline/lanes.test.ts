import { describe, expect, it } from 'vitest';
import { timelineView } from '../testing/backend';
import { DAY, HOUR, fitDomain, groupMarkers, lanes, tickLabel, zoomLimits } from './lanes';

describe('timeline lanes', () => {
  it('has a lane per kind of point and per timeline, forks labelled', () => {
    const all = lanes(timelineView());
    expect(all.map((l) => l.id)).toEqual(['base', 'dumps', 'points', 'events', 'commits', 'timeline-1', 'timeline-2']);
    expect(all.map((l) => l.label)).toEqual([
      'Base backups',
      'Logical dumps',
      'Restore points',
      'Destructive events',
      'Commits per minute',
      'timeline 1',
      'timeline 2 (forked from 1 at 0/6000000)',
    ]);
    // Commit density from the WAL summaries, scaled to the busiest minute.
    expect(all[4]).toMatchObject({ kind: 'density', max: 40, bars: [{ count: 4 }, { count: 40 }] });
    // Events by time, labelled with what was done to which table.
    expect(all[3]).toMatchObject({
      kind: 'markers',
      markers: [
        { label: 'DELETE public.orders' },
        { label: 'DROP public.audit +1', title: expect.stringContaining('transaction 950') },
        { label: 'DELETE public.orders (Tideline)', title: expect.stringContaining('by Tideline: copy-back of public.orders') },
      ],
    });
    const t1 = all[5];
    if (t1.kind !== 'wal') throw new Error('wal lane expected');
    expect(t1.bar).toMatchObject({ start: Date.parse('2025-03-01T10:00:00Z'), end: Date.parse('2025-03-03T10:00:00Z') });
    // The gap has only LSNs: it is shown where replay stops, the end of the covered span.
    expect(t1.gaps).toEqual([
      expect.objectContaining({ time: Date.parse('2025-03-03T10:00:00Z'), side: 'end', title: expect.stringContaining('000000010000000000000009') }),
    ]);
  });

  it('names a damaged file where the window ends at it', () => {
    const view = timelineView();
    view.window.damaged = [{ name: '000000010000000000000009', detail: 'checksum mismatch' }];
    const t1 = lanes(view)[5];
    if (t1.kind !== 'wal') throw new Error('wal lane expected');
    expect(t1.gaps[0].title).toMatch(/^Damaged WAL 000000010000000000000009 \(/);
  });

  it('leaves out what has no readable time', () => {
    const view = timelineView({ logical_dumps: [{ id: 'd', database: 'app', finished_at: '' }] });
    view.window.timelines[1].latest = { lsn: '0/C000000', time: null };
    const all = lanes(view);
    expect(all[1]).toMatchObject({ kind: 'markers', markers: [] });
    expect(all[6]).toMatchObject({ bar: null, note: 'times unknown (WAL 0/2000028 – 0/C000000)' });
  });

  it('fits everything, padded; a day when there is nothing', () => {
    const [lo, hi] = fitDomain(timelineView(), 0);
    expect(lo).toBeLessThan(Date.parse('2025-03-01T10:00:00Z'));
    expect(hi).toBeGreaterThan(Date.parse('2025-03-05T10:00:00Z'));
    const empty = timelineView({ logical_dumps: [], restore_points: [], commit_density: [], events: [] });
    empty.window = { ...empty.window, timelines: [], base_backups: [], gaps: [] };
    expect(fitDomain(empty, 5 * DAY)).toEqual([4 * DAY, 5 * DAY]);
    // Seconds of history fill a two-minute view (padded), centred on them.
    const t0 = Date.parse('2025-03-01T10:00:00Z');
    const brief = timelineView({ logical_dumps: [], restore_points: [], commit_density: [], events: [] });
    brief.window = { ...brief.window, timelines: [], gaps: [], base_backups: [{ ...brief.window.base_backups[0], finished_at: '2025-03-01T10:00:00Z' }] };
    const [a, b] = fitDomain(brief, 0);
    expect([a, b]).toEqual([t0 - 66_000, t0 + 66_000]);
  });

  it('zooms from ten seconds out to about a quarter', () => {
    expect(zoomLimits([0, 10 * DAY])).toEqual([10 / 92, 86_400]);
    expect(zoomLimits([0, 400 * DAY])).toEqual([1, 3_456_000]);
    expect(zoomLimits([0, HOUR / 2])).toEqual([HOUR / 2 / (92 * DAY), 180]);
    expect(zoomLimits([0, 5_000])).toEqual([5_000 / (92 * DAY), 1]);
  });

  it('labels ticks in the 24-hour clock, as coarse as the moment allows', () => {
    expect(tickLabel(new Date(2026, 11, 6, 4, 36, 48))).toBe('04:36:48');
    expect(tickLabel(new Date(2026, 11, 6, 17, 0))).toBe('17:00');
    expect(tickLabel(new Date(2026, 11, 6))).toBe('Dec 06');
    expect(tickLabel(new Date(2026, 11, 1))).toBe('December');
    expect(tickLabel(new Date(2027, 0, 1))).toBe('2027');
  });

  it('groups markers closer than the gap, in time order', () => {
    const at = (time: number) => ({ time, label: `m${time}`, title: '' });
    const groups = groupMarkers([at(0), at(50), at(90), at(300), at(500), at(560)], (t) => t, 100);
    expect(groups.map((g) => g.map((m) => m.time))).toEqual([[0, 50, 90], [300], [500, 560]]);
    expect(groupMarkers([], (t) => t, 100)).toEqual([]);
  });
});
