import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import App from './App.svelte';
import { fakeBackend, profile } from './testing/backend';

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
});
