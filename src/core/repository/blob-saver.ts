/**
 * Writes blobs into packs (design.rst "Pack Format"). Deduplicates against the index and
 * against blobs in flight; seals in the WorkerPool; keeps data and tree blobs in separate
 * packs (restic 0.14 flags mixed packs); writes a pack once it reaches the target size, and an
 * index file for finished packs at flush() or every INDEX_BLOBS blobs. A snapshot may only be
 * written after flush() has returned: packs before index before snapshot.
 *
 * Where the backend offers saveStream(), an open pack's blobs go to its temp file as they come
 * and a worker's ring space is released as soon as its blob is written there, not when the
 * pack is complete; the rings then need only room for a few blobs (seal-ring.ts), and the
 * pack is still named, and made visible, only at commit once its header is written.
 */
import type { Id, PackId } from '../ids.ts';
import { PackWriter, type BlobType, type PackedBlob } from '../format/pack.ts';
import { RingReleaser, WorkerPool, defaultWorkers, newRing, ringSize, type ChunkOut, type FilePart } from '../workers/index.ts';
import { sealBlob } from '../format/blob-seal.ts';
import type { Repository } from './repository.ts';
import { KnownBlobs } from './known-blobs.ts';
import type { SaveStream } from '../backend/index.ts';

export const DEFAULT_PACK_SIZE = 16 << 20;
const INDEX_BLOBS = 50_000;
const MAX_UPLOADS = 1;
const INLINE_MAX = 64 * 1024;

/** A worker's ring space, released once the blob in it is written. */
interface RingBlob {
  readonly worker: number;
  readonly end: number;
}

/** A pack being filled. */
interface OpenPack {
  readonly writer: PackWriter;
  /** The pack's temp file, when the backend streams. */
  readonly stream: Promise<SaveStream> | undefined;
  /** Ring blobs in the pack not yet written to the stream (all of them without one). */
  readonly ring: RingBlob[];
  /** The write to the stream in progress; it goes on while blobs are drained to it. */
  writing: Promise<void> | undefined;
  /** Why a write to the stream failed. */
  failed?: unknown;
}

export interface SaveResult {
  readonly id: Id;
  /** True when the blob was already in the repository (or already being written). */
  readonly known: boolean;
  /** Bytes added to packs for this blob (0 when known). */
  readonly stored: number;
}

export class BlobSaver {
  private pool: WorkerPool | undefined;
  private readonly inflight = new Set<string>();
  private readonly packers = new Map<BlobType, OpenPack>();
  private readonly uploads = new Set<Promise<void>>();
  private readonly sealing = new Set<Promise<void>>();
  private unindexed: { id: PackId; blobs: PackedBlob[] }[] = [];
  private unindexedBlobs = 0;
  private slots: number;
  private readonly waiters: (() => void)[] = [];
  private failure: unknown;
  private readonly writtenIndexes: Id[] = [];
  /** Per file worker, the main thread's side of its seal ring (seal-ring.ts). */
  private rings: RingReleaser[] = [];
  private known: KnownBlobs | undefined;
  /** Totals since the last takeStats(), for a run's summary. */
  private stats = { dataBlobs: 0, treeBlobs: 0, bytesAdded: 0, packsWritten: 0 };

  /** Returns the totals since the previous call and starts counting afresh. */
  takeStats(): { dataBlobs: number; treeBlobs: number; bytesAdded: number; packsWritten: number } {
    const s = this.stats;
    this.stats = { dataBlobs: 0, treeBlobs: 0, bytesAdded: 0, packsWritten: 0 };
    return s;
  }

  constructor(
    private readonly repo: Repository,
    private readonly opts: { packSize?: number; compress?: boolean; workers?: number } = {},
  ) {
    this.slots = 0;
  }

  private getPool(): WorkerPool {
    if (!this.pool) {
      const n = this.opts.workers ?? defaultWorkers();
      // Untouched ring pages cost nothing: a pool that only seals single blobs never fills them.
      const size = ringSize(this.opts.packSize ?? DEFAULT_PACK_SIZE, n, this.streams);
      const shares = Array.from({ length: n }, () => newRing(size));
      this.pool = new WorkerPool(this.repo.key, n, (i) => ({ ring: shares[i] }));
      this.rings = shares.map((s) => new RingReleaser(s));
      this.slots = this.pool.size * 2 + 2;
    }
    return this.pool;
  }

  /** Resolves when another blob may be submitted without exceeding the in-flight budget. */
  async waitForCapacity(): Promise<void> {
    if (this.failure) throw this.failure;
    // Back-pressure on pack uploads: a few full packs may wait for the disk, not more.
    while (this.uploads.size > MAX_UPLOADS) await Promise.race(this.uploads);
    if (!this.pool || this.slots > 0) return;
    await new Promise<void>((r) => this.waiters.push(r));
    if (this.failure) throw this.failure;
  }

