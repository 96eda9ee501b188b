// The profile the user is working on, kept across screens: chosen on the Timeline, it is the
// one the Backups and WAL screens open on.
/** The profile `tideline demo` makes: preferred when nothing else was chosen. */
export const DEMO_PROFILE = 'demo';

export const profileContext = $state({ name: '' });

/** The profile to open on among `names`: `prefer`, else the one in context, else `fallback`,
 * else the first; '' when there is none. */
export function pickProfile(names: string[], prefer?: string, fallback?: string): string {
  return [prefer, profileContext.name, fallback].find((n) => n && names.includes(n)) ?? names[0] ?? '';
}
