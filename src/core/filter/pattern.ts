/**
 * restic 0.14 path patterns (`backup --exclude`, `restore --include/--exclude`), compiled once.
 *
 * A pattern is Go-`filepath.Clean`ed (so a trailing '/' is dropped: `/mnt/media/tmp/` also
 * matches a *file* named tmp), split on '/', and each component is a Go glob (glob.ts); a
 * component that is exactly `**` stands for any number of components, including none.
 * - An absolute pattern must match the leading components of the path; anything below it
 *   matches too, so excluding a directory excludes its contents.
 * - A relative pattern may match any run of consecutive components (never the root '/'), so
 *   `*.tmp` matches at any depth, while the sample's `.cache` line (a `*` component, then
 *   `.cache`) needs at least one component above `.cache`: it misses `/.cache` itself.
 * - `!pat` negates: a later negated pattern that matches un-selects what earlier ones selected.
 *   Patterns are evaluated in order; the last word wins.
 * - The empty pattern is ignored.
 */
import { LifeboatError } from '../errors.ts';
import { expandEnv, type Env } from './expand-env.ts';
import { compileGlob, globProblem, type ComponentTest } from './glob.ts';

/** What `ListWithChild` answers for one path during restore with `--include`. */
export interface IncludeResult {
  /** The path itself is selected. */
  readonly match: boolean;
  /** Something below the path may be selected, so a directory is worth descending into. */
  readonly childMayMatch: boolean;
}

export interface Matcher {
  /** The patterns in effect, after expansion, empty ones dropped, in order. */
  readonly patterns: readonly string[];
  /**
   * restic's `filter.List`: whether an absolute, clean path is excluded. Like restic, it judges
   * one path; a walker must not descend into an excluded directory (a later `!pattern` could
   * otherwise revive its children, which restic never visits).
   */
  excludes(path: string): boolean;
  /**
   * restic's `filter.ListWithChild` for restore includes. The restorer restores the node when
   * `match`, and descends into a directory when `childMayMatch`. With no patterns both are
   * false; restic then installs no include filter at all, which is the caller's call.
   */
  includeMatch(path: string): IncludeResult;
}

/** Stands for a `**` component. */
const ANY_DEPTH = null;
type Part = ComponentTest | typeof ANY_DEPTH;

interface Compiled {
  readonly negated: boolean;
  readonly absolute: boolean;
  /** For absolute patterns parts[0] tests for the root marker "/". */
  readonly parts: readonly Part[];
  /** Index of the first `**`, or parts.length. */
  readonly firstAnyDepth: number;
}

/**
 * Why restic would reject this pattern ("invalid pattern(s) provided"), or undefined. The
 * pattern is taken as written: expand it first if it came from an exclude file.
 */
