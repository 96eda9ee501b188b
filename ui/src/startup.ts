// The app's start, timed: the first screen reports once that it has drawn what it loaded,
// after the browser has painted it, and the app logs the time since it started.
import { screenDrawn } from './ipc';

let reported = false;

export function firstScreenDrawn(screen: string): void {
  if (reported) return;
  reported = true;
  // Two frames: the first runs before the paint of what changed, the second after it.
  requestAnimationFrame(() =>
    requestAnimationFrame(() => {
      // Only a log line depends on it: a failure must not reach the screen.
      screenDrawn(screen).catch(() => {});
    }),
  );
}
