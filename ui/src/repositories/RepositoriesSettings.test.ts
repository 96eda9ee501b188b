import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { RepositoryRecord } from '../bindings/RepositoryRecord';
import type { RepositoryTest } from '../bindings/RepositoryTest';
import type { SyncReport } from '../bindings/SyncReport';
import { channelSender, deferred, fakeBackend, jobProgress, reject } from '../testing/backend';
import RepositoriesSettings from './RepositoriesSettings.svelte';

const record = (name: string, encrypted = true): RepositoryRecord => ({
  id: `id-${name}`,
  name,
  place: {
    kind: 's3',
    location: { bucket: 'backups', prefix: 'team', endpoint: 'http://127.0.0.1:3900', region: 'garage', path_style: true },
    access_key_id: 'GK1',
  },
  recipient: encrypted ? 'age1xyz' : null,
  honours_conditional_create: null,
  created_at: '2026-12-07T05:00:00Z',
});

const tested: RepositoryTest = {
  repository: 'offsite',
  location: 's3://backups/team',
  usable: true,
  checks: [
    { check: 'reach', state: 'passed', detail: 'answers', error: null },
    { check: 'conditional_create', state: 'warning', detail: 'ignores If-None-Match', error: null },
  ],
};

describe('repositories', () => {
  it('adds a Garage bucket from its preset, encrypted with a kit, then tests it', async () => {
    const backend = fakeBackend({
      repositories_list: () => [],
      repository_add: () => record('offsite'),
      repository_test: () => tested,
    });
    render(RepositoriesSettings);
    await screen.findByTestId('repos-empty');
    await fireEvent.click(screen.getByTestId('repo-add'));
    await fireEvent.change(screen.getByTestId('repo-preset'), { target: { value: 'garage' } });
    expect((screen.getByTestId('repo-endpoint') as HTMLInputElement).value).toBe('http://127.0.0.1:3900');
    expect((screen.getByTestId('repo-path-style') as HTMLInputElement).checked).toBe(true);
    await fireEvent.input(screen.getByTestId('repo-url'), { target: { value: 's3://backups/team' } });
    await fireEvent.input(screen.getByTestId('repo-key-id'), { target: { value: 'GK1' } });
    await fireEvent.input(screen.getByTestId('repo-secret'), { target: { value: 'the-secret' } });
    await fireEvent.input(screen.getByTestId('repo-kit'), { target: { value: '/media/usb/kit.age' } });
    await fireEvent.input(screen.getByTestId('repo-passphrase'), { target: { value: 'long passphrase' } });
    await fireEvent.input(screen.getByTestId('repo-passphrase-again'), { target: { value: 'long passphrasX' } });
    expect(screen.getByTestId('repo-passphrase-mismatch')).toBeTruthy();
    expect((screen.getByTestId('repo-add-save') as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.input(screen.getByTestId('repo-passphrase-again'), { target: { value: 'long passphrase' } });
    await fireEvent.click(screen.getByTestId('repo-add-save'));
    const row = await screen.findByTestId('repo-item');
    expect(backend.callsTo('repository_add')).toEqual([
      {
        request: {
          name: 'offsite',
          place: { kind: 's3', url: 's3://backups/team', endpoint: 'http://127.0.0.1:3900', region: 'garage', path_style: true, access_key_id: 'GK1' },
          encrypt: true,
          recovery_kit: '/media/usb/kit.age',
        },
        secretAccessKey: 'the-secret',
        passphrase: 'long passphrase',
      },
    ]);
    expect(within(row).getByTestId('repo-encrypted').textContent).toContain('encrypted');
    // A new repository is tested at once; every check is listed with its state.
    const checks = await within(row).findAllByTestId('repo-check');
    expect(checks.map((c) => c.dataset.state)).toEqual(['passed', 'warning']);
    expect(within(row).getByTestId('repo-verdict').textContent).toContain('Usable');
  });

  it('shows a failed add with its code, imports a key and forgets a repository', async () => {
    const backend = fakeBackend({
      repositories_list: () => [record('shared')],
      repository_key_import: () => null,
      repository_remove: () => record('shared'),
      repository_add: () =>
        reject({ code: 'repository_credentials', message: 'listing failed: 403', hint: 'Check the access key id and its secret.' }),
    });
    render(RepositoriesSettings);
    const row = await screen.findByTestId('repo-item');
    await fireEvent.click(within(row).getByTestId('repo-key'));
    await fireEvent.input(screen.getByTestId('repo-key-path'), { target: { value: '/kits/shared.age' } });
    await fireEvent.input(screen.getByTestId('repo-key-passphrase'), { target: { value: 'team passphrase' } });
    await fireEvent.click(screen.getByTestId('repo-key-import'));
    await screen.findByTestId('repo-key-done');
    expect(backend.callsTo('repository_key_import')).toEqual([{ name: 'shared', path: '/kits/shared.age', passphrase: 'team passphrase' }]);

    await fireEvent.click(screen.getByTestId('repo-add'));
    await fireEvent.change(screen.getByTestId('repo-preset'), { target: { value: 'minio' } });
    await fireEvent.input(screen.getByTestId('repo-name'), { target: { value: 'bad' } });
    await fireEvent.input(screen.getByTestId('repo-url'), { target: { value: 's3://b1' } });
    await fireEvent.input(screen.getByTestId('repo-key-id'), { target: { value: 'k' } });
    await fireEvent.input(screen.getByTestId('repo-secret'), { target: { value: 'wrong' } });
    await fireEvent.click(screen.getByTestId('repo-encrypt'));
    await fireEvent.click(screen.getByTestId('repo-add-save'));
    const error = await within(screen.getByTestId('repo-form')).findByTestId('error');
    expect(error.dataset.code).toBe('repository_credentials');

    await fireEvent.click(within(row).getByTestId('repo-remove'));
    await waitFor(() => expect(screen.queryByTestId('repo-item')).toBeNull());
  });

  it('rotates the key into a new kit and says what the old kit still opens', async () => {
    const backend = fakeBackend({
      repositories_list: () => [record('shared')],
      repository_key_rotate: () => ({ repository: 'shared', recipient: 'age1new', keys: 2, wal_configs: [] }),
    });
    render(RepositoriesSettings);
    const row = await screen.findByTestId('repo-item');
    await fireEvent.click(within(row).getByTestId('repo-key'));
    await fireEvent.input(screen.getByTestId('repo-key-path'), { target: { value: '/kits/shared-2.age' } });
    const rotate = screen.getByTestId('repo-key-rotate') as HTMLButtonElement;
    await fireEvent.input(screen.getByTestId('repo-key-passphrase'), { target: { value: 'short' } });
    expect(rotate.disabled).toBe(true);
    await fireEvent.input(screen.getByTestId('repo-key-passphrase'), { target: { value: 'a longer passphrase' } });
    await fireEvent.click(rotate);
    const done = await screen.findByTestId('repo-key-done');
    expect(backend.callsTo('repository_key_rotate')).toEqual([
      { name: 'shared', path: '/kits/shared-2.age', passphrase: 'a longer passphrase' },
    ]);
    expect(done.textContent).toContain('the old kit opens only the old ones');
  });

  it('offers to remove the unfinished uploads a test found, then tests again', async () => {
    const check = (state: 'passed' | 'warning') => ({ check: 'unfinished_uploads', state, detail: 'd', error: null });
    let state: 'passed' | 'warning' = 'warning';
    const backend = fakeBackend({
      repositories_list: () => [record('shared')],
      repository_test: () => ({ repository: 'shared', location: 's3://backups/team', checks: [check(state)], usable: true }),
      repository_clean: () => {
        state = 'passed';
        return { repository: 'shared', aborted: [{ key: 'k', upload_id: 'u', initiated: 't' }], left: [] };
      },
    });
    render(RepositoriesSettings);
    const row = await screen.findByTestId('repo-item');
    await fireEvent.click(within(row).getByTestId('repo-test'));
    await fireEvent.click(await within(row).findByTestId('repo-clean'));
    expect((await within(row).findByTestId('repo-cleaned')).textContent).toContain('1 aborted');
    await waitFor(() => expect(backend.callsTo('repository_test')).toHaveLength(2));
    await waitFor(() => expect(within(row).queryByTestId('repo-clean')).toBeNull());
  });

  it("copies this computer's backups into a repository with progress, then says what it did", async () => {
    const run = deferred<SyncReport>();
    const backend = fakeBackend({ repositories_list: () => [record('offsite')], repository_sync: () => run.promise });
    render(RepositoriesSettings);
    const row = await screen.findByTestId('repo-item');
    await fireEvent.click(within(row).getByTestId('repo-sync-to'));
    await waitFor(() => expect(backend.callsTo('repository_sync')).toHaveLength(1));
    const args = backend.callsTo('repository_sync')[0];
    expect([args.from, args.to]).toEqual(['local', 'offsite']);
    channelSender(args.onProgress)(jobProgress({ phase: 'copying', bytes_done: 512, bytes_total: 2048 }));
    const panel = await screen.findByTestId('repo-sync-progress');
    await waitFor(() => expect(within(panel).getByTestId('job-phase').textContent).toBe('copying'));
    run.resolve({ from: 'local', to: 'offsite', copied: 7, skipped: 2, bytes_copied: 2048 });
    const done = await screen.findByTestId('repo-synced');
    expect(done.textContent).toContain('7 files copied');
    expect(done.textContent).toContain('2 already there');
  });

  it("brings another computer's backups home and says how many are listed", async () => {
    const backend = fakeBackend({
      repositories_list: () => [record('offsite')],
      repository_rescan: () => ({
        synced: { from: 'offsite', to: 'local', copied: 12, skipped: 0, bytes_copied: 4096 },
        rescan: { indexed: ['b1', 'b2'], forgotten: 0, unreadable: [], damaged: [] },
      }),
    });
    render(RepositoriesSettings);
    const row = await screen.findByTestId('repo-item');
    await fireEvent.click(within(row).getByTestId('repo-sync-from'));
    const done = await screen.findByTestId('repo-synced');
    expect(backend.callsTo('repository_rescan')[0].name).toBe('offsite');
    expect(done.textContent).toContain('12 files copied');
    expect(done.textContent).toContain('2 backups listed');
  });
});
