import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import App from './App.svelte';
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
    // The Tools screen reads its inventory and its folders side by side.
    expect(backend.calls.map((c) => c.cmd).sort()).toEqual(
      ['profiles_list', 'timeline_show', 'tools_list', 'tools_folders', 'profiles_list'].sort(),
    );
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
