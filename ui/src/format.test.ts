import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatEta, yesNo } from './format';

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
