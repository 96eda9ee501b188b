import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { ProfileDraft } from '../bindings/ProfileDraft';
import { facts, fakeBackend, profile, reject } from '../testing/backend';
import ProfilesScreen from './ProfilesScreen.svelte';

const input = (testId: string) => screen.getByTestId(testId) as HTMLInputElement;

async function type(testId: string, value: string) {
  await fireEvent.input(input(testId), { target: { value } });
}

async function openProfile(name: string) {
  const items = await screen.findAllByTestId('profile-item');
  const item = items.find((el) => el.dataset.name === name);
  if (!item) throw new Error(`no profile item ${name}`);
  await fireEvent.click(item);
}

/** The Rust side for this screen: each profile's second-copy choice reads the repositories. */
const profilesBackend = (handlers: Parameters<typeof fakeBackend>[0]) =>
  fakeBackend({ repositories_list: () => [], profile_repository: () => null, profile_second_repository: () => null, ...handlers });

describe('profile list', () => {
  it('shows each profile with user@host:port/db and a key only when a password is stored', async () => {
    profilesBackend({
      profiles_list: () => [
        profile({ name: 'prod', has_password: true }),
        profile({ name: 'local', host: '/var/run/postgresql', port: 5433, database: 'postgres', user: 'me' }),
      ],
    });
    render(ProfilesScreen);

    const items = await screen.findAllByTestId('profile-item');
    expect(items.map((el) => el.dataset.name)).toEqual(['prod', 'local']);
    expect(items[0].textContent).toContain('alice@db.example.com:5432/app');
    expect(items[1].textContent).toContain('me@/var/run/postgresql:5433/postgres');
    expect(within(items[0]).queryByTestId('profile-has-password')).not.toBeNull();
    expect(within(items[1]).queryByTestId('profile-has-password')).toBeNull();
  });

  it('shows an empty state when there are no profiles', async () => {
    profilesBackend({ profiles_list: () => [] });
    render(ProfilesScreen);
    expect((await screen.findByTestId('profiles-empty')).textContent).toContain('No profiles yet');
    expect(screen.queryAllByTestId('profile-item')).toHaveLength(0);
  });

  it('shows the error when the list cannot be read', async () => {
    profilesBackend({
      profiles_list: () => reject({ code: 'catalog', message: 'The catalog is unreadable.', hint: 'Check the data folder.' }),
    });
    render(ProfilesScreen);
    const box = await screen.findByTestId('error');
    expect(box.dataset.code).toBe('catalog');
    expect(screen.getByTestId('error-message').textContent).toBe('The catalog is unreadable.');
  });
});