  has(type: BlobType, id: Id): boolean {
    return this.repo.index.has(type, id) || this.inflight.has(type + id);
  }

  /**
   * Stores a blob unless the repository already has it. `data` must own its ArrayBuffer
   * (it is transferred to a worker thread and unusable afterwards).
   */
  save(type: BlobType, id: Id, data: Uint8Array): Promise<SaveResult> {
    const p = this.saveInner(type, id, data);
    // flush() must wait for blobs still being sealed, not only for packs being written.
    const tracked = p.then(
      () => {},
      () => {},
    );
    this.sealing.add(tracked);
    void tracked.finally(() => this.sealing.delete(tracked));
    return p;
  }

  private async saveInner(type: BlobType, id: Id, data: Uint8Array): Promise<SaveResult> {
    if (this.has(type, id)) return { id, known: true, stored: 0 };
    if (this.failure) throw this.failure;
    this.inflight.add(type + id);
    const v2 = this.repo.config.version === 2;
    const compress: boolean | 'always' = !v2 ? false : type === 'tree' ? 'always' : (this.opts.compress ?? true);
    // Small blobs (trees, small files) are sealed right here: a round trip to a worker costs
    // more than the work, and a backup with nothing new never starts the workers at all.
    const inline = data.length <= INLINE_MAX;
    const pool = inline ? undefined : this.getPool();
    if (!inline) this.slots--;
    try {
      let r: { sealed: Uint8Array; uncompressedLength: number | undefined };
      if (inline) r = sealBlob(this.repo.key, data, compress);
      else {
        const transfer = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? [data.buffer as ArrayBuffer] : [];
        r = await pool!.run({ kind: 'seal', data, compress }, transfer);
      }
      this.addToPack(type, id, r.sealed, r.uncompressedLength, undefined);
      return { id, known: false, stored: r.sealed.length };
    } catch (e) {
      this.fail(e);
      throw e;
    } finally {
      if (!inline) {
        this.slots++;
        this.waiters.shift()?.();
      }
    }
  }

  /**
   * Reads, chunks and seals files in the worker pool (file-chunker.ts); each result part goes
   * to onPart in order with the index of the worker that sealed it, and its sealed blobs must be
   * passed to addSealed() with that index. Resolves when every
   * file of the batch has ended (successfully or with an error in its last part).
   */
  async chunkFiles(paths: readonly Uint8Array[], pol: bigint, onPart: (part: FilePart, worker: number) => void): Promise<void> {
    if (this.failure) throw this.failure;
    const pool = this.getPool();
    this.known ??= KnownBlobs.build(this.repo.index.counts.data, (fn) => this.repo.index.forEachId('data', fn));
    try {
      await pool.run(
        {
          kind: 'files',
          paths,
          pol,
          compress: this.repo.config.version === 2 && (this.opts.compress ?? true),
          known: this.known.buffer as SharedArrayBuffer,
        },
        [],
        (m, worker) => {
          for (const part of m.parts) for (const c of part.chunks) if (c.sealed && c.end !== undefined) this.rings[worker]!.received(c.end);
          for (const part of m.parts) onPart(part, worker);
        },
      );
    } catch (e) {
      // A worker stopped by a failure here (its ring was stopped) only says that it stopped;
      // the failure itself, say the destination vanishing, is what the caller must see.
      throw this.failure ?? e;
    }
  }

  /** Number of file batches queued or running in the worker pool. */
  get fileLoad(): number {
    return this.pool?.load ?? 0;
  }

  get workers(): number {
    return this.getPool().size;
  }

  /**
   * Stores a data blob a file worker sealed, unless the repository already has it; its place in
   * the worker's ring stays taken until its pack is written.
   */
  addSealed(chunk: ChunkOut, worker: number): boolean {
    if (this.failure) throw this.failure;
    const { sealed, uncompressedLength } = chunk;
    const id = chunk.id as Id;
    if (!sealed) throw new Error('addSealed: the chunk was not sealed');
    const ring = chunk.end === undefined ? undefined : { worker, end: chunk.end };
    if (this.has('data', id)) {
      if (ring) this.rings[ring.worker]!.release(ring.end);
      return false;
    }
    this.inflight.add('data' + id);
    this.addToPack('data', id, sealed, uncompressedLength, ring);
    return true;
  }

  /** True when packs are written as they fill (Backend.saveStream). */
  private get streams(): boolean {
    return typeof this.repo.backend.saveStream === 'function';
  }

