import { inUtc } from './preferences.svelte';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB"; one decimal below 100 of a unit, none above. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${value} B`;
  const digits = value < 100 ? 1 : 0;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

export function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}

const MOMENT_PARTS: Intl.DateTimeFormatOptions = {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
  timeZoneName: 'short',
};
const MOMENT_LOCAL = new Intl.DateTimeFormat('en-CA', MOMENT_PARTS);
const MOMENT_UTC = new Intl.DateTimeFormat('en-CA', { ...MOMENT_PARTS, timeZone: 'UTC' });

/**
 * A moment as every screen writes it, in the zone Settings chose (this computer's, or UTC)
 * with the zone named: "2026-12-06 04:36:48 CET". Takes RFC 3339 text or milliseconds; the raw
 * text if it does not parse.
 */
export function formatTimestamp(value: string | number): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const moment = inUtc() ? MOMENT_UTC : MOMENT_LOCAL;
  const part = Object.fromEntries(moment.formatToParts(date).map((p) => [p.type, p.value]));
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second} ${part.timeZoneName}`;
}

/** Just the time of day of a moment, for lists under a day's heading: "04:36:48". */
export function formatClock(value: string | number): string {
  const full = formatTimestamp(value);
  return full.split(' ')[1] ?? full;
}

/** 850 → "850 ms", 12300 → "12.3 s", 245000 → "4 min 05 s", 3720000 → "1 h 02 min". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${pad(seconds % 60)} s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${pad(minutes % 60)} min`;
}

/** A time left in whole seconds: 42 → "42 s", 245 → "4 min 05 s". */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const whole = Math.round(seconds);
  return whole < 60 ? `${whole} s` : formatDuration(whole * 1000);
}
