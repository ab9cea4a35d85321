/**
 * Environment expansion for exclude patterns, as restic 0.14 applies it to every line of an
 * `--exclude-file`: Go's `os.Expand` (Go 1.19 rules) with a mapping where `$$` yields a literal
 * `$` and an unset variable yields the empty string.
 *
 * - `$NAME` takes the longest run of [A-Za-z0-9_]; `${NAME}` takes everything up to '}'.
 * - `$` followed by one of `*#$@!?-` or a digit is a one-character name (`$1`, `${1}`).
 * - `$` at the very end, or followed by anything else, stays a literal `$`.
 * - `${}` and an unterminated `${` are eaten without output.
 */

/** Environment variables, passed in explicitly: the engine never reads process.env. */
export type Env = Readonly<Record<string, string | undefined>>;

export function expandEnv(text: string, env: Env): string {
  if (!text.includes('$')) return text;
  let out = '';
  let copied = 0;
  for (let j = 0; j < text.length; j++) {
    if (text[j] !== '$' || j + 1 >= text.length) continue;
    out += text.slice(copied, j);
    const { name, width } = shellName(text, j + 1);
    if (name === '' && width === 0) out += '$';
    else if (name !== '') out += lookup(name, env);
    j += width;
    copied = j + 1;
  }
  return out + text.slice(copied);
}

function lookup(name: string, env: Env): string {
  if (name === '$') return '$';
  return Object.hasOwn(env, name) ? (env[name] ?? '') : '';
}

const SPECIAL = '*#$@!?-0123456789';

function isNameChar(c: string | undefined): boolean {
  return c !== undefined && /^[A-Za-z0-9_]$/.test(c);
}

/** The variable name starting at `start` (just after '$') and how many characters it spans. */
function shellName(s: string, start: number): { name: string; width: number } {
  const first = s[start] ?? '';
  if (first === '{') {
    const second = s[start + 1];
    if (second !== undefined && SPECIAL.includes(second) && s[start + 2] === '}') {
      return { name: second, width: 3 };
    }
    const close = s.indexOf('}', start + 1);
    if (close === -1) return { name: '', width: 1 };
    if (close === start + 1) return { name: '', width: 2 };
    return { name: s.slice(start + 1, close), width: close - start + 1 };
  }
  if (first !== '' && SPECIAL.includes(first)) return { name: first, width: 1 };
  let end = start;
  while (isNameChar(s[end])) end += 1;
  return { name: s.slice(start, end), width: end - start };
}