  private addToPack(type: BlobType, id: Id, sealed: Uint8Array, uncompressedLength: number | undefined, ring: RingBlob | undefined): void {
    let pack = this.packers.get(type);
    if (!pack) {
      const stream = this.repo.backend.saveStream?.('data');
      // Awaited by the first write; this only keeps a failure to open from going unhandled.
      stream?.catch(() => {});
      pack = { writer: new PackWriter(this.repo.key), stream, ring: [], writing: undefined };
      this.packers.set(type, pack);
    }
    pack.writer.addSealed(type, id, sealed, uncompressedLength);
    if (ring) pack.ring.push(ring);
    if (type === 'data') this.stats.dataBlobs++;
    else this.stats.treeBlobs++;
    this.stats.bytesAdded += sealed.length;
    if (pack.stream) this.writeAhead(pack);
    if (pack.writer.size >= (this.opts.packSize ?? DEFAULT_PACK_SIZE)) {
      this.packers.delete(type);
      this.startUpload(pack);
    }
  }

  /**
   * Writes what the pack has drained to its stream, and releases the ring space of what was
   * written, until nothing waits. `writing` is cleared in the same turn as the last drain came
   * back empty, so a blob added later always starts a write: ring space held by an open pack is
   * always on its way to being released, never waiting for more blobs.
   */
  private writeAhead(pack: OpenPack): void {
    if (pack.writing || pack.failed !== undefined) return;
    pack.writing = (async () => {
      try {
        const s = await pack.stream!;
        for (;;) {
          const parts = pack.writer.drain();
          if (parts.length === 0) break;
          const written = pack.ring.splice(0);
          await s.write(parts);
          for (const r of written) this.rings[r.worker]!.release(r.end);
        }
      } catch (e) {
        pack.failed = e;
        this.fail(e);
      }
      pack.writing = undefined;
    })();
  }

  private startUpload(pack: OpenPack): void {
    const job = (async () => {
      let fin;
      if (pack.stream) {
        const s = await pack.stream;
        try {
          while (pack.writing) await pack.writing;
          if (pack.failed !== undefined) throw pack.failed;
          fin = pack.writer.finish();
          await s.write(fin.bytes);
          await s.commit(fin.id);
        } catch (e) {
          await s.abort();
          throw e;
        }
      } else {
        fin = pack.writer.finish();
        await this.repo.backend.save('data', fin.id, fin.bytes);
      }
      // The file holds the bytes now; the workers may seal over them (fin.bytes is not read again).
      for (const r of pack.ring.splice(0)) this.rings[r.worker]!.release(r.end);
      this.repo.index.add(fin.id, fin.blobs);
      for (const b of fin.blobs) this.inflight.delete(b.type + b.id);
      this.unindexed.push({ id: fin.id, blobs: fin.blobs });
      this.unindexedBlobs += fin.blobs.length;
      this.stats.packsWritten++;
      if (this.unindexedBlobs >= INDEX_BLOBS) await this.writeIndex();
    })();
    const tracked = job.catch((e: unknown) => this.fail(e));
    this.uploads.add(tracked);
    void tracked.finally(() => this.uploads.delete(tracked));
  }

  private fail(e: unknown): void {
    this.failure ??= e;
    // Workers waiting for ring space must stop, not wait for ever (and not seal over blobs a
    // pack write may still be reading).
    for (const r of this.rings) r.stop();
  }

  private async writeIndex(): Promise<void> {
    if (this.unindexed.length === 0) return;
    const packs = this.unindexed;
    this.unindexed = [];
    this.unindexedBlobs = 0;
    this.writtenIndexes.push(await this.repo.saveIndexFile(packs));
  }

  /** Drops a pack that will not be finished (its temp file, if any). */
  private async discard(pack: OpenPack): Promise<void> {
    const s = await pack.stream?.catch(() => undefined);
    while (pack.writing) await pack.writing;
    await s?.abort();
  }

  /** Finishes open packs, waits for all uploads, then writes the index for them. */
  async flush(): Promise<void> {
    while (this.sealing.size > 0) await Promise.all([...this.sealing]);
    for (const [type, p] of this.packers) {
      this.packers.delete(type);
      if (this.failure === undefined && p.writer.count > 0) this.startUpload(p);
      else await this.discard(p);
    }
    while (this.uploads.size > 0) await Promise.all([...this.uploads]);
    if (this.failure) throw this.failure;
    await this.writeIndex();
  }

  get indexesWritten(): readonly Id[] {
    return this.writtenIndexes;
  }

  async close(): Promise<void> {
    // Packs still open here belong to a run that failed before flush(): drop their temp files.
    for (const [type, p] of this.packers) {
      this.packers.delete(type);
      await this.discard(p);
    }
    await this.pool?.close();
    this.pool = undefined;
  }
}
