/**
 * planPrune: what prune would do to a repository and why (restic 0.14 cmd/restic/cmd_prune.go
 * planPrune / packInfoFromIndex / decidePackAction; restic-format.md §9.2). Reads only.
 *
 * Algorithm:
 *   1. load every index file (recording their ids: the rewrite supersedes all of them) and every
 *      snapshot; walk the snapshots' trees to find the used blobs;
 *   2. count each pack's used and unused blobs and bytes. A blob stored in several places is
 *      "used" in exactly one of them: in a pack that already holds used blobs if possible,
 *      otherwise in its last occurrence;
 *   3. compare with the pack files on disk: a file no index names is unindexed (deleted); an
 *      indexed pack whose file size differs from what its index entries imply is an error if it
 *      holds used blobs; an indexed pack that is missing is an error if it holds used blobs,
 *      otherwise it is simply dropped from the index;
 *   4. a pack with no used blob is removed; a pack whose blobs are all used, of one type, is
 *      kept (unless it is small and there are at least 10 such small packs); every other pack is
 *      a repack candidate. Candidates are taken tree packs and small packs first, then by
 *      falling unused/total ratio, until the unused space left is under maxUnused (default 5%
 *      of used) or maxRepackBytes is reached; tree and mixed packs are always repacked;
 *   5. the blobs to copy are the used blobs of repacked packs that no kept pack holds.
 * Safety net beyond restic: every used blob must end in a kept pack or the copy list, checked
 * before the plan is returned.
 *
 * Deviation: restic 0.14 also repacks v2 tree packs holding uncompressed blobs. Our blob saver
 * stores a blob uncompressed when zstd does not shrink it (tiny trees such as an empty
 * directory), so that rule would repack the same packs on every prune; it is left out.
 */
import { LifeboatError } from '../errors.ts';
import type { Id, IndexId, PackId, SnapshotId } from '../ids.ts';
import { entrySize, PACK_HEADER_OVERHEAD, type BlobType } from '../format/pack.ts';
import { DEFAULT_PACK_SIZE } from '../repository/blob-saver.ts';
import type { Repository } from '../repository/repository.ts';
import { blobKey, findUsedBlobs, keyId, keyType, type BlobKey } from './used-blobs.ts';

export type PackKind = 'data' | 'tree' | 'mixed';

export interface PackDecision {
  readonly id: PackId;
  readonly kind: PackKind;
  /** File size (what the index entries imply; equal to the real size for every pack we touch). */
  readonly size: number;
  readonly usedBlobs: number;
  readonly unusedBlobs: number;
  /** Bytes of used blobs plus the header (restic counts the header as used). */
  readonly usedBytes: number;
  readonly unusedBytes: number;
  readonly reason: string;
}

export interface UnindexedPack {
  readonly id: PackId;
  readonly size: number;
  readonly reason: string;
}

export interface MissingPack {
  readonly id: PackId;
  readonly reason: string;
}

export interface PruneStats {
  readonly blobs: { used: number; duplicate: number; unused: number; remove: number; repack: number; repackrm: number };
  readonly bytes: { used: number; duplicate: number; unused: number; remove: number; repack: number; repackrm: number; unref: number };
  readonly packs: { used: number; unused: number; partlyUsed: number; unref: number; keep: number; repack: number; remove: number };
}

export interface PrunePlan {
  readonly location: string;
  readonly keep: readonly PackDecision[];
  readonly repack: readonly PackDecision[];
  readonly remove: readonly PackDecision[];
  readonly unindexed: readonly UnindexedPack[];
  readonly missing: readonly MissingPack[];
  /** Used blobs in repacked packs that no kept pack holds: executePrune copies exactly these. */
  readonly copy: readonly { readonly type: BlobType; readonly id: Id }[];
  /** Every index file the plan was made from; the rewritten index supersedes all of them. */
  readonly indexFiles: readonly IndexId[];
  readonly snapshots: readonly SnapshotId[];
  readonly stats: PruneStats;
  /** Bytes of all pack files now, and after the plan is carried out (new packs estimated). */
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  /** True when there is nothing to delete or rewrite. */
  readonly nothingToDo: boolean;
}

