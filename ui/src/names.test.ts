import { describe, expect, it } from 'vitest';
import { lines, qualifiedName, shellJoin } from './names';

describe('qualifiedName', () => {
  it('quotes parts containing a dot, a quote or a pattern character, doubling quotes', () => {
    expect(qualifiedName('public', 'orders')).toBe('public.orders');
    expect(qualifiedName('a.b', 'x*y?')).toBe('"a.b"."x*y?"');
    expect(qualifiedName('app', 'say "hi"')).toBe('app."say ""hi"""');
    expect(qualifiedName('Sales', 'Order Items')).toBe('Sales.Order Items');
    expect(qualifiedName('public', 'a*')).toBe('public."a*"');
  });
});

describe('lines', () => {
  it('splits on newlines and drops blanks and surrounding spaces', () => {
    expect(lines(' a.b \r\n\n  "x.y".z\n')).toEqual(['a.b', '"x.y".z']);
    expect(lines('')).toEqual([]);
  });
});

describe('shellJoin', () => {
  it('quotes arguments the shell would split or expand', () => {
    expect(shellJoin(['pg_dump', '--table=public.orders', 'my db', "it's", '--table="a.b"."x*y?"'])).toBe(
      `pg_dump --table=public.orders 'my db' 'it'\\''s' '--table="a.b"."x*y?"'`,
    );
  });
});
