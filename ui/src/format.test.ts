import { describe, expect, it } from 'vitest';
import { formatBytes, formatClock, formatDuration, formatEta, formatTimestamp, yesNo } from './format';

describe('formatBytes', () => {
  it('uses binary units with sensible precision', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(8 * 1024 * 1024 + 300 * 1024)).toBe('8.3 MiB');
    expect(formatBytes(250 * 1024 ** 3)).toBe('250 GiB');
    expect(formatBytes(3 * 1024 ** 4)).toBe('3.0 TiB');
    expect(formatBytes(-1)).toBe('—');
  });

  it('says yes or no', () => {
    expect(yesNo(true)).toBe('yes');
    expect(yesNo(false)).toBe('no');
  });
});

describe('formatDuration', () => {
  it('picks a unit that reads well', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12300)).toBe('12.3 s');
    expect(formatDuration(65000)).toBe('1 min 05 s');
    expect(formatDuration(3720000)).toBe('1 h 02 min');
    expect(formatDuration(-5)).toBe('—');
  });

  it('gives an ETA in whole seconds', () => {
    expect(formatEta(42.4)).toBe('42 s');
    expect(formatEta(245)).toBe('4 min 05 s');
    expect(formatEta(Number.NaN)).toBe('—');
  });
});

describe('formatTimestamp', () => {
  it('writes every moment one way, in the local zone, the zone named', () => {
    const moment = new Date(2026, 11, 6, 4, 36, 48);
    expect(formatTimestamp(moment.getTime())).toMatch(/^2026-12-06 04:36:48 \S+$/);
    expect(formatTimestamp(moment.toISOString())).toBe(formatTimestamp(moment.getTime()));
    expect(formatClock(moment.toISOString())).toBe('04:36:48');
    expect(formatTimestamp(new Date(2026, 11, 6, 0, 5).getTime())).toMatch(/^2026-12-06 00:05:00 /);
    expect(formatTimestamp('not a time')).toBe('not a time');
  });
});

describe('times in UTC, when Settings says so', () => {
  it('writes and reads every moment in UTC, and back in the local zone after', async () => {
    const { setZone } = await import('./preferences.svelte');
    const { parseMoment } = await import('./timeline/target');
    const { toRfc3339 } = await import('./timeline/reach');
    const { tickLabel } = await import('./timeline/lanes');
    const at = Date.UTC(2026, 11, 6, 4, 36, 48);
    try {
      setZone('utc');
      expect(formatTimestamp(at)).toBe('2026-12-06 04:36:48 UTC');
      expect(parseMoment('2026-12-06 04:36:48')).toBe(at);
      expect(parseMoment('2026-12-06 05:36:48+01:00')).toBe(at);
      expect(toRfc3339(at)).toBe('2026-12-06T04:36:48Z');
      expect(tickLabel(new Date(Date.UTC(2026, 11, 6, 4, 30)))).toBe('04:30');
      expect(tickLabel(new Date(Date.UTC(2026, 11, 6)))).toBe('Dec 06');
      expect(localStorage.getItem('tideline.zone')).toBe('utc');
    } finally {
      setZone('local');
    }
    expect(localStorage.getItem('tideline.zone')).toBeNull();
    expect(parseMoment('2026-12-06 04:36:48')).toBe(new Date(2026, 11, 6, 4, 36, 48).getTime());
  });
});
