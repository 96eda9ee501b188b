// Table names as the engine reads them: `schema.table`, exact (never patterns). A part
// containing `.` or `"` must be double-quoted SQL-style with `"` doubled. Parts holding pg_dump
// pattern characters (`*`, `?`) are quoted too: the engine reads them literally either way, but
// quoted they read as literal to a person as well. Everything else is written as is.

const NEEDS_QUOTES = /[."*?]/;

function part(s: string): string {
  return NEEDS_QUOTES.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** `public.orders`; `"a.b"."x*y?"`; `app."say ""hi"""`; `Sales.Order Items`. */
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
