/**
 * realpath for paths that may not exist yet (a repository root before enroll): the deepest
 * existing ancestor is resolved (symlinks followed, so a link on the drive that points back to the
 * root disk is seen for what it is) and the missing tail is appended as written.
 */
import { realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { LifeboatError } from '../../core/errors.ts';

export interface ResolvedPath {
  /** The resolved absolute path. */
  readonly path: string;
  /** True when the whole path exists (nothing was appended unresolved). */
  readonly exists: boolean;
}

export async function resolvePath(path: string): Promise<ResolvedPath> {
  const abs = resolve('/', path);
  const tail: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      const real = await realpath(cur);
      return { path: tail.length === 0 ? real : join(real, ...tail.reverse()), exists: tail.length === 0 };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        throw new LifeboatError('IO', `Cannot resolve ${path}: ${(e as Error).message}`, { cause: e });
      }
      if (cur === '/') return { path: abs, exists: false };
      tail.push(basename(cur));
      cur = dirname(cur);
    }
  }
}

/** True when `inner` is `outer` or lies beneath it (both absolute and normalised). */
export function isInside(inner: string, outer: string): boolean {
  return outer === '/' || inner === outer || inner.startsWith(outer + '/');
}
