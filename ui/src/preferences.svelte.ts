// What the user chose in Settings that only the window uses, kept in the webview's storage:
// light or dark, or the system's.
export type Theme = 'system' | 'light' | 'dark';

const KEY = 'tideline.appearance';

/** The choice saved by an earlier run. */
export function storedTheme(): Theme {
  try {
    const value = localStorage.getItem(KEY);
    return value === 'light' || value === 'dark' ? value : 'system';
  } catch {
    return 'system';
  }
}

export const appearance = $state<{ theme: Theme }>({ theme: storedTheme() });

export function setTheme(theme: Theme): void {
  appearance.theme = theme;
  try {
    if (theme === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, theme);
  } catch {
    // Without storage the choice lasts until the app closes.
  }
}

/** The root element's data-theme: none follows the system. */
export function applyTheme(root: HTMLElement, theme: Theme): void {
  if (theme === 'system') delete root.dataset.theme;
  else root.dataset.theme = theme;
}