export type MaxUnused = { readonly percent: number } | { readonly bytes: number } | 'unlimited';

export type PlanPruneEvent =
  | { readonly type: 'phase'; readonly phase: 'load-index' | 'load-snapshots' | 'find-used' | 'classify' }
  | { readonly type: 'trees'; readonly done: number };

export interface PlanPruneOptions {
  /** Tolerated unused space after pruning; default 5% (of the used bytes, as restic computes it). */
  readonly maxUnused?: MaxUnused;
  /** Stop choosing packs to repack once this many bytes would be repacked; default unlimited. */
  readonly maxRepackBytes?: number;
  /** Consider packs below 80% (instead of 4%) of the target size small. */
  readonly repackSmall?: boolean;
  /** Never repack data packs. */
  readonly repackCacheableOnly?: boolean;
  /** Target pack size; default the blob saver's 16 MiB. */
  readonly packSize?: number;
  readonly onEvent?: (e: PlanPruneEvent) => void;
  readonly signal?: AbortSignal;
}

interface PackInfo {
  usedBlobs: number;
  unusedBlobs: number;
  usedSize: number;
  unusedSize: number;
  kind: PackKind | undefined;
}

function maxUnusedBytes(m: MaxUnused, used: number): number {
  if (m === 'unlimited') return Number.POSITIVE_INFINITY;
  if ('bytes' in m) return m.bytes;
  return Math.floor((m.percent / (100 - m.percent)) * used);
}

function checkOptions(o: PlanPruneOptions): void {
  const problems: string[] = [];
  const m = o.maxUnused;
  if (m !== undefined && m !== 'unlimited') {
    if ('percent' in m && !(m.percent >= 0 && m.percent < 100)) problems.push(`maxUnused percent must be at least 0 and below 100, got ${m.percent}`);
    if ('bytes' in m && !(Number.isSafeInteger(m.bytes) && m.bytes >= 0)) problems.push(`maxUnused bytes must be a whole number >= 0, got ${m.bytes}`);
  }
  if (o.maxRepackBytes !== undefined && !(o.maxRepackBytes >= 0)) problems.push(`maxRepackBytes must be >= 0, got ${o.maxRepackBytes}`);
  if (o.packSize !== undefined && !(Number.isSafeInteger(o.packSize) && o.packSize > 0)) problems.push(`packSize must be a positive whole number, got ${o.packSize}`);
  if (problems.length > 0) throw new LifeboatError('USAGE', `Cannot plan prune: ${problems.join('; ')}`);
}

const interrupted = (): LifeboatError => new LifeboatError('INTERRUPTED', 'Cannot finish planning prune: interrupted');

