/**
 * Compares a restored tree with its source, outside the clock: a fast restore that is wrong must
 * not look like a win. Every entry's type must match; regular files must match in size, mode,
 * mtime (to the second) and content.
 */
import { promises as fsp, type Stats } from 'node:fs';
import * as path from 'node:path';

export interface RestoreVerdict {
  readonly files: number;
  readonly bytes: number;
  readonly problemCount: number;
  /** The first few differences, as "path: what". */
  readonly problems: readonly string[];
}

const SHOW = 10;
const CHUNK = 1024 * 1024;

export async function verifyRestore(source: string, restored: string): Promise<RestoreVerdict> {
  let files = 0;
  let bytes = 0;
  let problemCount = 0;
  const problems: string[] = [];
  const problem = (rel: string, what: string): void => {
    problemCount++;
    if (problems.length < SHOW) problems.push(`${rel || '.'}: ${what}`);
  };
  const a = Buffer.allocUnsafe(CHUNK);
  const b = Buffer.allocUnsafe(CHUNK);

  const sameContent = async (p: string, q: string, size: number): Promise<boolean> => {
    const [fa, fb] = await Promise.all([fsp.open(p), fsp.open(q)]);
    try {
      for (let off = 0; off < size; off += CHUNK) {
        const n = Math.min(CHUNK, size - off);
        const [ra, rb] = await Promise.all([fa.read(a, 0, n, off), fb.read(b, 0, n, off)]);
        if (ra.bytesRead !== n || rb.bytesRead !== n || !a.subarray(0, n).equals(b.subarray(0, n))) return false;
      }
      return true;
    } finally {
      await Promise.all([fa.close(), fb.close()]);
    }
  };

  const walk = async (rel: string): Promise<void> => {
    const names = new Set([...(await readdirOrEmpty(path.join(source, rel))), ...(await readdirOrEmpty(path.join(restored, rel)))]);
    for (const name of [...names].sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const [s, t] = await Promise.all([lstatOrUndefined(path.join(source, r)), lstatOrUndefined(path.join(restored, r))]);
      if (!s) { problem(r, 'not in the source'); continue; }
      if (!t) { problem(r, 'missing'); continue; }
      if (kind(s) !== kind(t)) { problem(r, `is a ${kind(t)}, expected a ${kind(s)}`); continue; }
      if (s.isDirectory()) { await walk(r); continue; }
      if (!s.isFile()) continue;
      files++;
      bytes += s.size;
      if (s.size !== t.size) problem(r, `size ${t.size}, expected ${s.size}`);
      else if ((s.mode & 0o7777) !== (t.mode & 0o7777)) problem(r, `mode ${(t.mode & 0o7777).toString(8)}, expected ${(s.mode & 0o7777).toString(8)}`);
      else if (Math.floor(s.mtimeMs / 1000) !== Math.floor(t.mtimeMs / 1000)) problem(r, `mtime ${t.mtime.toISOString()}, expected ${s.mtime.toISOString()}`);
      else if (!(await sameContent(path.join(source, r), path.join(restored, r), s.size))) problem(r, 'content differs');
    }
  };
  await walk('');
  return { files, bytes, problemCount, problems };
}

function kind(s: Stats): string {
  return s.isFile() ? 'file' : s.isDirectory() ? 'directory' : s.isSymbolicLink() ? 'symlink' : 'special file';
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch {
    return [];
  }
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fsp.lstat(p);
  } catch {
    return undefined;
  }
}
