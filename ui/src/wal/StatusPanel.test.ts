import { emit } from '@tauri-apps/api/event';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import type { WalCheckReport } from '../bindings/WalCheckReport';
import type { WalStatus } from '../bindings/WalStatus';
import { fakeBackend } from '../testing/backend';
import { REPOSITORY_CHANGED } from '../repositoryEvents';
import StatusPanel from './StatusPanel.svelte';

const status: WalStatus = {
  profile: 'local',
  archive_mode: 'on',
  archive_command: 'tideline wal-push',
  archiving_to_tideline: true,
  archiver: {
    archived_count: 3,
    last_archived_wal: null,
    last_archived_time: null,
    failed_count: 0,
    last_failed_wal: null,
    last_failed_time: null,
  },
  slots: [],
  warnings: [],
};

describe('verifying the archived WAL in the app', () => {
  it('lists each damaged file, the twin of `tideline wal verify`', async () => {
    const report: WalCheckReport = {
      files: 4,
      read: 4,
      bytes_read: 1024,
      damaged: [{ name: '000000010000000000000005', detail: '/r/000000010000000000000005.zst is damaged: checksum' }],
      rewritten_summaries: [],
      replaced: [],
    };
    const backend = fakeBackend({ wal_status: () => status, wal_verify: () => report });
    render(StatusPanel, { profile: 'local', refresh: 0 });
    await fireEvent.click(await screen.findByTestId('wal-verify'));
    const result = await screen.findByTestId('wal-verify-result');
    expect(result.dataset.damaged).toBe('1');
    expect(result.textContent).toContain('000000010000000000000005');
    expect(backend.callsTo('wal_verify')).toEqual([{ profile: 'local' }]);
  });

  it('says which damaged files came again from the bucket', async () => {
    const report: WalCheckReport = {
      files: 4,
      read: 5,
      bytes_read: 2048,
      damaged: [],
      rewritten_summaries: [],
      replaced: ['000000010000000000000007'],
    };
    fakeBackend({ wal_status: () => status, wal_verify: () => report });
    render(StatusPanel, { profile: 'local', refresh: 0 });
    await fireEvent.click(await screen.findByTestId('wal-verify'));
    const replaced = await screen.findByTestId('wal-verify-replaced');
    expect(replaced.textContent).toContain('000000010000000000000007');
    expect(replaced.textContent).toContain('.zst.damaged');
  });

  it('reads the status again while open', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      const backend = fakeBackend({ wal_status: () => status });
      render(StatusPanel, { profile: 'local', refresh: 0 });
      await waitFor(() => expect(backend.callsTo('wal_status')).toHaveLength(1));
      await vi.advanceTimersByTimeAsync(15_000);
      await waitFor(() => expect(backend.callsTo('wal_status')).toHaveLength(2));
      // A segment landing is read at once; a backup is not the archiver's business.
      await emit(REPOSITORY_CHANGED, 'wal');
      await waitFor(() => expect(backend.callsTo('wal_status')).toHaveLength(3));
      await emit(REPOSITORY_CHANGED, 'backups');
      await new Promise((r) => setTimeout(r, 50));
      expect(backend.callsTo('wal_status')).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });
});
