// Table names as the engine reads them: `schema.table`, exact (never patterns). A part
// containing `.` or `"` is double-quoted SQL-style with `"` doubled; others are written as is.

function part(s: string): string {
  return s.includes('.') || s.includes('"') ? `"${s.replaceAll('"', '""')}"` : s;
}

/** `public.orders`; `"a.b"."x*y?"`; `app."say ""hi"""`. */
export function qualifiedName(schema: string, name: string): string {
  return `${part(schema)}.${part(name)}`;
}

/** One name per line; blank lines and surrounding spaces dropped. */
export function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** A command line for display, with arguments quoted the POSIX-shell way where needed. */
export function shellJoin(args: string[]): string {
  return args.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}
