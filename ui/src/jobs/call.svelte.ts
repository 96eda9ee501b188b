// One short engine call a component makes (load, save, start, stop): whether it is running and
// why it last failed, as the engine's ErrorPayload. Components render `busy` and `error`;
// none catches errors itself.
import type { ErrorPayload } from '../bindings/ErrorPayload';
import { toErrorPayload } from '../ipc';

export class Call {
  busy = $state(false);
  error = $state<ErrorPayload | null>(null);

  /** Runs `work`; resolves with its result, or with null when it failed (see `error`). */
  async run<T>(work: () => Promise<T>): Promise<T | null> {
    this.busy = true;
    this.error = null;
    try {
      return await work();
    } catch (e) {
      this.error = toErrorPayload(e);
      return null;
    } finally {
      this.busy = false;
    }
  }
}

/** One `Call` per item of a list (a sandbox, a schedule), made when first asked for. */
export class CallsByItem {
  private calls = new Map<string, Call>();

  of(id: string): Call {
    let call = this.calls.get(id);
    if (!call) {
      call = new Call();
      this.calls.set(id, call);
    }
    return call;
  }
}
