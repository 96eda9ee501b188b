// What the user chose in Settings that only the window uses, kept in the webview's storage:
// light or dark (or the system's), and times in this computer's zone or in UTC (as servers'
// logs usually are).
export type Theme = 'system' | 'light' | 'dark';
export type Zone = 'local' | 'utc';

const THEME_KEY = 'tideline.appearance';
const ZONE_KEY = 'tideline.zone';

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** Saved, or forgotten when it is the default. */
function write(key: string, value: string, fallback: string): void {
  try {
    if (value === fallback) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // Without storage the choice lasts until the app closes.
  }
}

/** The theme saved by an earlier run. */
export function storedTheme(): Theme {
  const value = read(THEME_KEY);
  return value === 'light' || value === 'dark' ? value : 'system';
}

/** The zone saved by an earlier run. */
export function storedZone(): Zone {
  return read(ZONE_KEY) === 'utc' ? 'utc' : 'local';
}

export const appearance = $state<{ theme: Theme; zone: Zone }>({ theme: storedTheme(), zone: storedZone() });

export function setTheme(theme: Theme): void {
  appearance.theme = theme;
  write(THEME_KEY, theme, 'system');
}

export function setZone(zone: Zone): void {
  appearance.zone = zone;
  write(ZONE_KEY, zone, 'local');
}

/** Whether times are shown, and typed times read, in UTC. */
export function inUtc(): boolean {
  return appearance.zone === 'utc';
}

/** The root element's data-theme: none follows the system. */
export function applyTheme(root: HTMLElement, theme: Theme): void {
  if (theme === 'system') delete root.dataset.theme;
  else root.dataset.theme = theme;
}