export async function planPrune(repo: Repository, opts: PlanPruneOptions = {}): Promise<PrunePlan> {
  checkOptions(opts);
  const emit = opts.onEvent ?? (() => {});
  const where = repo.location;

  // 1. index, snapshots, used blobs. The index is (re)loaded under the caller's lock so the plan
  //    is made from what is on disk now; loading is additive and ignores locations already known.
  emit({ type: 'phase', phase: 'load-index' });
  const indexFiles: IndexId[] = [];
  await repo.loadIndex({ onFile: (id) => indexFiles.push(id) });
  if (opts.signal?.aborted) throw interrupted();

  emit({ type: 'phase', phase: 'load-snapshots' });
  const roots: { id: SnapshotId; tree: Id }[] = [];
  for (const id of await repo.listIds('snapshot')) {
    try {
      roots.push({ id: id as SnapshotId, tree: (await repo.loadSnapshot(id)).tree });
    } catch (e) {
      throw new LifeboatError('INTEGRITY', `Cannot plan prune of ${where}: snapshot ${id.slice(0, 8)} cannot be loaded: ${(e as Error).message}`, {
        cause: e,
        hint: 'forget the damaged snapshot first (its data would otherwise be judged unused)',
      });
    }
  }
  emit({ type: 'phase', phase: 'find-used' });
  let trees = 0;
  const used = await findUsedBlobs(repo, roots, { signal: opts.signal, onTree: () => emit({ type: 'trees', done: ++trees }) });

  // 2. used / duplicate / unused, per blob and per pack (packInfoFromIndex).
  emit({ type: 'phase', phase: 'classify' });
  const stats = {
    blobs: { used: 0, duplicate: 0, unused: 0, remove: 0, repack: 0, repackrm: 0 },
    bytes: { used: 0, duplicate: 0, unused: 0, remove: 0, repack: 0, repackrm: 0, unref: 0 },
    packs: { used: 0, unused: 0, partlyUsed: 0, unref: 0, keep: 0, repack: 0, remove: 0 },
  };
  const pending = new Set(used);
  const seenUsed = new Set<BlobKey>();
  const duplicates = new Map<BlobKey, number>();
  for (const b of repo.index.blobs()) {
    const k = blobKey(b.type, b.id);
    if (pending.has(k)) {
      pending.delete(k);
      seenUsed.add(k);
      stats.bytes.used += b.length;
      stats.blobs.used++;
    } else if (seenUsed.has(k)) {
      duplicates.set(k, Math.min(255, (duplicates.get(k) ?? 1) + 1));
      stats.bytes.duplicate += b.length;
      stats.blobs.duplicate++;
    } else {
      stats.bytes.unused += b.length;
      stats.blobs.unused++;
    }
  }
  if (pending.size > 0) {
    const some = [...pending].slice(0, 5).map((k) => `${keyType(k)} blob ${keyId(k).slice(0, 8)}`);
    throw new LifeboatError('INTEGRITY', `Cannot plan prune of ${where}: ${pending.size} blob(s) used by snapshots are not in the index (${some.join(', ')}${pending.size > 5 ? ', ...' : ''})`, {
      hint: 'data seems to be missing; run `lifeboat repo check` and do not prune until it is resolved',
    });
  }

  const packs = new Map<PackId, PackInfo>();
  for (const p of repo.index.packs()) {
    let hdr = PACK_HEADER_OVERHEAD;
    for (const b of p.blobs) hdr += entrySize(b);
    packs.set(p.id, { usedBlobs: 0, unusedBlobs: 0, usedSize: hdr, unusedSize: 0, kind: undefined });
  }
  for (const b of repo.index.blobs()) {
    const ip = packs.get(b.packId)!;
    if (ip.kind === undefined) ip.kind = b.type;
    else if (ip.kind !== b.type) ip.kind = 'mixed';
    const k = blobKey(b.type, b.id);
    if (duplicates.has(k)) continue; // decided below
    if (used.has(k)) {
      ip.usedSize += b.length;
      ip.usedBlobs++;
    } else {
      ip.unusedSize += b.length;
      ip.unusedBlobs++;
    }
  }
  if (duplicates.size > 0) {
    for (const b of repo.index.blobs()) {
      const k = blobKey(b.type, b.id);
      const count = duplicates.get(k);
      if (count === undefined) continue;
      const ip = packs.get(b.packId)!;
      if (count === 0) {
        ip.unusedSize += b.length;
        ip.unusedBlobs++;
      } else if (ip.usedBlobs > 0 || count === 1) {
        ip.usedSize += b.length;
        ip.usedBlobs++;
        duplicates.set(k, 0);
      } else {
        ip.unusedSize += b.length;
        ip.unusedBlobs++;
        duplicates.set(k, count - 1);
      }
    }
  }

  // 3. and 4. against the files on disk (decidePackAction).
  const packSize = opts.packSize ?? DEFAULT_PACK_SIZE;
  const targetPackSize = opts.repackSmall ? Math.floor(packSize / 5) * 4 : Math.floor(packSize / 25);
  const decision = (id: PackId, p: PackInfo, reason: string): PackDecision => ({
    id,
    kind: p.kind ?? 'data',
    size: p.usedSize + p.unusedSize,
    usedBlobs: p.usedBlobs,
    unusedBlobs: p.unusedBlobs,
    usedBytes: p.usedSize,
    unusedBytes: p.unusedSize,
    reason,
  });
  const keep: PackDecision[] = [];
  const repack: PackDecision[] = [];
  const remove: PackDecision[] = [];
  const unindexed: UnindexedPack[] = [];
  const missing: MissingPack[] = [];
  const candidates: { id: PackId; p: PackInfo }[] = [];
  const smallCandidates: { id: PackId; p: PackInfo }[] = [];
  let bytesBefore = 0;
  const onDisk = new Set<PackId>();
  for await (const f of repo.backend.list('data')) {
    if (opts.signal?.aborted) throw interrupted();
    const id = f.name as PackId;
    onDisk.add(id);
    bytesBefore += f.size;
    const p = packs.get(id);
    if (!p) {
      unindexed.push({ id, size: f.size, reason: 'no index names it (left by an interrupted backup or prune)' });
      stats.bytes.unref += f.size;
      continue;
    }
    if (p.usedSize + p.unusedSize !== f.size && p.usedBlobs !== 0) {
      throw new LifeboatError('INTEGRITY', `Cannot plan prune of ${where}: pack ${id.slice(0, 8)} is ${f.size} bytes, its index entries imply ${p.usedSize + p.unusedSize}`, {
        hint: 'rebuild the index from the packs (`restic repair index`, or `restic rebuild-index` in 0.14), then plan again',
      });
    }
    if (p.usedBlobs === 0) stats.packs.unused++;
    else if (p.unusedBlobs === 0) stats.packs.used++;
    else stats.packs.partlyUsed++;

    if (p.usedBlobs === 0) {
      remove.push(decision(id, p, p.unusedBlobs === 0 ? 'it holds no blob' : `none of its ${p.unusedBlobs} blobs is used`));
      stats.blobs.remove += p.unusedBlobs;
      stats.bytes.remove += p.unusedSize;
    } else if (opts.repackCacheableOnly && p.kind === 'data') {
      keep.push(decision(id, p, p.unusedBlobs === 0 ? 'all blobs used' : 'data pack (only tree packs are repacked)'));
      stats.packs.keep++;
    } else if (p.unusedBlobs === 0 && p.kind !== 'mixed') {
      if (f.size >= targetPackSize) {
        keep.push(decision(id, p, 'all blobs used'));
        stats.packs.keep++;
      } else smallCandidates.push({ id, p });
    } else candidates.push({ id, p });
  }
  for (const [id, p] of packs) {
    if (onDisk.has(id)) continue;
    if (p.usedBlobs > 0) {
      throw new LifeboatError('INTEGRITY', `Cannot plan prune of ${where}: pack ${id.slice(0, 8)} holds used blobs but is missing`, {
        hint: 'run `lifeboat repo check`; back the affected sources up again before pruning',
      });
    }
    missing.push({ id, reason: 'named by the index but absent; it holds no used blob, so it is dropped from the index' });
    stats.blobs.remove += p.unusedBlobs;
    stats.bytes.remove += p.unusedSize;
  }

  const smallReason = `all blobs used, but small (under ${targetPackSize} bytes)`;
  if (smallCandidates.length < 10) {
    // Too few to be worth it; this also stops one lone small pack being repacked forever.
    for (const c of smallCandidates) keep.push(decision(c.id, c.p, `${smallReason}; fewer than 10 such packs`));
    stats.packs.keep += smallCandidates.length;
  } else candidates.push(...smallCandidates);

  const total = (p: PackInfo): number => p.usedSize + p.unusedSize;
  candidates.sort((a, b) => {
    const pi = a.p;
    const pj = b.p;
    if (pi.kind !== 'data' && pj.kind === 'data') return -1;
    if (pj.kind !== 'data' && pi.kind === 'data') return 1;
    if (total(pi) < targetPackSize && total(pj) >= targetPackSize) return -1;
    if (total(pj) < targetPackSize && total(pi) >= targetPackSize) return 1;
    // unused/total falling, compared without division (restic: unused_i*used_j > unused_j*used_i)
    const l = BigInt(pi.unusedSize) * BigInt(pj.usedSize);
    const r = BigInt(pj.unusedSize) * BigInt(pi.usedSize);
    return l > r ? -1 : l < r ? 1 : 0;
  });
  const maxUnused = opts.maxUnused ?? { percent: 5 };
  const maxUnusedAfter = maxUnusedBytes(maxUnused, stats.bytes.used);
  const maxRepack = opts.maxRepackBytes ?? Number.POSITIVE_INFINITY;
  const describeUnused = (p: PackInfo): string => (p.unusedBlobs === 0 ? smallReason : `${p.unusedBlobs} of ${p.usedBlobs + p.unusedBlobs} blobs unused (${p.unusedSize} of ${total(p)} bytes)`);
  for (const { id, p } of candidates) {
    // restic computes this in uint64: when removed duplicates exceed the unused count it wraps
    // around to a huge number, which reads as "limit not reached".
    const left = stats.bytes.unused - stats.bytes.remove - stats.bytes.repackrm;
    const reachedUnusedSizeAfter = left >= 0 && left < maxUnusedAfter;
    const reachedRepackSize = stats.bytes.repack + total(p) >= maxRepack;
    const largeEnough = total(p) >= targetPackSize;
    const doRepack = (reason: string): void => {
      repack.push(decision(id, p, reason));
      stats.blobs.repack += p.unusedBlobs + p.usedBlobs;
      stats.bytes.repack += total(p);
      stats.blobs.repackrm += p.unusedBlobs;
      stats.bytes.repackrm += p.unusedSize;
    };
    if (reachedRepackSize) {
      keep.push(decision(id, p, `${describeUnused(p)}; kept because the repack limit of ${maxRepack} bytes is reached`));
      stats.packs.keep++;
    } else if (p.kind === 'mixed') doRepack('holds both data and tree blobs');
    else if (p.kind === 'tree') doRepack(`tree pack: ${describeUnused(p)}`);
    else if (reachedUnusedSizeAfter && largeEnough) {
      keep.push(decision(id, p, `${describeUnused(p)}; within the tolerated unused space`));
      stats.packs.keep++;
    } else doRepack(describeUnused(p));
  }
  stats.packs.unref = unindexed.length;
  stats.packs.repack = repack.length;
  stats.packs.remove = remove.length;

  // 5. blobs to copy, and the safety net.
  const kept = new Set(keep.map((d) => d.id));
  const repacked = new Set(repack.map((d) => d.id));
  const inKept = new Set<BlobKey>();
  const inRepacked = new Set<BlobKey>();
  for (const b of repo.index.blobs()) {
    const k = blobKey(b.type, b.id);
    if (!used.has(k)) continue;
    if (kept.has(b.packId)) inKept.add(k);
    else if (repacked.has(b.packId)) inRepacked.add(k);
  }
  const copy: { type: BlobType; id: Id }[] = [];
  for (const k of inRepacked) if (!inKept.has(k)) copy.push({ type: keyType(k), id: keyId(k) });
  let lost = 0;
  for (const k of used) if (!inKept.has(k) && !inRepacked.has(k)) lost++;
  if (lost > 0) {
    throw new LifeboatError('INTEGRITY', `Cannot plan prune of ${where}: the plan would lose ${lost} used blob(s); refusing`, {
      hint: 'this is a bug in prune planning; please report it with `lifeboat repo check` output',
    });
  }

  const copyBytes = repack.reduce((s, d) => s + d.usedBytes, 0);
  const bytesAfter = bytesBefore - stats.bytes.unref - remove.reduce((s, d) => s + d.size, 0) - repack.reduce((s, d) => s + d.size, 0) + (copy.length > 0 ? copyBytes : 0);
  return {
    location: where,
    keep,
    repack,
    remove,
    unindexed,
    missing,
    copy,
    indexFiles,
    snapshots: roots.map((r) => r.id),
    stats,
    bytesBefore,
    bytesAfter,
    nothingToDo: repack.length === 0 && remove.length === 0 && unindexed.length === 0 && missing.length === 0,
  };
}
