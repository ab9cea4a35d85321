/**
 * executePrune: carries out a PrunePlan (restic 0.14 doPrune; restic-format.md §9.2). The caller
 * holds an exclusive lock, taken before planPrune and kept until this returns.
 *
 * Order, chosen so that a kill at any instant leaves a repository restic's check accepts and
 * in which every blob a snapshot references is still indexed in a pack that exists:
 *   (a) repack: read each repacked pack's needed blobs, verify each (MAC, zstd, sha256; another
 *       copy is tried if one is damaged), store them again through the blob saver, flush: new
 *       packs, then an index file naming them. Until (b) the old packs and index stay valid.
 *   (b) write a fresh full index of every kept and new pack; `supersedes` lists every old
 *       index file. Old and new index files now overlap, which is legal.
 *   (c) delete the old index files. Each deletion leaves every kept pack indexed by (b).
 *   (d) delete the removed, repacked and unindexed packs: no index file names them any more.
 * A kill leaves at worst unindexed packs (reported by check as additional files, deleted by
 * the next prune), duplicate index entries, and our lock file (stale once our PID is gone).
 */
import { LifeboatError, integrityError } from '../errors.ts';
import type { IndexId, PackId } from '../ids.ts';
import { openBlob, type PackedBlob } from '../format/pack.ts';
import type { IndexPack } from '../format/index-file.ts';
import type { BlobLocation } from '../repository/master-index.ts';
import type { Repository } from '../repository/repository.ts';
import { blobKey, keyId, keyType, type BlobKey } from './used-blobs.ts';
import type { PrunePlan } from './plan-prune.ts';

/** restic 0.14 closes an index file at 50,000 blobs. */
const INDEX_MAX_BLOBS = 50_000;

export type PrunePhase = 'repack' | 'write-index' | 'delete-index' | 'delete-packs';

export type PruneEvent =
  | { readonly type: 'phase'; readonly phase: PrunePhase }
  | { readonly type: 'repacked'; readonly pack: PackId; readonly done: number; readonly total: number; readonly blobs: number }
  | { readonly type: 'index-written'; readonly id: IndexId; readonly packs: number }
  | { readonly type: 'deleted'; readonly file: 'index' | 'pack'; readonly id: string };

export interface ExecutePruneOptions {
  readonly onEvent?: (e: PruneEvent) => void;
  readonly signal?: AbortSignal;
}

export interface PruneResult {
  readonly blobsCopied: number;
  readonly packsWritten: number;
  readonly indexWritten: readonly IndexId[];
  readonly indexDeleted: number;
  readonly packsDeleted: number;
  readonly bytesDeleted: number;
}

const NOTHING: PruneResult = { blobsCopied: 0, packsWritten: 0, indexWritten: [], indexDeleted: 0, packsDeleted: 0, bytesDeleted: 0 };

function sameSet(a: Iterable<string>, b: Iterable<string>): boolean {
  const x = new Set(a);
  const y = new Set(b);
  if (x.size !== y.size) return false;
  for (const v of x) if (!y.has(v)) return false;
  return true;
}

function stale(where: string, what: string): LifeboatError {
  return new LifeboatError('USAGE', `Cannot prune ${where}: the ${what} changed since the plan was made`, {
    hint: 'plan and execute under the same exclusive lock; plan again',
  });
}

