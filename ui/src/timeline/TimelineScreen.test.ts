import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { emit } from '@tauri-apps/api/event';
import { describe, expect, it, vi } from 'vitest';
import type { DemoReport } from '../bindings/DemoReport';
import type { JobProgress } from '../bindings/JobProgress';
import type { PitrRequest } from '../bindings/PitrRequest';
import type { Sandbox } from '../bindings/Sandbox';
import { formatTimestamp } from '../format';
import { navigation } from '../navigation.svelte';
import { REPOSITORY_CHANGED } from '../repositoryEvents';
import { channelSender, deferred, fakeBackend, jobProgress, profile, sandbox, timelineView } from '../testing/backend';
import { fitDomain } from './lanes';
import TimelineScreen from './TimelineScreen.svelte';

// Under jsdom the chart has no layout: it draws 800 px wide from the left edge.
const WIDTH = 800;
function clientXOf(time: string): number {
  const [lo, hi] = fitDomain(timelineView(), Date.now());
  return ((Date.parse(time) - lo) / (hi - lo)) * WIDTH;
}

function demoReport(overrides: Partial<DemoReport> = {}): DemoReport {
  return {
    profile: 'demo',
    database: 'dvdrental',
    major: 17,
    port: 54400,
    root: '/home/alice/.local/share/tideline/demo',
    repository: '/home/alice/.local/share/tideline/repo',
    created: true,
    base_backup_id: 'b1',
    accident: null,
    next_steps: [],
    ...overrides,
  };
}

