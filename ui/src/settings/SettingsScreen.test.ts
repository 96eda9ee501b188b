import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { Hook } from '../bindings/Hook';
import type { RepositoryAccess } from '../bindings/RepositoryAccess';
import { fakeBackend, reject } from '../testing/backend';
import SettingsScreen from './SettingsScreen.svelte';

function repo(path: string): RepositoryAccess {
  return {
    path,
    exists: true,
    owner: 'me',
    mode: '700',
    cluster_user: null,
    cluster_user_reaches: null,
    summary: `${path}: owned by me, mode 700; no other user can enter it.`,
    free_bytes: 5 * 1024 ** 3,
  };
}

describe('settings', () => {
  it('shows times in this computer\'s zone or in UTC, and keeps the choice', async () => {
    fakeBackend({ repo_show: () => repo('/r'), notify_hooks: () => [], repositories_list: () => [] });
    render(SettingsScreen);
    const local = (await screen.findByTestId('zone-local')) as HTMLInputElement;
    expect(local.checked).toBe(true);
    await fireEvent.click(screen.getByTestId('zone-utc'));
    await waitFor(() => expect(screen.getByTestId('zone-example').textContent).toMatch(/ UTC$/));
    expect(localStorage.getItem('tideline.zone')).toBe('utc');
    await fireEvent.click(local);
    await waitFor(() => expect(localStorage.getItem('tideline.zone')).toBeNull());
  });

  it('shows the repository and its free space, and moves it for new backups', async () => {
    const backend = fakeBackend({
      repo_show: () => repo('/home/me/.local/share/tideline/repo'),
      repo_set: (args) => repo(args.dir as string),
      notify_hooks: () => [],
      repositories_list: () => [],
    });
    render(SettingsScreen);
    expect((await screen.findByTestId('repo-path')).textContent).toBe('/home/me/.local/share/tideline/repo');
    expect(screen.getByTestId('repo-free').textContent).toBe('5.0 GiB');
    await fireEvent.click(screen.getByTestId('repo-move'));
    await fireEvent.input(screen.getByTestId('repo-dir'), { target: { value: ' /srv/backups ' } });
    await fireEvent.click(screen.getByTestId('repo-save'));
    await waitFor(() => expect(screen.getByTestId('repo-path').textContent).toBe('/srv/backups'));
    expect(backend.callsTo('repo_set')).toEqual([{ dir: '/srv/backups' }]);
    expect(screen.getByTestId('time-zone').textContent).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
  });

  it('adds a webhook (its URL never shown again), tests it and removes it', async () => {
    let hooks: Hook[] = [];
    const backend = fakeBackend({
      repo_show: () => repo('/r'),
      notify_hooks: () => hooks,
      repositories_list: () => [],
      notify_hook_add: (args) => {
        const h: Hook = {
          id: 'hook-1',
          profile: null,
          format: args.format as Hook['format'],
          events: args.events as Hook['events'],
          host: 'https://hooks.slack.com',
        };
        hooks = [h];
        return h;
      },
      notify_hook_test: () => ({ hook_id: 'hook-1', delivered: true, attempts: 1, status: 200, error: null }),
      notify_hook_remove: () => null,
    });
    render(SettingsScreen);
    await screen.findByTestId('hooks-empty');
    await fireEvent.change(screen.getByTestId('hook-format'), { target: { value: 'slack' } });
    await fireEvent.input(screen.getByTestId('hook-url'), { target: { value: 'https://hooks.slack.com/services/T/B/secret' } });
    await fireEvent.click(screen.getByTestId('hook-on-success'));
    await fireEvent.click(screen.getByTestId('hook-add'));
    const row = await screen.findByTestId('hook');
    expect(backend.callsTo('notify_hook_add')).toEqual([
      {
        profile: null,
        format: 'slack',
        events: ['failure', 'stale', 'archiver', 'success'],
        url: 'https://hooks.slack.com/services/T/B/secret',
      },
    ]);
    expect(row.textContent).toContain('https://hooks.slack.com');
    expect(document.body.textContent).not.toContain('services/T/B');
    await fireEvent.click(within(row).getByTestId('hook-test'));
    expect((await screen.findByTestId('hook-tested')).textContent).toBe('Delivered (1 attempt).');
    await fireEvent.click(within(row).getByTestId('hook-remove'));
    await screen.findByTestId('hooks-empty');
  });

  it('says why a test message did not arrive', async () => {
    fakeBackend({
      repo_show: () => repo('/r'),
      notify_hooks: () => [{ id: 'hook-2', profile: null, format: 'generic', events: ['failure'], host: 'https://example.invalid' }],
      repositories_list: () => [],
      notify_hook_test: () =>
        reject({ code: 'notify_failed', message: 'webhook hook-2 was not delivered after 3 attempts: could not connect', hint: 'Check the URL.' }),
    });
    render(SettingsScreen);
    await fireEvent.click(await screen.findByTestId('hook-test'));
    expect((await screen.findByTestId('error')).dataset.code).toBe('notify_failed');
  });
});
