/**
 * `restore --path P` with a P the snapshot does not hold must fail and say what is there
 * instead: the longest ancestor of P that exists, and a name in it close to the missing one
 * (a typo, "invoice" for "invoices"). Repositories and mirrors list directories differently,
 * so the listing comes in as a function; the walk is the same for both.
 */
import * as path from 'node:path';
import { LifeboatError } from '../../core/errors.ts';
import { closest } from '../../config/index.ts';

/** The names in directory `dir`, or undefined when `dir` is not a directory there. */
export type ListDir = (dir: string) => Promise<readonly string[] | undefined>;

export interface MissingPath {
  readonly path: string;
  /** The longest ancestor of `path` that exists. */
  readonly nearest: string;
  /** A path next to the missing component whose name is close to it. */
  readonly similar?: string | undefined;
}

/** Undefined when `wanted` exists below `root` (itself an existing directory), else where the walk stopped. */
export async function findMissingPath(wanted: string, root: string, list: ListDir): Promise<MissingPath | undefined> {
  const rel = path.relative(root, wanted);
  let cur = root;
  for (const part of rel === '' ? [] : rel.split(path.sep)) {
    const names = await list(cur);
    if (names?.includes(part)) {
      cur = path.join(cur, part);
      continue;
    }
    const near = names ? closest(part, names) : undefined;
    return { path: wanted, nearest: cur, ...(near !== undefined ? { similar: path.join(cur, near) } : {}) };
  }
  return undefined;
}

/** NOT_FOUND naming the path, where it was looked for, and what is nearest. */
export function missingPathError(m: MissingPath, where: string): LifeboatError {
  const nearest = `the nearest path there is ${m.nearest}`;
  const hint = m.similar !== undefined ? `did you mean ${m.similar}? (${nearest})` : nearest;
  return new LifeboatError('NOT_FOUND', `Cannot restore ${m.path}: it is not in ${where}`, { hint });
}