export function patternProblem(pattern: string): string | undefined {
  for (const component of components(pattern)) {
    if (component === '**' || component === '') continue;
    const problem = globProblem(component);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * Compiles patterns in restic's order. With `env`, each pattern is first expanded the way
 * restic expands exclude-file lines (`readExcludeFile` already did that: do not pass `env` for
 * its output, or `$$` would be expanded twice). Without `env`, patterns are literal, as
 * restic's `--exclude` flags are. Throws USAGE listing every invalid pattern.
 */
export function compilePatterns(list: readonly string[], env?: Env): Matcher {
  const patterns = list.map((p) => (env === undefined ? p : expandEnv(p, env))).filter((p) => p !== '');
  const problems = patterns.flatMap((p) => {
    const problem = patternProblem(p);
    return problem === undefined ? [] : [`"${p}" (${problem})`];
  });
  if (problems.length > 0) {
    throw new LifeboatError('USAGE', `Cannot use patterns: invalid pattern(s) ${problems.join(', ')}`, {
      hint: "escape a literal '[', ']', '*', '?' or '\\' with a backslash",
    });
  }
  return new PatternMatcher(patterns, patterns.map(compileOne));
}

class PatternMatcher implements Matcher {
  readonly patterns: readonly string[];
  readonly #compiled: readonly Compiled[];
  readonly #hasNegated: boolean;

  constructor(patterns: readonly string[], compiled: readonly Compiled[]) {
    this.patterns = patterns;
    this.#compiled = compiled;
    this.#hasNegated = compiled.some((c) => c.negated);
  }

  excludes(path: string): boolean {
    const strs = splitSubject(path);
    let matched = false;
    for (const pat of this.#compiled) {
      if (pat.negated) {
        if (matched && matchesPath(pat, strs)) matched = false;
      } else if (!matched && matchesPath(pat, strs)) {
        matched = true;
        if (!this.#hasNegated) return true;
      }
    }
    return matched;
  }

  includeMatch(path: string): IncludeResult {
    const strs = splitSubject(path);
    let match = false;
    let childMayMatch = false;
    for (const pat of this.#compiled) {
      if (pat.negated) {
        // restic clears both flags on a match of the negated pattern itself (not its child test).
        if ((match || childMayMatch) && matchesPath(pat, strs)) {
          match = false;
          childMayMatch = false;
        }
        continue;
      }
      if (!match) match = matchesPath(pat, strs);
      if (!childMayMatch) childMayMatch = childMayMatchPath(pat, strs);
      if (match && childMayMatch && !this.#hasNegated) break;
    }
    return { match, childMayMatch };
  }
}

function compileOne(pattern: string): Compiled {
  const negated = pattern.startsWith('!');
  const comps = components(pattern);
  const absolute = comps[0] === '/';
  const parts: Part[] = comps.map((c, i) => {
    if (i === 0 && absolute) return (name: string) => name === '/';
    // After Clean an empty component only arises from the pattern "/" (["/", ""]); restic
    // reads it as `**`, making "/" match every absolute path. Mirror that.
    if (c === '**' || c === '') return ANY_DEPTH;
    return compileGlob(c);
  });
  const first = parts.indexOf(ANY_DEPTH);
  return { negated, absolute, parts, firstAnyDepth: first === -1 ? parts.length : first };
}

/** Pattern components: "!" dropped, Go-Cleaned, split on '/', root marked as "/". */
function components(pattern: string): string[] {
  const body = pattern.startsWith('!') ? pattern.slice(1) : pattern;
  return splitSubject(cleanPath(body));
}

/** Splits a path the way restic does (without cleaning it): "/a/b" -> ["/", "a", "b"]. */
function splitSubject(path: string): string[] {
  if (path === '') throw new LifeboatError('USAGE', 'Cannot match patterns against an empty path');
  const parts = path.split('/');
  if (parts[0] === '') parts[0] = '/';
  return parts;
}

/** Go's path.Clean: collapse '//', drop '.', resolve '..' lexically, no trailing '/'. */
export function cleanPath(path: string): string {
  if (path === '') return '.';
  const rooted = path.startsWith('/');
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(seg);
  }
  const joined = out.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/**
 * restic's `match`: an absolute pattern must match a prefix of the path; a relative one any
 * run of components after the root marker. Either way the pattern is a sequence matched with
 * `**` as a wildcard over components, so the classic greedy wildcard walk with backtracking to
 * the last `**` decides it in O(path * pattern) at worst.
 */
function matchesPath(pat: Compiled, strs: readonly string[]): boolean {
  const parts = pat.parts;
  const start = !pat.absolute && strs[0] === '/' ? 1 : 0;
  let pi = 0;
  let si = start;
  // Where to resume after a mismatch: the pattern index just past the last `**`, and the path
  // index that `**` would swallow next. A relative pattern floats: it has an implicit leading `**`.
  let resumePi = pat.absolute ? -1 : 0;
  let resumeSi = start;
  for (;;) {
    if (pi === parts.length) return true; // whatever remains of the path lies below a match
    const part = parts[pi];
    if (part === ANY_DEPTH) {
      pi += 1;
      resumePi = pi;
      resumeSi = si;
      continue;
    }
    if (si < strs.length && part !== undefined && part(strs[si] ?? '')) {
      pi += 1;
      si += 1;
      continue;
    }
    if (resumePi < 0 || resumeSi >= strs.length) return false;
    resumeSi += 1;
    si = resumeSi;
    pi = resumePi;
  }
}

/**
 * restic's `childMatch`: relative patterns may always match further down. An absolute one may
 * if the path's components agree with the pattern's leading ones, compared up to the shorter
 * of the two and never past the first `**`.
 */
function childMayMatchPath(pat: Compiled, strs: readonly string[]): boolean {
  if (!pat.absolute) return true;
  const n = Math.min(strs.length, pat.parts.length, pat.firstAnyDepth);
  for (let i = 0; i < n; i++) {
    const test = pat.parts[i];
    if (test === undefined || test === ANY_DEPTH || !test(strs[i] ?? '')) return false;
  }
  return true;
}
