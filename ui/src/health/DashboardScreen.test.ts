import { emit } from '@tauri-apps/api/event';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { ProfileHealth } from '../bindings/ProfileHealth';
import { fakeBackend } from '../testing/backend';
import { REPOSITORY_CHANGED } from '../repositoryEvents';
import DashboardScreen from './DashboardScreen.svelte';

const estimate = (seconds: number | null, formula: string) => ({ seconds, formula, measured: false });

function health(profile: string, state: ProfileHealth['state'], ageHours: number, threshold: number): ProfileHealth {
  return {
    profile,
    state,
    newest_backup: { id: 'b1', kind: 'logical', finished_at: '2026-11-23T01:00:00Z', age_hours: ageHours },
    threshold_hours: threshold,
    archiver: null,
    slots: [],
    rpo: estimate(ageHours * 3600, 'now − newest backup'),
    rto: estimate(12, '1 MB backup ÷ 200 MB/s'),
    problems: state === 'failing' ? [`the newest good backup is ${ageHours} hours old (threshold ${threshold} h)`] : [],
  };
}

describe('dashboard', () => {
  it('checks again when a backup or WAL lands in the repository', async () => {
    const backend = fakeBackend({ health_list: () => [health('prod', 'ok', 2, 25)] });
    render(DashboardScreen);
    await screen.findAllByTestId('health-card');
    expect(backend.callsTo('health_list')).toHaveLength(1);
    await emit(REPOSITORY_CHANGED, 'backups');
    await waitFor(() => expect(backend.callsTo('health_list')).toHaveLength(2));
    await emit(REPOSITORY_CHANGED, 'wal');
    await waitFor(() => expect(backend.callsTo('health_list')).toHaveLength(3));
  });

  it('shows each profile red or green with its problems, and asks again with a new threshold', async () => {
    const backend = fakeBackend({
      health_list: ({ thresholdHours }) => {
        const t = thresholdHours as number;
        return [health('prod', t < 30 ? 'failing' : 'ok', 26, t), health('dev', 'ok', 2, t)];
      },
    });
    render(DashboardScreen);
    const cards = await screen.findAllByTestId('health-card');
    expect(cards.map((c) => [c.dataset.profile, c.dataset.state])).toEqual([['prod', 'failing'], ['dev', 'ok']]);
    expect(cards[0].textContent).toContain('26.0 h ago');
    expect(screen.getByTestId('health-problems').textContent).toContain('26 hours old');
    expect(screen.getByTestId('health-summary').textContent).toContain('1 of 2 need attention');
    expect(backend.callsTo('health_list')).toEqual([{ thresholdHours: 25 }]);

    await fireEvent.input(screen.getByTestId('health-threshold'), { target: { value: '48' } });
    await fireEvent.click(screen.getByTestId('health-refresh'));
    await waitFor(() => expect(screen.getAllByTestId('health-card')[0].dataset.state).toBe('ok'));
    expect(backend.callsTo('health_list').at(-1)).toEqual({ thresholdHours: 48 });
  });
});
