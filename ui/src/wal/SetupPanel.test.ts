import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { WalSetupReport } from '../bindings/WalSetupReport';
import { fakeBackend, reject } from '../testing/backend';
import SetupPanel from './SetupPanel.svelte';

function report(overrides: Partial<WalSetupReport> = {}): WalSetupReport {
  return {
    profile: 'local',
    system_identifier: '7311',
    method: 'archive',
    method_reason: "the server runs here as OS user 'postgres'",
    checks: [
      { name: 'wal_level', current: 'replica', wanted: 'replica', ok: true, restart: true, why: 'w' },
      { name: 'archive_mode', current: 'off', wanted: 'on', ok: false, restart: true, why: 'm' },
    ],
    archive_command: "'/usr/bin/tideline' wal-push --repo '/r' %p",
    wal_dir: '/r/clusters/7311/wal',
    applied: false,
    restart_needed: false,
    restart_command: null,
    test: null,
    ...overrides,
  };
}

describe('WAL setup assistant', () => {
  it('checks, then applies and shows the restart it needs', async () => {
    let changed = 0;
    const backend = fakeBackend({
      wal_setup: (args) => (args.apply ? report({ applied: true, restart_needed: true }) : report()),
    });
    render(SetupPanel, { profile: 'local', onChanged: () => changed++ });
    await fireEvent.click(screen.getByTestId('wal-check'));
    const method = await screen.findByTestId('wal-method');
    expect(method.dataset.method).toBe('archive');
    const rows = screen.getAllByTestId('wal-check-row');
    expect(rows.map((r) => [r.dataset.name, r.dataset.ok])).toEqual([
      ['wal_level', 'true'],
      ['archive_mode', 'false'],
    ]);
    expect(rows[1].textContent).toContain('missing (restart)');
    await fireEvent.click(screen.getByTestId('wal-apply'));
    await screen.findByTestId('wal-restart');
    expect(backend.callsTo('wal_setup')).toEqual([
      { profile: 'local', method: null, apply: false },
      { profile: 'local', method: null, apply: true },
    ]);
    expect(changed).toBe(1);
  });

  it('walks through check, apply, the exact restart, and the end-to-end test', async () => {
    let restarted = false;
    const ok = [{ name: 'archive_mode', current: 'on', wanted: 'on', ok: true, restart: true, why: 'm' }];
    const arrived = {
      segment: '000000010000000000000003',
      arrived: true,
      waited_ms: 180,
      archiver: { archived_count: 1, last_archived_wal: null, last_archived_time: null, failed_count: 0, last_failed_wal: null, last_failed_time: null },
    };
    const backend = fakeBackend({
      wal_setup: (args) => {
        if (restarted) return report({ checks: ok, applied: Boolean(args.apply), test: args.apply ? arrived : null });
        return args.apply
          ? report({ applied: true, restart_needed: true, restart_command: 'runuser -u postgres -- /usr/lib/postgresql/17/bin/pg_ctl restart -w -m fast -D /srv/pg' })
          : report();
      },
    });
    render(SetupPanel, { profile: 'local', onChanged: () => {} });
    const steps = screen.getByTestId('wal-steps');
    expect(steps.dataset.step).toBe('1');
    await fireEvent.click(screen.getByTestId('wal-check'));
    await waitFor(() => expect(steps.dataset.step).toBe('2'));
    await fireEvent.click(screen.getByTestId('wal-apply'));
    await waitFor(() => expect(steps.dataset.step).toBe('3'));
    expect(screen.getByTestId('wal-restart-command').textContent).toBe(
      'runuser -u postgres -- /usr/lib/postgresql/17/bin/pg_ctl restart -w -m fast -D /srv/pg',
    );
    expect(screen.queryByTestId('wal-apply')).toBeNull();

    restarted = true;
    await fireEvent.click(screen.getByTestId('wal-check'));
    await waitFor(() => expect(steps.dataset.step).toBe('4'));
    await fireEvent.click(screen.getByTestId('wal-test-run'));
    expect((await screen.findByTestId('wal-test')).dataset.arrived).toBe('true');
    expect(backend.callsTo('wal_setup').map((c) => c.apply)).toEqual([false, true, false, true]);
    expect(screen.queryByTestId('wal-test-run')).toBeNull();
  });

  it('shows the archiving test and a coded refusal', async () => {
    const arrived = report({
      checks: [],
      test: {
        segment: '000000010000000000000003',
        arrived: true,
        waited_ms: 180,
        archiver: { archived_count: 4, last_archived_wal: null, last_archived_time: null, failed_count: 0, last_failed_wal: null, last_failed_time: null },
      },
    });
    fakeBackend({ wal_setup: () => arrived });
    const { unmount } = render(SetupPanel, { profile: 'local', onChanged: () => {} });
    await fireEvent.click(screen.getByTestId('wal-check'));
    const test = await screen.findByTestId('wal-test');
    expect(test.dataset.arrived).toBe('true');
    expect(test.textContent).toContain('000000010000000000000003');
    unmount();

    fakeBackend({
      wal_setup: () => reject({ code: 'access_denied', message: 'not a superuser', hint: 'use a superuser profile' }),
    });
    render(SetupPanel, { profile: 'local', onChanged: () => {} });
    await fireEvent.click(screen.getByTestId('wal-check'));
    await waitFor(() => expect(screen.getByTestId('error').dataset.code).toBe('access_denied'));
  });
});
