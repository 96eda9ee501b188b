// The engine's calendar (days of entries in the viewer's zone) as EventCalendar events.
import type { CalendarEntry } from '../bindings/CalendarEntry';
import type { CalendarView } from '../bindings/CalendarView';

/** How an entry looks: still to come, or how its run went. */
export type Tone = 'planned' | 'succeeded' | 'failed' | 'running' | 'missed';

export type ItemProps = { entry: CalendarEntry; date: string; tone: Tone };

export type CalendarItem = {
  id: string;
  start: string;
  end: string;
  title: string;
  classNames: string[];
  extendedProps: ItemProps;
};

export function toneOf(e: CalendarEntry): Tone {
  if (e.kind === 'planned') return 'planned';
  if (e.kind === 'missed') return 'missed';
  if (e.status === 'succeeded') return 'succeeded';
  if (e.status === 'running') return 'running';
  return 'failed';
}

const labels: Record<Tone, string> = {
  planned: 'planned',
  succeeded: 'done',
  failed: 'failed',
  running: 'running',
  missed: 'missed',
};

export function toneLabel(t: Tone): string {
  return labels[t];
}

/** Shortest block in the week view, so a one-second run is still a thing to click. */
const MIN_BLOCK_MS = 30 * 60_000;

function floatingPlus(start: string, ms: number): string {
  const d = new Date(new Date(start).getTime() + ms);
  return `${localDay(d)}T${d.toTimeString().slice(0, 8)}`;
}

/** Times stay floating (no offset): the engine already put them in the viewer's zone. */
export function toEvents(view: CalendarView): CalendarItem[] {
  return view.days.flatMap((day) =>
    day.entries.map((entry, i) => {
      const tone = toneOf(entry);
      return {
        id: `${day.date}-${i}-${entry.schedule_id}`,
        start: entry.time.slice(0, 19),
        end: floatingPlus(entry.time.slice(0, 19), Math.max(entry.duration_ms ?? 0, MIN_BLOCK_MS)),
        title: `${entry.profile}: ${entry.what}`,
        classNames: [`tone-${tone}`],
        extendedProps: { entry, date: day.date, tone },
      };
    }),
  );
}

/** `YYYY-MM-DD` of a Date in local time (the calendar's). */
export function localDay(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** The viewer's IANA zone, the one the engine lays the days out in. */
export function viewerZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

const wallClockFormat = new Intl.DateTimeFormat(undefined, {
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZone: 'UTC',
});

/** An RFC 3339 time as the wall clock it names (its own zone's), e.g. "Wed 25 Nov 02:00". */
export function wallClock(rfc3339: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(rfc3339);
  if (!m) return rfc3339;
  const [y, mo, d, h, mi] = m.slice(1).map(Number);
  return wallClockFormat.format(new Date(Date.UTC(y, mo - 1, d, h, mi)));
}