describe('adding a profile', () => {
  const parsed: ProfileDraft = {
    name: 'db.example.com/app',
    host: 'db.example.com',
    port: 6543,
    database: 'app',
    user: 'alice',
    sslmode: 'require',
    sslrootcert: '/etc/ssl/root.crt',
    sslcert: null,
    sslkey: null,
    application_name: 'tideline',
    connect_timeout_secs: 5,
  };

  it('fills the fields from a URI through profile_parse, then saves the draft and password', async () => {
    const list = [profile({ name: 'prod' })];
    const backend = profilesBackend({
      profiles_list: () => list,
      profile_parse: () => parsed,
      profile_add: (args) => {
        const draft = args.draft as ProfileDraft;
        const added = profile({ ...draft, has_password: args.password !== null });
        list.push(added);
        return added;
      },
    });
    render(ProfilesScreen);
    await screen.findAllByTestId('profile-item');

    await fireEvent.click(screen.getByTestId('profiles-add'));
    const uri = 'postgresql://alice:pw@db.example.com:6543/app?sslmode=require';
    await type('form-uri', uri);
    await fireEvent.click(screen.getByTestId('form-parse'));

    await waitFor(() => expect(input('form-host').value).toBe('db.example.com'));
    expect(backend.callsTo('profile_parse')).toEqual([{ input: uri }]);
    expect(input('form-name').value).toBe('db.example.com/app');
    expect(input('form-port').value).toBe('6543');
    expect(input('form-database').value).toBe('app');
    expect(input('form-user').value).toBe('alice');
    expect((screen.getByTestId('form-sslmode') as HTMLSelectElement).value).toBe('require');
    expect(input('form-sslrootcert').value).toBe('/etc/ssl/root.crt');
    // The pasted text (which may hold a password) is not left on screen.
    expect(input('form-uri').value).toBe('');

    await type('form-name', 'staging');
    await type('form-password', 's3cret');
    await fireEvent.click(screen.getByTestId('form-save'));

    await waitFor(() => expect(backend.callsTo('profile_add')).toHaveLength(1));
    expect(backend.callsTo('profile_add')[0]).toEqual({
      draft: { ...parsed, name: 'staging' },
      password: 's3cret',
    });
    // The list is reloaded and the new profile is selected.
    await waitFor(() =>
      expect(screen.getAllByTestId('profile-item').map((el) => el.dataset.name)).toEqual(['prod', 'staging']),
    );
    expect(await screen.findByTestId('profile-test')).toBeTruthy();
  });

  it('sends a null password and null optional fields when they are left empty', async () => {
    const backend = profilesBackend({
      profiles_list: () => [],
      profile_add: (args) => profile({ ...(args.draft as ProfileDraft) }),
    });
    render(ProfilesScreen);
    await fireEvent.click(screen.getByTestId('profiles-add'));
    await type('form-name', 'local');
    await type('form-host', '/var/run/postgresql');
    await fireEvent.change(screen.getByTestId('form-sslmode'), { target: { value: 'disable' } });
    await fireEvent.click(screen.getByTestId('form-save'));

    await waitFor(() => expect(backend.callsTo('profile_add')).toHaveLength(1));
    expect(backend.callsTo('profile_add')[0]).toEqual({
      draft: {
        name: 'local',
        host: '/var/run/postgresql',
        port: 5432,
        database: 'postgres',
        user: 'postgres',
        sslmode: 'disable',
        sslrootcert: null,
        sslcert: null,
        sslkey: null,
        application_name: null,
        connect_timeout_secs: 10,
      },
      password: null,
    });
  });

  it('shows the parse error and leaves the fields alone', async () => {
    profilesBackend({
      profiles_list: () => [],
      profile_parse: () =>
        reject({ code: 'invalid_uri', message: 'This is not a connection URI.', hint: 'Start with postgres://' }),
    });
    render(ProfilesScreen);
    await fireEvent.click(screen.getByTestId('profiles-add'));
    await type('form-uri', 'http://nope');
    await fireEvent.click(screen.getByTestId('form-parse'));

    const box = await screen.findByTestId('error');
    expect(box.dataset.code).toBe('invalid_uri');
    expect(screen.getByTestId('error-hint').textContent).toBe('Start with postgres://');
    expect(input('form-host').value).toBe('localhost');
  });

  it('shows a save error from the engine and keeps the form open', async () => {
    profilesBackend({
      profiles_list: () => [],
      profile_add: () =>
        reject({ code: 'profile_exists', message: 'A profile named prod already exists.', hint: 'Pick another name.' }),
    });
    render(ProfilesScreen);
    await fireEvent.click(screen.getByTestId('profiles-add'));
    await type('form-name', 'prod');
    await fireEvent.click(screen.getByTestId('form-save'));

    expect((await screen.findByTestId('error')).dataset.code).toBe('profile_exists');
    expect(screen.getByTestId('error-message').textContent).toBe('A profile named prod already exists.');
    expect(screen.getByTestId('form-save')).toBeTruthy();
  });

  it('rejects a port that is not a number without calling the engine', async () => {
    const backend = profilesBackend({ profiles_list: () => [] });
    render(ProfilesScreen);
    await fireEvent.click(screen.getByTestId('profiles-add'));
    await type('form-name', 'x');
    await type('form-port', '');
    await fireEvent.click(screen.getByTestId('form-save'));

    expect((await screen.findByTestId('error')).dataset.code).toBe('invalid_input');
    expect(backend.callsTo('profile_add')).toHaveLength(0);
  });
});

