/**
 * Worker-thread side of reading files for a backup: open (O_NOATIME), read, chunk with restic's
 * chunker, SHA-256 each chunk, and seal (zstd when it pays, AES-CTR, Poly1305) the chunks the
 * repository does not hold yet. The main thread then only places sealed blobs into packs, so
 * a backup's CPU work runs on every core instead of one.
 *
 * Memory per worker: one read buffer of MAX_SIZE + READ_MIN (a chunk is always contiguous in it,
 * never copied out) and the worker's seal ring (seal-ring.ts), shared with the main thread:
 * blobs are sealed into it and stay there until the main thread has written them to a pack file
 * (or dropped them as duplicates). A worker whose ring is full waits, so a slow destination
 * slows the readers instead of filling memory.
 */
import { closeSync, constants as fsc, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Chunker, MAX_SIZE } from '../chunker/index.ts';
import type { MasterKey } from '../crypto/crypto.ts';
import { KnownBlobs } from '../repository/known-blobs.ts';
import { RingStopped, type ChunkOut, type FilePart, type FileTask, type RingWriter } from '../workers/index.ts';

/**
 * Seals data (zstd when it pays) into ring space: `slot(max)`, called once, gives at least as
 * many bytes as the blob may need, and the sealed blob must be a prefix of that slot (the rest
 * goes back to the ring).
 */
export type Seal = (data: Uint8Array, compress: boolean, slot: (max: number) => Buffer) => { sealed: Uint8Array; uncompressedLength: number | undefined };

/** Parts are posted once this many sealed bytes wait, or at the end of the task. */
const PART_BYTES = 4 << 20;
/** Ids this worker sealed in this run, remembered so a duplicate is not sealed again. */
const SEALED_HERE_MAX = 65_536;

/** After moving a partial chunk (< MAX_SIZE) to the front, at least this much is free for reading. */
const READ_MIN = 1 << 20;

export class FileChunker {
  readonly #buf = Buffer.allocUnsafeSlow(MAX_SIZE + READ_MIN);
  readonly #sealedHere = new Set<string>();
  #known: KnownBlobs | undefined;
  #chunker: Chunker | undefined;
  /** During run(): takes ring space for a blob, remembered in #slot. */
  #alloc: (n: number) => Buffer = () => {
    throw new Error('FileChunker: seal outside run()');
  };
  #slot: Buffer | undefined;

  constructor(
    private readonly seal: Seal,
    private readonly post: (parts: FilePart[]) => void,
    private readonly ring: RingWriter,
  ) {}

  /** Processes every file of the task; failures of single files are reported in their parts. */
  run(task: FileTask): void {
    if (this.#known?.buffer !== task.known) this.#known = KnownBlobs.attach(task.known);
    if (this.#chunker?.pol !== task.pol) this.#chunker = new Chunker(task.pol);
    let parts: FilePart[] = [];
    let pending = 0;
    let chunks: ChunkOut[] = [];
    let file = 0;
    const flush = (): void => {
      if (parts.length === 0) return;
      this.post(parts);
      parts = [];
      pending = 0;
    };
    // Before a wait for ring space, everything sealed here goes to the main thread, the only
    // one that can release it.
    const handOver = (): void => {
      parts.push({ file, chunks });
      chunks = [];
      flush();
    };
    this.#alloc = (n) => {
      if (this.#slot) throw new Error('FileChunker: a blob took two ring slots');
      this.#slot = this.ring.take(n, handOver).view;
      return this.#slot;
    };
    task.paths.forEach((p, i) => {
      file = i;
      chunks = [];
      const onChunk = (c: ChunkOut): void => {
        chunks.push(c);
        if (!c.sealed) return;
        pending += c.sealed.length;
        if (pending >= PART_BYTES) {
          parts.push({ file, chunks });
          chunks = [];
          flush();
        }
      };
      let end: FilePart['end'];
      try {
        end = { size: this.#chunkFile(p, task.compress, onChunk) };
      } catch (e) {
        // The backup failed elsewhere: the whole task ends, not only this file.
        if (e instanceof RingStopped) throw e;
        const err = e as NodeJS.ErrnoException;
        end = { error: { code: err.code, message: err.message } };
      }
      parts.push({ file, chunks, end });
    });
    flush();
  }

  #chunkFile(p: Uint8Array, compress: boolean, onChunk: (c: ChunkOut) => void): number {
    const fd = openNoAtime(p);
    const buf = this.#buf;
    const chunker = this.#chunker!;
    chunker.reset();
    let start = 0; // first byte of the current chunk
    let scanned = 0;
    let filled = 0;
    let total = 0;
    try {
      for (;;) {
        const n = readSync(fd, buf, filled, buf.length - filled, null);
        filled += n;
        total += n;
        while (scanned < filled) {
          const cut = chunker.scan(buf, scanned, filled);
          if (cut < 0) {
            scanned = filled;
            break;
          }
          onChunk(this.#chunk(buf.subarray(start, cut), compress));
          start = scanned = cut;
        }
        if (n === 0) {
          if (start < filled) onChunk(this.#chunk(buf.subarray(start, filled), compress));
          chunker.reset();
          return total;
        }
        if (filled === buf.length) {
          // The current chunk is shorter than MAX_SIZE: moving it to the front frees READ_MIN or more.
          buf.copyWithin(0, start, filled);
          filled -= start;
          scanned -= start;
          start = 0;
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  #chunk(data: Uint8Array, compress: boolean): ChunkOut {
    const digest = createHash('sha256').update(data).digest();
    const id = digest.toString('hex');
    if (this.#known!.has(digest) || this.#sealedHere.has(id)) return { id, length: data.length };
    this.#slot = undefined;
    const r = this.seal(data, compress, this.#alloc);
    const slot = this.#slot as Buffer | undefined;
    if (!slot || r.sealed.buffer !== slot.buffer || r.sealed.byteOffset !== slot.byteOffset || r.sealed.length > slot.length) {
      throw new Error('FileChunker: a sealed blob must be a prefix of its ring slot');
    }
    const end = this.ring.shrink(r.sealed.length);
    // Only a hint (the main thread deduplicates for certain): bounded, not one entry per blob
    // of a multi-terabyte first backup.
    if (this.#sealedHere.size >= SEALED_HERE_MAX) this.#sealedHere.clear();
    this.#sealedHere.add(id);
    return r.uncompressedLength === undefined
      ? { id, length: data.length, sealed: r.sealed, end }
      : { id, length: data.length, sealed: r.sealed, uncompressedLength: r.uncompressedLength, end };
  }
}

/** Opens without updating atime (as restic); O_NOATIME needs ownership or CAP_FOWNER. */
function openNoAtime(p: Uint8Array): number {
  const b = Buffer.from(p.buffer, p.byteOffset, p.length);
  try {
    return openSync(b, fsc.O_RDONLY | (fsc.O_NOATIME ?? 0));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EPERM') return openSync(b, fsc.O_RDONLY);
    throw e;
  }
}
