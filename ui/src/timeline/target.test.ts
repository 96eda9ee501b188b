import { describe, expect, it } from 'vitest';
import { formatTimestamp } from '../format';
import { timelineView } from '../testing/backend';
import { checkTarget, parseMoment } from './target';

const view = timelineView();

describe('a target typed by hand', () => {
  it('reads moments in local time, or with their zone', () => {
    expect(parseMoment('2025-03-02 10:00:00')).toBe(new Date(2025, 2, 2, 10, 0, 0).getTime());
    expect(parseMoment('2025-03-02T10:00:00Z')).toBe(Date.UTC(2025, 2, 2, 10));
    expect(parseMoment('2025-03-02 10:00+01:00')).toBe(Date.UTC(2025, 2, 2, 9));
    expect(parseMoment('yesterday')).toBeNull();
  });

  it('accepts a moment inside the window and says why one outside is not', () => {
    const inside = checkTarget(view, 'time', '2025-03-02T12:00:00Z');
    expect(inside).toMatchObject({ ok: true, point: { kind: 'time' } });
    // Sent with the local offset, the same moment.
    expect(inside.ok && inside.point.kind === 'time' && Date.parse(inside.point.value)).toBe(Date.UTC(2025, 2, 2, 12));
    expect(checkTarget(view, 'time', '2025-02-01T12:00:00Z')).toEqual({
      ok: false,
      why: `That moment is before the first base backup (${formatTimestamp('2025-03-01T10:00:00Z')}).`,
    });
    expect(checkTarget(view, 'time', '2025-04-01T00:00:00Z')).toEqual({
      ok: false,
      why: `That moment is after the newest WAL (${formatTimestamp('2025-03-05T10:00:00Z')}).`,
    });
    expect(checkTarget(view, 'time', '2 March')).toMatchObject({ ok: false, why: expect.stringContaining('2026-12-06 04:36:48') });
    expect(checkTarget(view, 'time', '  ')).toEqual({ ok: false, why: '' });
  });

  it('places an LSN in the window, never answering in LSNs alone', () => {
    expect(checkTarget(view, 'lsn', '0/A000000')).toMatchObject({ ok: true, timeline: null, what: 'LSN 0/A000000' });
    expect(checkTarget(view, 'lsn', '0/1000000')).toEqual({
      ok: false,
      why: `That is before the first base backup is consistent, at 0/2000028 (${formatTimestamp('2025-03-01T10:00:00Z')}).`,
    });
    expect(checkTarget(view, 'lsn', '0/F000000')).toMatchObject({ ok: false, why: expect.stringContaining('after the newest WAL, which ends at 0/C000000') });
    expect(checkTarget(view, 'lsn', 'nope')).toEqual({ ok: false, why: 'An LSN reads like 0/3000148.' });
  });

  it('takes transaction ids as numbers and restore points from the list', () => {
    expect(checkTarget(view, 'xid', '757')).toMatchObject({ ok: true, point: { kind: 'xid', value: '757' } });
    expect(checkTarget(view, 'xid', 'x')).toEqual({ ok: false, why: 'A transaction id is a number, like 757.' });
    expect(checkTarget(view, 'name', 'before-migration')).toMatchObject({
      ok: true,
      point: { kind: 'name', value: 'before-migration' },
      what: 'restore point “before-migration”',
    });
  });
});
