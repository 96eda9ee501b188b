import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import { fakeBackend, reject } from '../testing/backend';
import { draftForDay } from './draft';
import ScheduleForm from './ScheduleForm.svelte';

describe('schedule form', () => {
  it('shows the engine’s description as the user types and saves the spec', async () => {
    const backend = fakeBackend({
      schedule_preview: ({ when }) => {
        const w = when as { kind: string; at: string };
        // The browser empties a time input it cannot parse; the engine refuses that.
        if (!/^\d\d:\d\d$/.test(w.at)) return reject({ code: 'invalid_input', message: `'${w.at}' is not a time of day`, hint: 'Write it as HH:MM.' });
        return { expression: '0 2 * * *', description: `At ${w.at}.`, next: ['2026-11-25T02:00:00+00:00'] };
      },
      schedule_add: ({ spec }) => ({ id: 'sch-1', spec, enabled: true, expression: '', description: '', what: '', next: [], created_at: '', considered_until: '' }),
    });
    const onSaved = vi.fn();
    render(ScheduleForm, {
      initial: draftForDay(new Date(2026, 10, 24), true, 'prod', 'UTC'),
      profiles: ['prod', 'dev'],
      onSaved,
      onCancel: () => {},
    });
    await waitFor(() => expect(screen.getByTestId('sf-description').textContent).toBe('At 02:00.'));

    await fireEvent.input(screen.getByTestId('sf-at'), { target: { value: '25:00' } });
    await waitFor(() => expect(screen.getByTestId('error').dataset.code).toBe('invalid_input'));
    expect((screen.getByTestId('sf-save') as HTMLButtonElement).disabled).toBe(true);

    await fireEvent.input(screen.getByTestId('sf-at'), { target: { value: '03:30' } });
    await fireEvent.input(screen.getByTestId('sf-keep_last'), { target: { value: '7' } });
    await waitFor(() => expect(screen.getByTestId('sf-description').textContent).toBe('At 03:30.'));
    await fireEvent.click(screen.getByTestId('sf-save'));
    await waitFor(() => expect(onSaved).toHaveBeenCalled());
    const [{ spec }] = backend.callsTo('schedule_add') as [{ spec: Record<string, unknown> }];
    expect(spec.when).toEqual({ kind: 'daily', at: '03:30' });
    expect(spec.retention).toMatchObject({ keep_last: 7 });
    expect(backend.callsTo('schedule_preview').at(-1)).toEqual({ when: { kind: 'daily', at: '03:30' }, timeZone: 'UTC' });
  });
});

describe('retention dry run', () => {
  it('asks the engine what the policy would delete now and lists it with the reasons', async () => {
    const backend = fakeBackend({
      schedule_preview: () => ({ expression: '0 2 * * *', description: 'At 02:00.', next: [] }),
      retention_preview: () => ({
        profile: 'prod',
        policy: {},
        applied: false,
        series: [
          {
            series: 'logical:app',
            verdicts: [
              { id: 'b2', keep: true, reasons: ['newest complete'] },
              { id: 'b1', keep: false, reasons: ['no rule keeps it'] },
            ],
          },
        ],
        wal_segments: [],
        aborted_uploads: [],
      }),
    });
    render(ScheduleForm, {
      initial: draftForDay(new Date(2026, 10, 24), true, 'prod', 'UTC'),
      profiles: ['prod'],
      onSaved: () => {},
      onCancel: () => {},
    });
    await fireEvent.input(screen.getByTestId('sf-keep_last'), { target: { value: '1' } });
    await fireEvent.click(screen.getByTestId('sf-retention-preview'));
    const verdicts = await screen.findByTestId('retention-verdicts');
    expect(verdicts.dataset.going).toBe('1');
    expect(verdicts.textContent).toContain('no rule keeps it');
    expect(backend.callsTo('retention_preview')).toEqual([
      { profile: 'prod', policy: { keep_last: 1, keep_days: null, keep_daily: null, keep_weekly: null, keep_monthly: null, keep_yearly: null } },
    ]);
  });
});
