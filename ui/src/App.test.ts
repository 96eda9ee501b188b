import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import App from './App.svelte';
import { backupRecord, fakeBackend, profile } from './testing/backend';

describe('app shell', () => {
  it('opens on Profiles and switches to Tools', async () => {
    const backend = fakeBackend({
      profiles_list: () => [profile({ name: 'prod' })],
      tools_list: () => ({ installations: [] }),
    });
    render(App);
    expect(screen.getByTestId('nav-profiles').getAttribute('aria-current')).toBe('page');
    expect((await screen.findAllByTestId('profile-item'))[0].dataset.name).toBe('prod');

    await fireEvent.click(screen.getByTestId('nav-tools'));
    expect(await screen.findByTestId('tools-empty')).toBeTruthy();
    expect(screen.queryByTestId('profiles-add')).toBeNull();
    expect(screen.getByTestId('nav-tools').getAttribute('aria-current')).toBe('page');
    expect(backend.calls.map((c) => c.cmd)).toEqual(['profiles_list', 'tools_list']);
  });

  it('lists Backups after Profiles and opens the history', async () => {
    const backend = fakeBackend({
      profiles_list: () => [profile({ name: 'prod' })],
      backups_list: () => [backupRecord({ id: 'b1' })],
    });
    render(App);
    const labels = Array.from(screen.getByRole('navigation').querySelectorAll('button'), (b) => b.textContent?.trim());
    expect(labels.slice(0, 2)).toEqual(['Profiles', 'Backups']);

    await fireEvent.click(screen.getByTestId('nav-backups'));
    expect((await screen.findByTestId('backup-row')).dataset.id).toBe('b1');
    expect(backend.callsTo('backups_list')).toEqual([{ profile: 'prod' }]);
  });
});
