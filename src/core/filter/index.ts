/**
 * filter: restic 0.14's path patterns, for `backup --exclude`/`--exclude-file` and
 * `restore --include`.
 *
 * Job: decide from a path alone whether backup skips it, and whether restore selects it or
 * should descend into it. Algorithm: each pattern is Cleaned, split on '/', and compiled once
 * into per-component Go globs plus `**` wildcards; a path is split once and walked against each
 * pattern in order, negated (`!`) patterns un-selecting what earlier ones selected.
 *
 * Invariants:
 * - Semantics are restic 0.14's, byte for byte where JavaScript strings allow; the oracle test
 *   (restic-oracle.test.ts) holds this against the real binary.
 * - A pattern that matches a directory matches everything below it; walkers still must not
 *   descend into an excluded directory, as restic does not.
 * - Nothing here reads process.env or the clock; only readExcludeFile touches the filesystem.
 * - Invalid patterns are refused when compiled (USAGE), never at match time.
 */
export { compilePatterns, patternProblem } from './pattern.ts';
export type { Matcher, IncludeResult } from './pattern.ts';
export { readExcludeFile, parseExcludeLines } from './exclude-file.ts';
export { expandEnv } from './expand-env.ts';
export type { Env } from './expand-env.ts';
