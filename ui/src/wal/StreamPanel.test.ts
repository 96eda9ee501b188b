import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { JobProgress } from '../bindings/JobProgress';
import type { StreamSummary } from '../bindings/StreamSummary';
import { channelSender, deferred, fakeBackend, jobProgress } from '../testing/backend';
import StreamPanel from './StreamPanel.svelte';

describe('WAL streaming in the app', () => {
  it('streams until Stop, refreshing the status as segments are stored', async () => {
    const running = deferred<StreamSummary>();
    let send: ((p: JobProgress) => void) | null = null;
    const backend = fakeBackend({
      wal_stream_run: (args) => {
        send = channelSender<JobProgress>(args.onProgress);
        return running.promise;
      },
      job_cancel: () => {
        running.reject({ code: 'cancelled', message: 'stopped', hint: '' });
        return true;
      },
    });
    let refreshed = 0;
    render(StreamPanel, { profile: 'local', onChanged: () => refreshed++ });
    await fireEvent.click(screen.getByTestId('stream-start'));
    await screen.findByTestId('stream-running');
    send!(jobProgress({ phase: 'streaming', current_object: '000000010000000000000007' }));
    await waitFor(() => expect(screen.getByTestId('stream-running').textContent).toContain('000000010000000000000007'));
    expect(refreshed).toBeGreaterThanOrEqual(1);
    await fireEvent.click(screen.getByTestId('stream-stop'));
    await screen.findByTestId('stream-start');
    expect(backend.callsTo('job_cancel')).toHaveLength(1);
    expect(screen.queryByTestId('error')).toBeNull();
  });
});