describe('testing a connection', () => {
  it('shows the server facts', async () => {
    const backend = profilesBackend({
      profiles_list: () => [profile({ name: 'prod' })],
      profile_test: () => facts({ is_superuser: true }),
    });
    render(ProfilesScreen);
    await openProfile('prod');
    await fireEvent.click(screen.getByTestId('profile-test'));

    const panel = await screen.findByTestId('facts');
    expect(backend.callsTo('profile_test')).toEqual([{ name: 'prod' }]);
    expect(screen.getByTestId('facts-version').textContent).toBe('17.2 (Debian 17.2-1.pgdg120+1)');
    expect(screen.getByTestId('facts-user').textContent).toBe('alice');
    expect(screen.getByTestId('facts-superuser').textContent).toBe('yes');
    expect(screen.getByTestId('facts-replication').textContent).toBe('yes');
    expect(screen.getByTestId('facts-wal-level').textContent).toBe('replica');
    expect(screen.getByTestId('facts-rtt').textContent).toBe('3 ms');
    expect(screen.getByTestId('facts-tls').textContent).toBe('yes');
    const rows = within(panel).getAllByRole('row').slice(1);
    expect(rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent))).toEqual([
      ['app', '1.5 GiB'],
      ['postgres', '7.3 MiB'],
    ]);
  });

  it('renders an engine error with its code, message and hint', async () => {
    profilesBackend({
      profiles_list: () => [profile({ name: 'prod', has_password: true })],
      profile_test: () =>
        reject({
          code: 'auth_failed',
          message: 'The server rejected the password for alice.',
          hint: 'Edit the profile and set the current password.',
        }),
    });
    render(ProfilesScreen);
    await openProfile('prod');
    await fireEvent.click(screen.getByTestId('profile-test'));

    const box = await screen.findByTestId('error');
    expect(box.getAttribute('data-code')).toBe('auth_failed');
    expect(screen.getByTestId('error-message').textContent).toBe('The server rejected the password for alice.');
    expect(screen.getByTestId('error-hint').textContent).toBe('Edit the profile and set the current password.');
    expect(screen.queryByTestId('facts')).toBeNull();

    // For password failures the page offers the way to fix it.
    // It opens on the password: a new one chosen, its field focused.
    await fireEvent.click(screen.getByRole('button', { name: 'Change the stored password' }));
    expect(input('form-password-set').checked).toBe(true);
    expect(document.activeElement).toBe(screen.getByTestId('form-password'));
  });
});

describe('editing a profile', () => {
  it('keeps the password by default and updates under the old name', async () => {
    const backend = profilesBackend({
      profiles_list: () => [profile({ name: 'prod', has_password: true })],
      profile_update: (args) => profile({ ...(args.draft as ProfileDraft), has_password: true }),
    });
    render(ProfilesScreen);
    await openProfile('prod');
    await fireEvent.click(screen.getByTestId('profile-edit'));

    expect(input('form-name').value).toBe('prod');
    expect(input('form-password-keep').checked).toBe(true);
    expect(screen.queryByTestId('form-password')).toBeNull();
    await type('form-port', '5433');
    await fireEvent.click(screen.getByTestId('form-save'));

    await waitFor(() => expect(backend.callsTo('profile_update')).toHaveLength(1));
    const args = backend.callsTo('profile_update')[0];
    expect(args.name).toBe('prod');
    expect(args.password).toEqual({ kind: 'keep' });
    expect(args.draft).toMatchObject({ name: 'prod', port: 5433, host: 'db.example.com' });
  });

  it('sends a new password or a clear', async () => {
    const backend = profilesBackend({
      profiles_list: () => [profile({ name: 'prod', has_password: true })],
      profile_update: (args) => profile({ ...(args.draft as ProfileDraft) }),
    });
    render(ProfilesScreen);
    await openProfile('prod');

    await fireEvent.click(screen.getByTestId('profile-edit'));
    await fireEvent.click(screen.getByTestId('form-password-set'));
    await type('form-password', 'n3w');
    await fireEvent.click(screen.getByTestId('form-save'));
    await waitFor(() => expect(backend.callsTo('profile_update')).toHaveLength(1));
    expect(backend.callsTo('profile_update')[0].password).toEqual({ kind: 'set', password: 'n3w' });

    await fireEvent.click(await screen.findByTestId('profile-edit'));
    await fireEvent.click(screen.getByTestId('form-password-clear'));
    await fireEvent.click(screen.getByTestId('form-save'));
    await waitFor(() => expect(backend.callsTo('profile_update')).toHaveLength(2));
    expect(backend.callsTo('profile_update')[1].password).toEqual({ kind: 'clear' });
  });
});