describe('Timeline screen', () => {
  it('opens on the demo profile and draws every lane', async () => {
    const backend = fakeBackend({
      profiles_list: () => [profile({ name: 'prod' }), profile({ name: 'demo' })],
      timeline_show: () => timelineView({ profile: 'demo' }),
    });
    render(TimelineScreen);
    const axis = await screen.findByTestId('timeline-axis');
    expect(backend.callsTo('timeline_show')).toEqual([{ profile: 'demo' }]);
    expect(within(screen.getByTestId('lane-base')).getAllByTestId('marker-base')).toHaveLength(3);
    expect(within(screen.getByTestId('lane-dumps')).getAllByTestId('marker-dumps')).toHaveLength(1);
    expect(within(screen.getByTestId('lane-points')).getByTestId('marker-points').textContent).toContain('before-migration');
    expect(screen.getByTestId('lane-timeline-2').textContent).toContain('timeline 2 (forked from 1 at 0/6000000)');
    expect(within(axis).getAllByTestId('wal-bar').map((b) => b.dataset.timeline)).toEqual(['1', '2']);
    const gap = within(screen.getByTestId('lane-timeline-1')).getByTestId('gap');
    expect(gap.textContent).toContain('000000010000000000000009');
    expect(axis.querySelectorAll('.axis .tick').length).toBeGreaterThan(0);
    expect(screen.getByTestId('demo-accident')).toBeTruthy();

    // Zoom buttons go through d3-zoom without complaint.
    await fireEvent.click(screen.getByTestId('zoom-day'));
    await fireEvent.click(screen.getByTestId('zoom-fit'));
    expect(screen.queryByTestId('error')).toBeNull();
  });

  it('reads out reachability under the cursor and restores to the pinned moment', async () => {
    const running = deferred<Sandbox>();
    let send: ((p: JobProgress) => void) | null = null;
    const backend = fakeBackend({
      profiles_list: () => [profile({ name: 'prod' })],
      timeline_show: () => timelineView(),
      pitr_run: (args) => {
        send = channelSender<JobProgress>(args.onProgress);
        return running.promise;
      },
    });
    render(TimelineScreen);
    const axis = await screen.findByTestId('timeline-axis');
    const readout = screen.getByTestId('timeline-cursor-readout');

    await fireEvent.mouseMove(axis, { clientX: clientXOf('2025-02-28T20:00:00Z') });
    expect(readout.textContent).toContain('Not reachable: before the first backup');
    await fireEvent.mouseMove(axis, { clientX: clientXOf('2025-03-05T20:00:00Z') });
    expect(readout.textContent).toContain('Not reachable: after the newest WAL');
    expect((screen.getByTestId('restore-here') as HTMLButtonElement).disabled).toBe(true);

    await fireEvent.click(axis, { clientX: clientXOf('2025-03-02T12:00:00Z') });
    expect(readout.dataset.pinned).toBe('true');
    expect(readout.textContent).toContain('Reachable from backup b2 on timeline 2');
    // Moving on does not move a pinned cursor.
    await fireEvent.mouseMove(axis, { clientX: 5 });
    expect(readout.dataset.reachable).toBe('true');

    await fireEvent.click(screen.getByTestId('restore-here'));
    const [args] = backend.callsTo('pitr_run');
    expect(args).toMatchObject({ profile: 'prod', jobId: expect.any(String) });
    const request = args.request as PitrRequest;
    expect(request).toEqual({
      target: { point: { kind: 'time', value: expect.any(String) }, exclusive: false, timeline: null },
      from_backup: null,
      port: null,
    });
    const value = (request.target.point as { value: string }).value;
    expect(value).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
    // Within a pixel's worth of time (the fitted span is about five days over 800 px).
    expect(Math.abs(Date.parse(value) - Date.parse('2025-03-02T12:00:00Z'))).toBeLessThan(15 * 60_000);
    expect((screen.getByTestId('restore-here') as HTMLButtonElement).disabled).toBe(true);

    send!(jobProgress({ phase: 'laying down', current_object: 'b2', bytes_done: 1024, bytes_total: 4096 }));
    await waitFor(() => expect(screen.getByTestId('job-phase').textContent).toBe('laying down'));
    expect(screen.getByTestId('pitr-cancel')).toBeTruthy();

    running.resolve(sandbox({ id: 'sb9' }));
    const result = await screen.findByTestId('pitr-result');
    expect(result.dataset.id).toBe('sb9');
    expect(result.textContent).toContain('0/5123456');
    expect(screen.getByTestId('pitr-url').textContent).toBe('postgresql://alice@localhost:54321/app');
    await fireEvent.click(screen.getByTestId('open-sandboxes'));
    expect(navigation.current).toBe('sandboxes');
  });

  it('restores to a restore point picked on its marker, and marks new ones', async () => {
    let marked = false;
    const backend = fakeBackend({
      profiles_list: () => [profile({ name: 'prod' })],
      timeline_show: () => timelineView(),
      pitr_run: () => sandbox(),
      mark_create: (args) => {
        marked = true;
        return { ...timelineView().restore_points[0], name: args.name as string };
      },
    });
    render(TimelineScreen);
    await fireEvent.click(await screen.findByTestId('marker-points'));
    await fireEvent.click(screen.getByTestId('restore-point'));
    expect(backend.callsTo('pitr_run')[0].request).toEqual({
      target: { point: { kind: 'name', value: 'before-migration' }, exclusive: false, timeline: null },
      from_backup: null,
      port: null,
    });
    await screen.findByTestId('pitr-result');

    await fireEvent.input(screen.getByTestId('mark-name'), { target: { value: ' release-7 ' } });
    await fireEvent.click(screen.getByTestId('mark-now'));
    await screen.findByTestId('mark-made');
    expect(marked).toBe(true);
    expect(backend.callsTo('mark_create')).toEqual([{ profile: 'prod', name: 'release-7' }]);
    await waitFor(() => expect(backend.callsTo('timeline_show')).toHaveLength(2));
  });

  it('lists destructive events newest first, Tideline\'s own marked, and restores to just before one', async () => {
    const backend = fakeBackend({
      profiles_list: () => [profile({ name: 'prod' })],
      timeline_show: () => timelineView(),
      pitr_run: () => sandbox(),
    });
    render(TimelineScreen);
    const all = await screen.findAllByTestId('event-row');
    expect(all.map((r) => r.dataset.eventId)).toEqual(['2:990', '2:950', '2:900']);
    expect(all.map((r) => r.dataset.severity)).toEqual(['high', 'high', 'high']);
    expect(within(all[0]).getByTestId('event-by-tideline').textContent).toBe('By Tideline');
    expect(within(all[0]).getByTestId('event-own-what').textContent).toContain('copy-back of public.orders');
    expect(within(all[1]).getByTestId('event-most').textContent).toBe('the most destructive');
    expect(within(all[1]).queryByTestId('event-by-tideline')).toBeNull();
    const rows = all.slice(1);
    // Three events hours apart over days: one group on the chart, opened by a click.
    const lane = screen.getByTestId('lane-events');
    const group = within(lane).getByTestId('marker-group');
    expect(group.dataset.count).toBe('3');
    expect(group.querySelector('text')?.textContent).toBe('DELETE public.orders +2 more');
    await fireEvent.click(group);
    const markers = await within(lane).findAllByTestId('marker-events');
    expect(markers.map((m) => m.querySelector('text')?.textContent)).toEqual([
      'DELETE public.orders',
      'DROP public.audit +1',
      'DELETE public.orders (Tideline)',
    ]);

    // Picked on the chart: the cursor pins the event's moment and offers the restore.
    await fireEvent.click(markers[0]);
    expect(screen.getByTestId('cursor-event').textContent).toContain('DELETE of 48,210 of 96,420 rows from public.orders (50%)');
    expect(rows[1].classList.contains('picked')).toBe(true);
    await fireEvent.click(screen.getByTestId('restore-before-event'));
    expect(backend.callsTo('pitr_run')[0].request).toEqual({
      target: { point: { kind: 'before_event', value: '2:900' }, exclusive: true, timeline: null },
      from_backup: null,
      port: null,
    });
    expect((await screen.findByTestId('pitr')).textContent).toContain('just before DELETE of 48,210 of 96,420 rows');

    // From the list as well.
    await fireEvent.click(within(rows[0]).getByTestId('event-restore-before'));
    await waitFor(() => expect(backend.callsTo('pitr_run')).toHaveLength(2));
    const second = backend.callsTo('pitr_run')[1].request as PitrRequest;
    expect(second.target.point).toEqual({ kind: 'before_event', value: '2:950' });
  });

  it('says what can be recovered, and why an event cannot be undone here', async () => {
    const view = timelineView();
    const early = { ...view.events[0], id: '1:10', time: '2025-02-20T09:00:00Z', by_tideline: null };
    const late = { ...view.events[0], id: '2:2000', time: '2025-03-06T09:00:00Z', by_tideline: null };
    view.events = [early, late];
    fakeBackend({ profiles_list: () => [profile({ name: 'prod' })], timeline_show: () => view });
    render(TimelineScreen);
    const range = await screen.findByTestId('timeline-range');
    expect(range.textContent).toContain(
      `You can recover any moment from ${formatTimestamp('2025-03-01T10:00:00Z')} to ${formatTimestamp('2025-03-05T10:00:00Z')}`,
    );
    expect(range.textContent).toContain('except where WAL is missing');
    const rows = screen.getAllByTestId('event-row');
    const said = (row: HTMLElement) => within(row).getByTestId('event-unreachable').textContent;
    expect(said(rows[0])).toBe(`Cannot be undone here: after the newest WAL (${formatTimestamp('2025-03-05T10:00:00Z')})`);
    expect(said(rows[1])).toBe(
      `Cannot be undone here: before the first base backup (${formatTimestamp('2025-03-01T10:00:00Z')})`,
    );
    expect(screen.queryByTestId('event-restore-before')).toBeNull();
  });

  it('recovers to a moment typed by hand, refusing one out of reach in words', async () => {
    const backend = fakeBackend({
      profiles_list: () => [profile({ name: 'prod' })],
      timeline_show: () => timelineView(),
      pitr_run: () => sandbox(),
    });
    render(TimelineScreen);
    const input = (await screen.findByTestId('target-input')) as HTMLInputElement;
    await fireEvent.input(input, { target: { value: '2025-02-01T12:00:00Z' } });
    expect(screen.getByTestId('target-said').textContent).toContain('before the first base backup');
    expect((screen.getByTestId('target-recover') as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.input(input, { target: { value: '2025-03-04T12:00:00Z' } });
    expect(screen.getByTestId('target-said').textContent).toContain('Recoverable');
    await fireEvent.click(screen.getByTestId('target-recover'));
    await waitFor(() => expect(backend.callsTo('pitr_run')).toHaveLength(1));
    const request = backend.callsTo('pitr_run')[0].request as PitrRequest;
    expect(request.target.point.kind).toBe('time');
    expect(Date.parse((request.target.point as { value: string }).value)).toBe(Date.UTC(2025, 2, 4, 12));
  });

  it('groups restore points too close to read, and picks one once zoomed in', async () => {
    const point = (name: string, created_at: string) => ({
      system_identifier: '7311', name, profile: 'prod', lsn: '0/8000100', timeline: 2, created_at,
    });
    fakeBackend({
      profiles_list: () => [profile({ name: 'prod' })],
      timeline_show: () =>
        timelineView({
          restore_points: [point('before-migration', '2025-03-04T12:00:00Z'), point('after-migration', '2025-03-04T12:05:00Z')],
        }),
    });
    render(TimelineScreen);
    const lane = await screen.findByTestId('lane-points');
    const group = await within(lane).findByTestId('marker-group');
    expect(group.dataset.count).toBe('2');
    expect(group.querySelector('text')?.textContent).toBe('before-migration +1 more');
    await fireEvent.click(group);
    const points = await within(lane).findAllByTestId('marker-points');
    expect(points.map((m) => m.querySelector('text')?.textContent)).toEqual(['before-migration', 'after-migration']);
    await fireEvent.click(points[1]);
    expect(await screen.findByTestId('restore-point')).toBeTruthy();
  });

  it('reloads when WAL or a backup lands in the repository, and on a slow timer', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      const backend = fakeBackend({ profiles_list: () => [profile({ name: 'prod' })], timeline_show: () => timelineView() });
      render(TimelineScreen);
      await screen.findByTestId('timeline-range');
      expect(backend.callsTo('timeline_show')).toHaveLength(1);
      await emit(REPOSITORY_CHANGED, 'wal');
      await waitFor(() => expect(backend.callsTo('timeline_show')).toHaveLength(2));
      await emit(REPOSITORY_CHANGED, 'backups');
      await waitFor(() => expect(backend.callsTo('timeline_show')).toHaveLength(3));
      await vi.advanceTimersByTimeAsync(15_000);
      expect(backend.callsTo('timeline_show')).toHaveLength(3);
      await vi.advanceTimersByTimeAsync(45_000);
      await waitFor(() => expect(backend.callsTo('timeline_show')).toHaveLength(4));
    } finally {
      vi.useRealTimers();
    }
  });

  it('offers the demo on first run, then runs its accident', async () => {
    let profiles = [] as ReturnType<typeof profile>[];
    const backend = fakeBackend({
      profiles_list: () => profiles,
      demo_open: () => {
        profiles = [profile({ name: 'demo' })];
        return demoReport();
      },
      demo_accident: () => demoReport({ accident: 'Deleted 16044 rows from payment after restore point before-accident.' }),
      timeline_show: () => timelineView({ profile: 'demo' }),
    });
    render(TimelineScreen);
    await fireEvent.click(await screen.findByTestId('demo-open'));
    await screen.findByTestId('timeline-axis');
    expect(backend.callsTo('demo_open')[0]).toMatchObject({ jobId: expect.any(String) });
    expect(backend.callsTo('timeline_show')).toEqual([{ profile: 'demo' }]);

    await fireEvent.click(screen.getByTestId('demo-accident'));
    expect((await screen.findByTestId('demo-accident-result')).textContent).toContain('Deleted 16044 rows');
    await waitFor(() => expect(backend.callsTo('timeline_show')).toHaveLength(2));
  });
});
