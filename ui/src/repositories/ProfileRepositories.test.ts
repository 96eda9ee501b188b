import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { RepositoryRecord } from '../bindings/RepositoryRecord';
import { fakeBackend } from '../testing/backend';
import BackupCopies from './BackupCopies.svelte';
import ProfileRepositories from './ProfileRepositories.svelte';

const offsite: RepositoryRecord = {
  id: 'r1',
  name: 'offsite',
  place: { kind: 'dir', path: '/mnt/nas/tideline' },
  recipient: 'age1abc',
  honours_conditional_create: null,
  created_at: '2026-12-07T05:00:00Z',
};

describe('second copies', () => {
  it("sets and clears a profile's second repository", async () => {
    const backend = fakeBackend({
      repositories_list: () => [offsite],
      profile_repository: () => null,
      profile_second_repository: () => null,
      profile_second_repository_set: (args) => (args.repository ? offsite : null),
    });
    render(ProfileRepositories, { profile: 'prod' });
    const select = (await screen.findByTestId('second-copy-repo')) as HTMLSelectElement;
    await waitFor(() => expect(select.value).toBe(''));
    await fireEvent.change(select, { target: { value: 'offsite' } });
    await fireEvent.change(select, { target: { value: '' } });
    await waitFor(() => expect(backend.callsTo('profile_second_repository_set')).toHaveLength(2));
    expect(backend.callsTo('profile_second_repository_set')).toEqual([
      { profile: 'prod', repository: 'offsite' },
      { profile: 'prod', repository: null },
    ]);
  });

  it('keeps a profile in a repository and says the WAL assistant must apply again', async () => {
    const backend = fakeBackend({
      repositories_list: () => [offsite],
      profile_repository: () => null,
      profile_second_repository: () => null,
      profile_repository_set: (args) => (args.repository ? offsite : null),
    });
    render(ProfileRepositories, { profile: 'prod' });
    const select = (await screen.findByTestId('kept-in-repo')) as HTMLSelectElement;
    await waitFor(() => expect(select.value).toBe(''));
    await fireEvent.change(select, { target: { value: 'offsite' } });
    await waitFor(() => expect(backend.callsTo('profile_repository_set')).toEqual([{ profile: 'prod', repository: 'offsite' }]));
    expect((await screen.findByTestId('kept-in-note')).textContent).toContain('into offsite');
  });

  it('shows where a backup lives, and why a copy is missing', async () => {
    fakeBackend({
      backup_copies: () => [
        { repository: 'nas', complete: true, at: '2026-12-07T05:00:00Z', detail: null },
        { repository: 'offsite', complete: false, at: '2026-12-07T05:00:00Z', detail: 'repository_unreachable: connection refused' },
      ],
    });
    render(BackupCopies, { id: 'b1' });
    const copies = await screen.findAllByTestId('backup-copy');
    expect(copies.map((c) => [c.dataset.repository, c.dataset.complete])).toEqual([
      ['nas', 'true'],
      ['offsite', 'false'],
    ]);
    expect(copies[1].textContent).toContain('repository_unreachable');
  });
});
