import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import App from './App.svelte';
import { storedTheme } from './preferences.svelte';
import { backupRecord, fakeBackend, profile, reject, sandbox, timelineView } from './testing/backend';

describe('app shell', () => {
  it('opens on the Timeline and switches to Tools and Profiles', async () => {
    const backend = fakeBackend({
      profiles_list: () => [profile({ name: 'prod' })],
      timeline_show: () => timelineView(),
      tools_list: () => ({ installations: [] }),
      tools_folders: () => [],
    });
    render(App);
    expect(screen.getByTestId('nav-timeline').getAttribute('aria-current')).toBe('page');
    expect(await screen.findByTestId('timeline-axis')).toBeTruthy();

    await fireEvent.click(screen.getByTestId('nav-tools'));
    expect(await screen.findByTestId('tools-empty')).toBeTruthy();
    expect(screen.queryByTestId('timeline-axis')).toBeNull();
    expect(screen.getByTestId('nav-tools').getAttribute('aria-current')).toBe('page');

    await fireEvent.click(screen.getByTestId('nav-profiles'));
    expect((await screen.findAllByTestId('profile-item'))[0].dataset.name).toBe('prod');
    // The Tools screen reads its inventory and its folders side by side; the sidebar reads
    // the profiles again on each change of screen.
    expect(backend.calls.map((c) => c.cmd).filter((c) => c !== 'profiles_list').sort()).toEqual(
      ['timeline_show', 'tools_list', 'tools_folders'].sort(),
    );
    expect(backend.callsTo('profiles_list').length).toBeGreaterThanOrEqual(4);
  });

  it('takes light or dark from Settings and keeps it, else follows the system', async () => {
    fakeBackend({
      profiles_list: () => [],
      repo_show: () => ({ path: '/r', exists: true, owner: 'me', mode: '700', cluster_user: null, cluster_user_reaches: null, summary: '/r', free_bytes: 1 }),
      notify_hooks: () => [],
    });
    const { unmount } = render(App);
    const root = document.documentElement;
    expect(root.dataset.theme).toBeUndefined();
    await fireEvent.click(screen.getByTestId('nav-settings'));
    await fireEvent.click(await screen.findByTestId('theme-dark'));
    await waitFor(() => expect(root.dataset.theme).toBe('dark'));
    expect(localStorage.getItem('tideline.appearance')).toBe('dark');
    unmount();
    // The next start reads it back.
    expect(storedTheme()).toBe('dark');
    render(App);
    await waitFor(() => expect(document.documentElement.dataset.theme).toBe('dark'));
    await fireEvent.click(screen.getByTestId('nav-settings'));
    await fireEvent.click(await screen.findByTestId('theme-system'));
    await waitFor(() => expect(document.documentElement.dataset.theme).toBeUndefined());
    expect(localStorage.getItem('tideline.appearance')).toBeNull();
  });

  it('switches every screen to the profile chosen in the sidebar', async () => {
    const backend = fakeBackend({
      profiles_list: () => [profile({ name: 'prod' }), profile({ name: 'staging' })],
      timeline_show: () => timelineView(),
      backups_list: () => [],
    });
    render(App);
    const timeline = (await screen.findByTestId('timeline-profile')) as HTMLSelectElement;
    await waitFor(() => expect(timeline.value).toBe('prod'));
    const sidebar = (await screen.findByTestId('sidebar-profile')) as HTMLSelectElement;
    await waitFor(() => expect(sidebar.value).toBe('prod'));

    await fireEvent.change(sidebar, { target: { value: 'staging' } });
    await waitFor(() => expect(timeline.value).toBe('staging'));
    await waitFor(() => expect(backend.callsTo('timeline_show').at(-1)).toEqual({ profile: 'staging' }));

    await fireEvent.click(screen.getByTestId('nav-backups'));
    await waitFor(() => expect((screen.getByTestId('backups-profile') as HTMLSelectElement).value).toBe('staging'));
    await fireEvent.change(screen.getByTestId('sidebar-profile'), { target: { value: 'prod' } });
    await waitFor(() => expect(backend.callsTo('backups_list').at(-1)).toEqual({ profile: 'prod' }));
    expect((screen.getByTestId('backups-profile') as HTMLSelectElement).value).toBe('prod');
    // A choice on a screen goes back to the sidebar.
    await fireEvent.change(screen.getByTestId('backups-profile'), { target: { value: 'staging' } });
    await waitFor(() => expect((screen.getByTestId('sidebar-profile') as HTMLSelectElement).value).toBe('staging'));
  });

  it('keeps the profile chosen on one screen for the next', async () => {
    const backend = fakeBackend({
      profiles_list: () => [profile({ name: 'prod' }), profile({ name: 'staging' })],
      timeline_show: () => timelineView(),
      backups_list: () => [],
    });
    render(App);
    const picker = (await screen.findByTestId('timeline-profile')) as HTMLSelectElement;
    await waitFor(() => expect(picker.value).toBe('prod'));
    await fireEvent.change(picker, { target: { value: 'staging' } });
    await fireEvent.click(screen.getByTestId('nav-backups'));
    await waitFor(() => expect((screen.getByTestId('backups-profile') as HTMLSelectElement).value).toBe('staging'));
    await waitFor(() => expect(backend.callsTo('backups_list').at(-1)).toEqual({ profile: 'staging' }));
  });

  it('offers the in-app twin of an error whose hint is a command', async () => {
    fakeBackend({
      profiles_list: () => [profile({ name: 'prod' })],
      timeline_show: () =>
        reject({ code: 'tool_missing', message: 'No pg_waldump 17.', hint: 'Run `tideline tools --add-dir /path/to/bin`.' }),
      tools_list: () => ({ installations: [] }),
      tools_folders: () => [],
    });
    render(App);
    const action = await screen.findByTestId('error-action');
    expect(action.textContent).toBe('Open Tools');
    await fireEvent.click(action);
    expect(await screen.findByTestId('tool-folders')).toBeTruthy();
    expect(screen.getByTestId('nav-tools').getAttribute('aria-current')).toBe('page');
  });

  it('goes from a recovery to the Sandboxes screen', async () => {
    fakeBackend({
      profiles_list: () => [profile({ name: 'prod' })],
      timeline_show: () => timelineView(),
      pitr_run: () => sandbox({ id: 'sb7' }),
      sandboxes_list: () => [sandbox({ id: 'sb7' })],
    });
    render(App);
    await fireEvent.click(await screen.findByTestId('marker-points'));
    await fireEvent.click(screen.getByTestId('restore-point'));
    await fireEvent.click(await screen.findByTestId('open-sandboxes'));
    expect(await screen.findByTestId('sandbox-row-sb7')).toBeTruthy();
    expect(screen.getByTestId('nav-sandboxes').getAttribute('aria-current')).toBe('page');
  });

  it('lists Timeline, Dashboard, Sandboxes, Profiles, Backups, WAL, Calendar, Tools, Settings in that order and opens the history', async () => {
    const backend = fakeBackend({
      profiles_list: () => [profile({ name: 'prod' })],
      timeline_show: () => timelineView(),
      backups_list: () => [backupRecord({ id: 'b1' })],
    });
    render(App);
    const labels = Array.from(screen.getByRole('navigation').querySelectorAll('button'), (b) => b.textContent?.trim());
    expect(labels).toEqual(['Timeline', 'Dashboard', 'Sandboxes', 'Profiles', 'Backups', 'WAL', 'Calendar', 'Tools', 'Settings']);

    await fireEvent.click(screen.getByTestId('nav-backups'));
    expect((await screen.findByTestId('backup-row')).dataset.id).toBe('b1');
    expect(backend.callsTo('backups_list')).toEqual([{ profile: 'prod' }]);
  });
});
