/**
 * File helpers shared by the end-to-end suites (test/coverage, test/operator): writing a tree of
 * files and deterministic incompressible content.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/** Writes files (relative path -> content) under `dir`, creating directories. */
export async function writeTree(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(dir, rel);
    await fsp.mkdir(path.dirname(p), { recursive: true });
    await fsp.writeFile(p, content);
  }
}

/** Deterministic bytes from a seed (xorshift32), for content that must not compress or dedup away. */
export function seededBytes(seed: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}
