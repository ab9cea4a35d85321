/**
 * Reads an exclude file the way restic 0.14 reads `--exclude-file`: a UTF-8 BOM is dropped and
 * UTF-16 with a BOM is decoded; each line is trimmed (Go's notion of white space), blank lines
 * and lines starting with '#' are skipped, and `$VAR` / `${VAR}` are expanded from `env` with
 * `$$` for a literal '$' (expand-env.ts). There are no inline comments and no escapes beyond
 * the pattern syntax itself.
 */
import { readFile } from 'node:fs/promises';
import { LifeboatError, fromSystemError } from '../errors.ts';
import type { Env } from './expand-env.ts';
import { expandEnv } from './expand-env.ts';
import { patternProblem } from './pattern.ts';

/** Go's unicode.IsSpace set, which strings.TrimSpace strips (JS trim differs at the edges). */
const GO_SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const TRIM = new RegExp(`^[${GO_SPACE}]+|[${GO_SPACE}]+$`, 'g');

/**
 * Returns the file's patterns, expanded, in file order, ready for `compilePatterns(list)`
 * (without `env`: expanding twice would turn `$$` into a variable). Throws NOT_FOUND when the
 * file is missing and USAGE naming `path:line` for every invalid pattern.
 */
export async function readExcludeFile(path: string, env: Env): Promise<string[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT') {
      throw new LifeboatError('NOT_FOUND', `Cannot read exclude file ${path}: no such file`, {
        cause: err,
        hint: 'check the path given for the exclude file',
      });
    }
    throw fromSystemError(err, `read exclude file ${path}`);
  }
  return parseExcludeLines(decodeText(bytes), env, path);
}

/** The line-level half of readExcludeFile, for text already in hand; `source` names it in errors. */
export function parseExcludeLines(text: string, env: Env, source: string): string[] {
  const patterns: string[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(TRIM, '');
    if (line === '' || line.startsWith('#')) return;
    const pattern = expandEnv(line, env);
    if (pattern === '') return; // restic ignores empty patterns, e.g. a lone unset $VAR
    const problem = patternProblem(pattern);
    if (problem !== undefined) {
      const shown = pattern === line ? `"${line}"` : `"${line}" (expanded to "${pattern}")`;
      problems.push(`${source}:${index + 1}: invalid pattern ${shown}: ${problem}`);
      return;
    }
    patterns.push(pattern);
  });
  if (problems.length > 0) {
    throw new LifeboatError('USAGE', `Cannot use exclude file ${source}: ${problems.join('; ')}`, {
      hint: "escape a literal '[', ']', '*', '?' or '\\' with a backslash",
    });
  }
  return patterns;
}

/** restic's textfile.Decode: strip a UTF-8 BOM, decode UTF-16 if it carries a BOM. */
function decodeText(bytes: Buffer): string {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return bytes.subarray(3).toString('utf8');
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    const body = bytes.subarray(2);
    const even = Buffer.from(body.subarray(0, body.length - (body.length % 2))).swap16();
    return new TextDecoder('utf-16le').decode(even) + (body.length % 2 === 1 ? '\ufffd' : '');
  }
  return bytes.toString('utf8');
}
