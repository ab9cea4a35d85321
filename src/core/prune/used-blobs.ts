/**
 * The blobs still referenced by snapshots (restic's FindUsedBlobs): every tree reachable from a
 * snapshot's root tree, and every data blob named by a file node in them. Trees are loaded
 * through the index and verified against their ids; a tree that cannot be loaded stops the
 * walk with an error, because deciding what to delete without knowing what a snapshot needs
 * would lose data.
 */
import { LifeboatError } from '../errors.ts';
import type { Id, SnapshotId } from '../ids.ts';
import type { BlobType } from '../format/pack.ts';
import { decodeTree } from '../format/tree.ts';
import type { Repository } from '../repository/repository.ts';

/** A blob handle as one string: "d" or "t" followed by the 64-hex id. */
export type BlobKey = string;
export const blobKey = (type: BlobType, id: string): BlobKey => (type === 'tree' ? 't' : 'd') + id;
export const keyType = (k: BlobKey): BlobType => (k[0] === 't' ? 'tree' : 'data');
export const keyId = (k: BlobKey): Id => k.slice(1) as Id;

const PARALLEL_TREES = 8;

export interface UsedBlobsOptions {
  readonly signal?: AbortSignal | undefined;
  readonly onTree?: (() => void) | undefined;
}

export async function findUsedBlobs(repo: Repository, roots: readonly { id: SnapshotId; tree: Id }[], opts: UsedBlobsOptions = {}): Promise<Set<BlobKey>> {
  const used = new Set<BlobKey>();
  let frontier: { tree: Id; snapshot: SnapshotId }[] = [];
  for (const r of roots) {
    const k = blobKey('tree', r.tree);
    if (!used.has(k)) {
      used.add(k);
      frontier.push({ tree: r.tree, snapshot: r.id });
    }
  }
  // Breadth first, a few trees in flight at a time: each level is known before it is loaded.
  while (frontier.length > 0) {
    const level = frontier;
    const next: typeof frontier = [];
    let i = 0;
    const runner = async (): Promise<void> => {
      while (i < level.length) {
        const job = level[i++]!;
        if (opts.signal?.aborted) throw new LifeboatError('INTERRUPTED', 'Cannot finish finding used blobs: interrupted');
        let nodes;
        try {
          nodes = decodeTree(await repo.loadBlob('tree', job.tree));
        } catch (e) {
          throw new LifeboatError('INTEGRITY', `Cannot find used blobs in ${repo.location}: tree ${job.tree.slice(0, 8)} of snapshot ${job.snapshot.slice(0, 8)} cannot be loaded: ${(e as Error).message}`, {
            cause: e,
            hint: 'run `lifeboat repo check`; prune refuses to run while a snapshot cannot be read completely',
          });
        }
        for (const n of nodes) {
          if (n.type === 'file') {
            for (const b of n.content ?? []) used.add(blobKey('data', b));
          } else if (n.type === 'dir' && n.subtree) {
            const k = blobKey('tree', n.subtree);
            if (!used.has(k)) {
              used.add(k);
              next.push({ tree: n.subtree as Id, snapshot: job.snapshot });
            }
          }
        }
        opts.onTree?.();
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_TREES, level.length) }, runner));
    frontier = next;
  }
  return used;
}
