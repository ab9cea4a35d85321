/**
 * A snapshot's files as the drills see them: listed from its trees in one walk, and restored
 * one at a time with every data blob checked against its id (Repository.loadBlob verifies the
 * SHA-256) and the total against the node's size.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { Repository } from '../../core/repository/repository.ts';
import { decodeTree, type TreeNode } from '../../core/format/tree.ts';
import type { Id, TreeId } from '../../core/ids.ts';

export interface FileEntry {
  /** Absolute inside the snapshot, '/'-separated. */
  readonly path: string;
  readonly node: TreeNode;
}

export interface DrillFinding {
  readonly path: string;
  readonly problem: string;
}

/** Appends every regular file below `tree` to `out`; an unreadable directory is a finding. */
export async function listFiles(repo: Repository, tree: TreeId, dir: string, out: FileEntry[], findings: DrillFinding[]): Promise<void> {
  let nodes: TreeNode[];
  try {
    nodes = decodeTree(await repo.loadBlob('tree', tree));
  } catch (e) {
    findings.push({ path: dir, problem: `directory cannot be read from the backup: ${(e as Error).message}` });
    return;
  }
  for (const n of nodes) {
    const p = (dir === '/' ? '/' : dir + '/') + n.name.toString('utf8');
    if (n.type === 'file') out.push({ path: p, node: n });
    else if (n.type === 'dir' && n.subtree) await listFiles(repo, n.subtree as TreeId, p, out, findings);
  }
}

/** Restores one file's content to `dest` (mode 0600), verifying every blob; returns sha256 and size. */
export async function restoreFile(repo: Repository, node: TreeNode, dest: string): Promise<{ sha: string; size: number }> {
  const h = createHash('sha256');
  const fh = await fsp.open(dest, 'w', 0o600);
  let size = 0;
  try {
    for (const id of node.content ?? []) {
      const data = await repo.loadBlob('data', id as Id);
      h.update(data);
      await fh.write(data);
      size += data.length;
    }
  } finally {
    await fh.close();
  }
  if (BigInt(size) !== node.size) throw new Error(`restored ${size} bytes, the snapshot says ${node.size}`);
  return { sha: h.digest('hex'), size };
}

/**
 * Restores `entry` to `dest` with `restore`, hands the restored file to `use` and removes it
 * again. A restore that fails is a finding and `use` is not called (the result is undefined).
 */
export async function withRestored<F extends { readonly path: string }, T>(entry: F, dest: string, o: { readonly restore: (entry: F, dest: string) => Promise<unknown>; readonly findings: DrillFinding[] }, use: (dest: string) => Promise<T>): Promise<T | undefined> {
  try {
    try {
      await o.restore(entry, dest);
    } catch (e) {
      o.findings.push({ path: entry.path, problem: `cannot be restored: ${(e as Error).message}` });
      return undefined;
    }
    return await use(dest);
  } finally {
    await fsp.rm(dest, { force: true });
  }
}
