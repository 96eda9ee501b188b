// One long-running engine job (backup, restore): its id, live progress, cancellation and how it
// ended. JobStatus.svelte renders all of it, so a screen only starts the job and shows the result.
import { Channel } from '@tauri-apps/api/core';
import type { ErrorPayload } from '../bindings/ErrorPayload';
import type { JobProgress } from '../bindings/JobProgress';
import { jobCancel, toErrorPayload } from '../ipc';

/** A fresh job id; randomUUID where available, the same v4 shape from random bytes otherwise. */
export function newJobId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class Job {
  id = $state<string | null>(null);
  progress = $state<JobProgress | null>(null);
  running = $state(false);
  cancelling = $state(false);
  cancelError = $state<ErrorPayload | null>(null);

  /** Why the last run failed; null while running, after success and after a cancel. */
  error = $state<ErrorPayload | null>(null);
  /** The last run ended because Cancel was pressed. */
  cancelled = $state(false);

  /**
   * Starts `start` with a new job id and progress channel. Resolves with its result, or with
   * null when it failed (then `error` says why) or was cancelled (then `cancelled` is set).
   */
  async run<T>(start: (jobId: string, onProgress: Channel<JobProgress>) => Promise<T>): Promise<T | null> {
    const id = newJobId();
    this.id = id;
    this.progress = null;
    this.running = true;
    this.cancelling = false;
    this.cancelError = null;
    this.error = null;
    this.cancelled = false;
    const channel = new Channel<JobProgress>((progress) => {
      if (this.id === id) this.progress = progress;
    });
    try {
      return await start(id, channel);
    } catch (e) {
      const error = toErrorPayload(e);
      if (this.id === id) {
        if (error.code === 'cancelled') this.cancelled = true;
        else this.error = error;
      }
      return null;
    } finally {
      if (this.id === id) {
        this.running = false;
        this.cancelling = false;
      }
    }
  }

  /** Asks the engine to stop the running job; the job itself then rejects with `cancelled`. */
  async cancel(): Promise<void> {
    const id = this.id;
    if (!id || !this.running || this.cancelling) return;
    this.cancelling = true;
    this.cancelError = null;
    try {
      await jobCancel(id);
    } catch (error) {
      if (this.id === id && this.running) {
        this.cancelling = false;
        this.cancelError = toErrorPayload(error);
      }
    }
  }
}
