// The app watches the repository and says when something lands in it (a WAL segment or its
// summary, a backup finished or removed): screens that show it reload then, not on a timer.
import { listen } from '@tauri-apps/api/event';
import type { RepositoryChange } from './bindings/RepositoryChange';

export const REPOSITORY_CHANGED = 'repository-changed';

/** Calls `reload` on each change of one of `kinds`; returns what stops it (for onMount). */
export function onRepositoryChange(kinds: RepositoryChange[], reload: () => void): () => void {
  let stop: (() => void) | null = null;
  let stopped = false;
  listen<RepositoryChange>(REPOSITORY_CHANGED, (e) => {
    if (kinds.includes(e.payload)) reload();
  })
    .then((unlisten) => (stopped ? unlisten() : (stop = unlisten)))
    // Without events the screens' slower timers still refresh them.
    .catch(() => {});
  return () => {
    stopped = true;
    stop?.();
  };
}

/** Keeps a screen current while it is open: `refresh` on each change of one of `kinds`, and
 * every `everyMs` for what lands nowhere in the repository; skipped while the window is hidden.
 * Returns what stops both (for onMount). */
export function refreshWhileOpen(kinds: RepositoryChange[], everyMs: number, refresh: () => void): () => void {
  const visible = () => {
    if (document.visibilityState !== 'hidden') refresh();
  };
  const stopWatching = onRepositoryChange(kinds, visible);
  const timer = setInterval(visible, everyMs);
  return () => {
    stopWatching();
    clearInterval(timer);
  };
}
