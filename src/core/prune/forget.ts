/**
 * forget: deletes snapshot files (restic 0.14 `forget`; restic-format.md §9.2). Only the
 * snapshot documents go; their data stays until prune finds it unused. The caller holds an
 * exclusive lock and has decided which ids to remove (planForget, or ids an operator named).
 * A snapshot that is already gone is reported, not an error.
 */
import { LifeboatError } from '../errors.ts';
import { parseId, type SnapshotId } from '../ids.ts';
import type { Repository } from '../repository/repository.ts';

export type ForgetEvent = { readonly type: 'removed'; readonly id: SnapshotId };

export interface ForgetOptions {
  readonly onEvent?: (e: ForgetEvent) => void;
  readonly signal?: AbortSignal;
}

export interface ForgetResult {
  readonly removed: readonly SnapshotId[];
  /** Ids that had no snapshot file (already forgotten). */
  readonly missing: readonly SnapshotId[];
}

export async function forget(repo: Repository, ids: readonly string[], opts: ForgetOptions = {}): Promise<ForgetResult> {
  // Full ids only: a prefix must be resolved (and shown to the operator) before anything is deleted.
  const wanted = [...new Set(ids.map((id) => parseId(id, 'snapshot id') as SnapshotId))];
  const present = new Set(await repo.listIds('snapshot'));
  const removed: SnapshotId[] = [];
  const missing: SnapshotId[] = [];
  for (const id of wanted) {
    if (opts.signal?.aborted) throw new LifeboatError('INTERRUPTED', `Cannot finish forgetting snapshots in ${repo.location}: interrupted after ${removed.length} of ${wanted.length}`);
    if (!present.has(id)) {
      missing.push(id);
      continue;
    }
    await repo.backend.remove('snapshot', id);
    removed.push(id);
    opts.onEvent?.({ type: 'removed', id });
  }
  return { removed, missing };
}