describe('removing a profile', () => {
  it('asks for confirmation in the page before calling profile_remove', async () => {
    let list = [profile({ name: 'prod' }), profile({ name: 'old' })];
    const backend = profilesBackend({
      profiles_list: () => list,
      profile_remove: (args) => {
        list = list.filter((p) => p.name !== args.name);
        return null;
      },
    });
    render(ProfilesScreen);
    await openProfile('old');

    await fireEvent.click(screen.getByTestId('profile-remove'));
    expect(backend.callsTo('profile_remove')).toHaveLength(0);

    // Cancelling closes the question without removing anything.
    await fireEvent.click(screen.getByTestId('profile-remove-cancel'));
    expect(screen.queryByTestId('profile-remove-confirm')).toBeNull();
    expect(backend.callsTo('profile_remove')).toHaveLength(0);

    await fireEvent.click(screen.getByTestId('profile-remove'));
    await fireEvent.click(screen.getByTestId('profile-remove-confirm'));
    await waitFor(() => expect(backend.callsTo('profile_remove')).toEqual([{ name: 'old' }]));
    await waitFor(() =>
      expect(screen.getAllByTestId('profile-item').map((el) => el.dataset.name)).toEqual(['prod']),
    );
    expect(screen.queryByTestId('profile-test')).toBeNull();
  });
});

describe('importing profiles', () => {
  it('sends the chosen sources and lists what was added and skipped', async () => {
    let list = [profile({ name: 'prod' })];
    const imported = profile({ name: 'pgpass-db1', host: 'db1', user: 'bob' });
    const backend = profilesBackend({
      profiles_list: () => list,
      profile_import: () => {
        list = [...list, imported];
        return {
          added: [imported],
          skipped: [{ name: 'prod', reason: 'a profile with this name already exists' }],
        };
      },
    });
    render(ProfilesScreen);
    await screen.findAllByTestId('profile-item');
    await fireEvent.click(screen.getByTestId('profiles-import'));

    expect((screen.getByTestId('import-run') as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.click(screen.getByTestId('import-pgpass'));
    await fireEvent.click(screen.getByTestId('import-discover'));
    await fireEvent.click(screen.getByTestId('import-run'));

    await screen.findByTestId('import-report');
    expect(backend.callsTo('profile_import')).toEqual([
      { request: { pgpass: true, service_file: false, discover: true } },
    ]);
    const added = screen.getAllByTestId('import-added');
    expect(added.map((el) => el.dataset.name)).toEqual(['pgpass-db1']);
    expect(added[0].textContent).toContain('bob@db1:5432/app');
    const skipped = screen.getAllByTestId('import-skipped');
    expect(skipped).toHaveLength(1);
    expect(skipped[0].textContent).toContain('prod');
    expect(skipped[0].textContent).toContain('a profile with this name already exists');
    // The list picks up the imported profile.
    await waitFor(() =>
      expect(screen.getAllByTestId('profile-item').map((el) => el.dataset.name)).toEqual(['prod', 'pgpass-db1']),
    );
  });
});
