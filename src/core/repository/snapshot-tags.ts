/**
 * Adds tags to a snapshot the way `restic tag --add` does: a new snapshot file with the tags
 * and `original` set (to the first snapshot's id), written before the old file is removed, so a
 * crash leaves at worst both. The caller holds an exclusive lock.
 */
import type { SnapshotId } from '../ids.ts';
import type { Repository } from './repository.ts';

export async function addSnapshotTags(repo: Repository, id: SnapshotId, tags: readonly string[]): Promise<SnapshotId> {
  const sn = await repo.loadSnapshot(id);
  const have = new Set(sn.tags ?? []);
  if (tags.every((t) => have.has(t))) return id;
  const next = { ...sn, tags: [...(sn.tags ?? []), ...tags.filter((t) => !have.has(t))], original: sn.original ?? id };
  const newId = await repo.saveSnapshot(next);
  await repo.backend.remove('snapshot', id);
  return newId;
}
