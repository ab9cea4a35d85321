/**
 * One path component matched the way Go's `filepath.Match` matches it on Unix (Go 1.19, which
 * restic 0.14 is built with): `*` any run of characters, `?` one character, `[...]` / `[^...]`
 * a non-empty class of characters and `lo-hi` ranges, `\c` the character c. Everything else is
 * literal and case-sensitive. A component never contains '/', so Go's separator rules vanish.
 *
 * Go validates the whole pattern on every call (since Go 1.16), so restic rejects a malformed
 * pattern up front; `globProblem` reproduces exactly that set of rejections.
 */

/** Tests one path component (no '/') against a compiled component pattern. */
export type ComponentTest = (name: string) => boolean;

type Token =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'any-char' }
  | { readonly kind: 'star' }
  | { readonly kind: 'class'; readonly negated: boolean; readonly ranges: readonly (readonly [number, number])[] };

type Parsed = { readonly ok: true; readonly tokens: readonly Token[] } | { readonly ok: false; readonly reason: string };

const SPECIAL = /[\\[\]*?]/;

/** Why Go's filepath.Match would reject this component pattern, or undefined if it is valid. */
export function globProblem(pattern: string): string | undefined {
  const parsed = parseGlob(pattern);
  return parsed.ok ? undefined : parsed.reason;
}

/**
 * Compiles a component pattern to a test. Throws a plain Error with the reason when the pattern
 * is malformed; callers wrap it with context (see pattern.ts).
 */
export function compileGlob(pattern: string): ComponentTest {
  // restic compares "simple" parts with string equality; for them Match agrees exactly.
  if (!SPECIAL.test(pattern)) return (name) => name === pattern;
  const parsed = parseGlob(pattern);
  if (!parsed.ok) throw new Error(parsed.reason);
  return testFor(parsed.tokens);
}

function testFor(tokens: readonly Token[]): ComponentTest {
  const [first, second] = tokens;
  // Shapes that dominate exclude lists get a regex-free path: "*", "*.tmp", "cache*".
  if (tokens.length === 1 && first?.kind === 'star') return () => true;
  if (tokens.length === 1 && first?.kind === 'literal') {
    const text = first.text;
    return (name) => name === text;
  }
  if (tokens.length === 2 && first?.kind === 'star' && second?.kind === 'literal') {
    const suffix = second.text;
    return (name) => name.endsWith(suffix);
  }
  if (tokens.length === 2 && first?.kind === 'literal' && second?.kind === 'star') {
    const prefix = first.text;
    return (name) => name.startsWith(prefix);
  }
  const re = new RegExp(`^(?:${tokens.map(tokenSource).join('')})$`, 'su');
  return (name) => re.test(name);
}

function tokenSource(token: Token): string {
  switch (token.kind) {
    case 'literal':
      return token.text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
    case 'any-char':
      return '.';
    case 'star':
      return '.*';
    case 'class': {
      // Go treats lo > hi as a range that matches nothing; a JS regex would reject it.
      const ranges = token.ranges.filter(([lo, hi]) => lo <= hi);
      const body = ranges.map(([lo, hi]) => (lo === hi ? cp(lo) : `${cp(lo)}-${cp(hi)}`)).join('');
      if (body === '') return token.negated ? '.' : '[]';
      return `[${token.negated ? '^' : ''}${body}]`;
    }
  }
}

function cp(codePoint: number): string {
  return `\\u{${codePoint.toString(16)}}`;
}

/** Parses with Go's grammar: term = '*' | '?' | '[' ['^'] range+ ']' | '\' c | c. */
function parseGlob(pattern: string): Parsed {
  const tokens: Token[] = [];
  let literal = '';
  const flush = (): void => {
    if (literal !== '') tokens.push({ kind: 'literal', text: literal });
    literal = '';
  };
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '*') {
      flush();
      if (tokens.at(-1)?.kind !== 'star') tokens.push({ kind: 'star' });
      i += 1;
    } else if (c === '?') {
      flush();
      tokens.push({ kind: 'any-char' });
      i += 1;
    } else if (c === '\\') {
      if (i + 1 >= pattern.length) return { ok: false, reason: 'trailing backslash' };
      const ch = charAt(pattern, i + 1);
      literal += ch;
      i += 1 + ch.length;
    } else if (c === '[') {
      flush();
      const cls = parseClass(pattern, i + 1);
      if (!cls.ok) return cls;
      tokens.push(cls.token);
      i = cls.next;
    } else {
      const ch = charAt(pattern, i);
      literal += ch;
      i += ch.length;
    }
  }
  flush();
  return { ok: true, tokens };
}

type ClassParse =
  | { readonly ok: true; readonly token: Token; readonly next: number }
  | { readonly ok: false; readonly reason: string };

function parseClass(pattern: string, start: number): ClassParse {
  let i = start;
  if (i >= pattern.length) return { ok: false, reason: 'unclosed character class' };
  const negated = pattern[i] === '^';
  if (negated) i += 1;
  const ranges: [number, number][] = [];
  for (;;) {
    if (pattern[i] === ']' && ranges.length > 0) {
      return { ok: true, token: { kind: 'class', negated, ranges }, next: i + 1 };
    }
    const lo = classChar(pattern, i);
    if (!lo.ok) return lo;
    i = lo.next;
    let hi = lo.codePoint;
    if (pattern[i] === '-') {
      const h = classChar(pattern, i + 1);
      if (!h.ok) return h;
      i = h.next;
      hi = h.codePoint;
    }
    ranges.push([lo.codePoint, hi]);
  }
}

type CharParse =
  | { readonly ok: true; readonly codePoint: number; readonly next: number }
  | { readonly ok: false; readonly reason: string };

/** Go's getEsc: one possibly escaped class character, which must not end the pattern. */
function classChar(pattern: string, start: number): CharParse {
  let i = start;
  const c = pattern[i];
  if (c === undefined) return { ok: false, reason: 'unclosed character class' };
  if (c === ']') return { ok: false, reason: "empty character class or unescaped ']' in a range" };
  if (c === '-') return { ok: false, reason: "unescaped '-' in a character class" };
  if (c === '\\') {
    i += 1;
    if (i >= pattern.length) return { ok: false, reason: 'unclosed character class' };
  }
  const ch = charAt(pattern, i);
  i += ch.length;
  if (i >= pattern.length) return { ok: false, reason: 'unclosed character class' };
  return { ok: true, codePoint: ch.codePointAt(0) ?? 0, next: i };
}

/** The whole code point at i (one or two UTF-16 units). */
function charAt(s: string, i: number): string {
  const code = s.codePointAt(i) ?? 0;
  return String.fromCodePoint(code);
}