export async function executePrune(repo: Repository, plan: PrunePlan, opts: ExecutePruneOptions = {}): Promise<PruneResult> {
  const where = repo.location;
  const emit = opts.onEvent ?? (() => {});
  const checkAbort = (): void => {
    if (opts.signal?.aborted) throw new LifeboatError('INTERRUPTED', `Cannot finish pruning ${where}: interrupted; the repository is valid, run prune again to finish`);
  };
  if (plan.location !== where) throw new LifeboatError('USAGE', `Cannot prune ${where}: the plan was made for ${plan.location}`);
  if (plan.nothingToDo) return NOTHING;

  // The plan must describe the repository as it is now: same index files, same snapshots, and
  // an in-memory index holding exactly the packs the plan decided on.
  if (!sameSet(await repo.listIds('index'), plan.indexFiles)) throw stale(where, 'set of index files');
  if (!sameSet(await repo.listIds('snapshot'), plan.snapshots)) throw stale(where, 'set of snapshots');
  const planned = [...plan.keep, ...plan.repack, ...plan.remove].map((d) => d.id as string).concat(plan.missing.map((m) => m.id));
  if (!sameSet([...repo.index.packs()].map((p) => p.id), planned)) throw stale(where, 'index');
  checkAbort();

  const drop = new Set<string>([...plan.repack, ...plan.remove, ...plan.missing].map((d) => d.id));
  const repackPacks = plan.repack.map((d) => ({ id: d.id, blobs: repo.index.pack(d.id)!.blobs }));
  const copy = new Set<BlobKey>(plan.copy.map((b) => blobKey(b.type, b.id)));
  const alternates = new Map<BlobKey, BlobLocation[]>();
  for (const k of copy) alternates.set(k, repo.index.lookupAll(keyType(k), keyId(k)));
  const startPacks = new Set([...repo.index.packs()].map((p) => p.id as string));

  try {
    // From here the in-memory index knows only the packs that stay, so the saver stores the
    // blobs of repacked packs anew instead of calling them known.
    repo.index.removePacks(drop);

    // (a) repack
    let blobsCopied = 0;
    let packsWritten = 0;
    let saverIndexes: IndexId[] = [];
    if (copy.size > 0) {
      emit({ type: 'phase', phase: 'repack' });
      const saver = repo.blobSaver();
      const before = saver.indexesWritten.length;
      let done = 0;
      for (const p of repackPacks) {
        checkAbort();
        const needed = p.blobs.filter((b) => copy.has(blobKey(b.type, b.id)));
        if (needed.length > 0) {
          const start = needed[0]!.offset;
          const end = Math.max(...needed.map((b) => b.offset + b.length));
          const buf = await repo.backend.load('data', p.id, { offset: start, length: end - start });
          for (const b of needed) {
            const k = blobKey(b.type, b.id);
            if (!copy.has(k)) continue; // a second copy of the same blob in this pack
            let plain: Buffer;
            try {
              plain = openBlob(repo.key, buf.subarray(b.offset - start, b.offset - start + b.length), b);
            } catch (e) {
              plain = await loadElsewhere(repo, b, p.id, alternates.get(k) ?? [], e);
            }
            copy.delete(k);
            await saver.waitForCapacity();
            // The saver owns (and transfers) the buffer it is given, so hand it a copy.
            saver.save(b.type, b.id, new Uint8Array(plain)).catch(() => {});
            blobsCopied++;
          }
        }
        emit({ type: 'repacked', pack: p.id, done: ++done, total: repackPacks.length, blobs: needed.length });
      }
      if (copy.size > 0) throw new LifeboatError('INTEGRITY', `Cannot prune ${where}: ${copy.size} blob(s) to keep were not found in the packs being repacked; nothing was deleted`);
      await saver.flush();
      for (const p of repo.index.packs()) if (!startPacks.has(p.id)) packsWritten++;
      saverIndexes = saver.indexesWritten.slice(before) as IndexId[];
    }
    checkAbort();

    // (b) a fresh full index of every pack that stays.
    emit({ type: 'phase', phase: 'write-index' });
    const supersedes = [...plan.indexFiles, ...saverIndexes];
    const keepIds = new Set<string>(plan.keep.map((d) => d.id));
    const indexWritten: IndexId[] = [];
    let chunk: IndexPack[] = [];
    let chunkBlobs = 0;
    const writeChunk = async (): Promise<void> => {
      const id = (await repo.saveIndexFile(chunk, supersedes)) as IndexId;
      indexWritten.push(id);
      emit({ type: 'index-written', id, packs: chunk.length });
      chunk = [];
      chunkBlobs = 0;
    };
    for (const p of repo.index.packs()) {
      if (!keepIds.has(p.id) && startPacks.has(p.id)) throw new LifeboatError('INTEGRITY', `Cannot prune ${where}: pack ${p.id.slice(0, 8)} would stay indexed against the plan; nothing was deleted`);
      chunk.push({ id: p.id, blobs: p.blobs });
      chunkBlobs += p.blobs.length;
      if (chunkBlobs >= INDEX_MAX_BLOBS) await writeChunk();
    }
    if (chunk.length > 0) await writeChunk();
    checkAbort();

    // (c) the old index files, now superseded.
    emit({ type: 'phase', phase: 'delete-index' });
    let indexDeleted = 0;
    for (const id of supersedes) {
      await removeIfPresent(repo, 'index', id);
      indexDeleted++;
      emit({ type: 'deleted', file: 'index', id });
    }
    checkAbort();

    // (d) packs no index names any more.
    emit({ type: 'phase', phase: 'delete-packs' });
    let packsDeleted = 0;
    let bytesDeleted = 0;
    const doomed = [...plan.unindexed, ...plan.remove, ...plan.repack];
    for (const d of doomed) {
      if (repo.index.hasPack(d.id)) throw new LifeboatError('INTEGRITY', `Cannot prune ${where}: pack ${d.id.slice(0, 8)} is still indexed; not deleting it`);
    }
    for (const d of doomed) {
      checkAbort();
      await removeIfPresent(repo, 'data', d.id);
      packsDeleted++;
      bytesDeleted += d.size;
      emit({ type: 'deleted', file: 'pack', id: d.id });
    }
    return { blobsCopied, packsWritten, indexWritten, indexDeleted, packsDeleted, bytesDeleted };
  } catch (e) {
    // The in-memory index was changed ahead of the disk; reload what the disk now says.
    await repo.loadIndex().catch(() => {});
    throw e;
  }
}

/** restic's repack fallback: a damaged blob may have a good copy in another pack. */
async function loadElsewhere(repo: Repository, b: PackedBlob, packId: PackId, alternates: readonly BlobLocation[], first: unknown): Promise<Buffer> {
  for (const loc of alternates) {
    if (loc.packId === packId && loc.offset === b.offset) continue;
    try {
      const sealed = await repo.backend.load('data', loc.packId, { offset: loc.offset, length: loc.length });
      const entry: PackedBlob = loc.uncompressedLength
        ? { type: b.type, id: b.id, offset: loc.offset, length: loc.length, uncompressedLength: loc.uncompressedLength }
        : { type: b.type, id: b.id, offset: loc.offset, length: loc.length };
      return openBlob(repo.key, sealed, entry);
    } catch {
      /* try the next copy */
    }
  }
  throw integrityError(`Cannot prune ${repo.location}: ${b.type} blob ${b.id.slice(0, 8)} in pack ${packId.slice(0, 8)} is damaged and no good copy exists: ${(first as Error).message}; nothing was deleted`, first);
}

async function removeIfPresent(repo: Repository, type: 'index' | 'data', id: string): Promise<void> {
  try {
    await repo.backend.remove(type, id);
  } catch (e) {
    if (!(e instanceof LifeboatError && e.code === 'NOT_FOUND')) throw e;
  }
}
