import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { navigation } from '../navigation.svelte';
import { fakeBackend, reject } from '../testing/backend';
import ToolsScreen from './ToolsScreen.svelte';

describe('tools screen', () => {
  it('lists each installation with its tools and capabilities', async () => {
    fakeBackend({
      tools_folders: () => [],
      tools_list: () => ({
        installations: [
          {
            major: 17,
            version: '17.2',
            dir: '/usr/lib/postgresql/17/bin',
            source: 'debian',
            tools: ['pg_dump', 'pg_restore', 'pg_basebackup', 'pg_combinebackup'],
            advisories: [],
            capabilities: {
              dump_compression: ['gzip', 'lz4', 'zstd'],
              basebackup_compression: ['gzip', 'zstd'],
              incremental_backup: true,
              table_and_children: true,
            },
          },
          {
            major: 15,
            version: '15.8',
            dir: '/usr/lib/postgresql/15/bin',
            source: 'pgdg',
            tools: ['pg_dump'],
            advisories: ["PostgreSQL 15.8's pg_dump, pg_dumpall and psql lack the fix for CVE-2025-8714"],
            capabilities: { dump_compression: ['gzip'], basebackup_compression: [], incremental_backup: false, table_and_children: false },
          },
        ],
      }),
    });
    render(ToolsScreen);
    const rows = await screen.findAllByTestId('tools-row');
    expect(rows.map((r) => r.dataset.major)).toEqual(['17', '15']);
    expect(rows[0].textContent).toContain('/usr/lib/postgresql/17/bin');
    expect(rows[0].textContent).toContain('pg_combinebackup');
    expect(rows[0].textContent).toContain('gzip, lz4, zstd');
    expect(rows[1].textContent).toContain('15.8');
    expect(rows[1].textContent).toContain('pgdg');
    expect(rows[1].textContent).toMatch(/incremental backup\s*no/);
    // A version with a known problem for what Tideline runs it for says so.
    expect(screen.getAllByTestId('tools-advisory').map((a) => a.textContent)).toEqual([
      "PostgreSQL 15.8's pg_dump, pg_dumpall and psql lack the fix for CVE-2025-8714",
    ]);
  });

  it('explains when nothing is installed', async () => {
    fakeBackend({ tools_list: () => ({ installations: [] }), tools_folders: () => [] });
    render(ToolsScreen);
    expect((await screen.findByTestId('tools-empty')).textContent).toContain('No PostgreSQL client tools');
  });

  it('shows the engine error', async () => {
    fakeBackend({
      tools_list: () => reject({ code: 'io', message: 'Cannot read /usr/lib.', hint: 'Check permissions.' }),
      tools_folders: () => [],
    });
    render(ToolsScreen);
    expect((await screen.findByTestId('error')).dataset.code).toBe('io');
    expect(screen.getByTestId('error-hint').textContent).toBe('Check permissions.');
  });

  it('adds and removes a folder to look in, then looks again', async () => {
    let folders: string[] = [];
    const backend = fakeBackend({
      tools_list: () => ({ installations: [] }),
      tools_folders: () => folders,
      tools_folder_add: (args) => (folders = [...folders, args.dir as string]),
      tools_folder_remove: (args) => (folders = folders.filter((f) => f !== args.dir)),
    });
    render(ToolsScreen);
    await screen.findByTestId('tools-empty');
    await fireEvent.input(screen.getByTestId('tool-folder-input'), { target: { value: ' /opt/pg17/bin ' } });
    await fireEvent.click(screen.getByTestId('tool-folder-add'));
    expect((await screen.findByTestId('tool-folder')).dataset.dir).toBe('/opt/pg17/bin');
    expect(backend.callsTo('tools_folder_add')).toEqual([{ dir: '/opt/pg17/bin' }]);
    await waitFor(() => expect(backend.callsTo('tools_list')).toHaveLength(2));
    await fireEvent.click(screen.getByTestId('tool-folder-remove'));
    await waitFor(() => expect(screen.queryByTestId('tool-folder')).toBeNull());
    expect(backend.callsTo('tools_list')).toHaveLength(3);
  });

  it('offers the in-app step beside an error whose hint names a command', async () => {
    fakeBackend({
      tools_list: () => ({ installations: [] }),
      tools_folders: () => reject({ code: 'tool_missing', message: 'No pg_dump 17.', hint: 'Run `tideline tools --add-dir DIR`.' }),
    });
    navigation.current = 'tools';
    render(ToolsScreen);
    // On the Tools screen itself the twin is not offered again.
    expect((await screen.findByTestId('error')).dataset.code).toBe('tool_missing');
    expect(screen.queryByTestId('error-action')).toBeNull();
  });
});
