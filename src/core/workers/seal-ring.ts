/**
 * Where a file worker puts the blobs it seals: a ring buffer in memory shared with the main
 * thread, one per worker, reused for the whole backup.
 *
 * Before this, every sealed blob was fresh memory, transferred to the main thread and freed by
 * a garbage collection after its pack was written. On the bench's first backup each worker's
 * malloc arena then sat at about 60 MiB resident and the main thread held 30-60 MB of blobs
 * waiting for a collection, for some 25 MiB of sealed bytes actually in flight. The ring is
 * fixed memory: nothing is allocated per blob and nothing waits for a collection.
 *
 * Protocol. Positions are byte counts since the ring was made (they only grow), the place in
 * the buffer is position mod size. The worker (RingWriter) takes [start, end) for a blob, after
 * skipping to the buffer's start if the blob would not fit before its end, and only once
 * `end - released <= size`, so it never writes over bytes the main thread has not released.
 * The main thread (RingReleaser) releases a blob once it is written to its pack file, or at once
 * when the blob turned out to be a duplicate; blobs of one worker reach it in the order they were
 * taken, and `released` moves past a blob only when every earlier blob is released too.
 *
 * Size. Whatever the ring's size, a worker that needs room for a blob waits only until its
 * unreleased bytes drop to size - 2 * MAX_BLOB (the blob, and a skip to the start), so a ring
 * of 2 * MAX_BLOB makes progress as long as every blob the main thread has received is
 * eventually released without more ring space being needed. Two cases:
 * - Packs written as they fill (Backend.saveStream): a received blob is released once it is
 *   written to its pack's temp file, which waits on nothing but the disk. 2 * MAX_BLOB is enough.
 * - Packs written whole: a blob is released only when its pack is complete, and the pack is
 *   completed by blobs that need ring space. With every worker's ring at least packSize /
 *   workers + 3 * MAX_BLOB (one more skip may sit among the unreleased bytes), all workers
 *   waiting at once means more than packSize bytes are unreleased, which the main thread never
 *   leaves unwritten: a full pack is written, and its release wakes them.
 */
import { MAX_SIZE } from '../chunker/index.ts';
import { CRYPTO_OVERHEAD } from '../crypto/crypto.ts';
import { zstdBound } from '../compress/zstd.ts';

/**
 * The largest slot a file worker takes: room to compress a largest chunk in place (zstd's bound)
 * plus the IV and MAC. The slot shrinks to what the sealed blob needs (RingWriter.shrink).
 */
export const MAX_BLOB = zstdBound(MAX_SIZE) + CRYPTO_OVERHEAD;

const RELEASED = 0;
const STOPPED = 1;
/** How long a waiting worker sleeps before looking again (a release also wakes it). */
const WAIT_MS = 50;

/** What the main thread and one worker share. */
export interface RingShare {
  readonly bytes: SharedArrayBuffer;
  /** BigInt64Array: [released position, stopped flag]. */
  readonly control: SharedArrayBuffer;
}

/**
 * The ring size for each of `workers` file workers filling packs of packSize bytes, written as
 * they fill (`streamed`) or whole (see Size in the header).
 */
export function ringSize(packSize: number, workers: number, streamed: boolean): number {
  return streamed ? 2 * MAX_BLOB : Math.ceil(packSize / workers) + 3 * MAX_BLOB;
}

export function newRing(size: number): RingShare {
  if (!Number.isSafeInteger(size) || size < 2 * MAX_BLOB) throw new RangeError(`ring of ${size} bytes cannot hold two largest blobs`);
  return { bytes: new SharedArrayBuffer(size), control: new SharedArrayBuffer(16) };
}

/** Thrown in a worker whose ring was stopped because the backup failed. */
export class RingStopped extends Error {
  constructor() {
    super('the backup stopped');
  }
}

/** Worker side. */
export class RingWriter {
  readonly #bytes: SharedArrayBuffer;
  readonly #control: BigInt64Array;
  #head = 0;
  /** Where the last take() started, for shrink(). */
  #start = 0;

  constructor(share: RingShare) {
    this.#bytes = share.bytes;
    this.#control = new BigInt64Array(share.control);
  }

  /**
   * Space for n bytes and the position just past it, for the main thread's release. Waits
   * while the ring is full; `handOver` runs once before the first wait, to post what this worker
   * holds (the main thread can only release what it has received).
   */
  take(n: number, handOver: () => void): { view: Buffer; end: number } {
    const size = this.#bytes.byteLength;
    if (n > MAX_BLOB || n < 0) throw new RangeError(`a sealed blob of ${n} bytes does not fit a ring slot`);
    const at = this.#head % size;
    const start = at + n > size ? this.#head + (size - at) : this.#head;
    const end = start + n;
    let handed = false;
    for (;;) {
      if (Atomics.load(this.#control, STOPPED) !== 0n) throw new RingStopped();
      const released = Atomics.load(this.#control, RELEASED);
      if (end - Number(released) <= size) break;
      if (!handed) {
        handOver();
        handed = true;
        continue;
      }
      Atomics.wait(this.#control, RELEASED, released, WAIT_MS);
    }
    this.#head = end;
    this.#start = start;
    return { view: Buffer.from(this.#bytes, start % size, n), end };
  }

  /** Gives back the end of the last slot taken, keeping its first `used` bytes; returns the new end. */
  shrink(used: number): number {
    if (used < 0 || this.#start + used > this.#head) throw new RangeError(`cannot shrink a ring slot of ${this.#head - this.#start} bytes to ${used}`);
    this.#head = this.#start + used;
    return this.#head;
  }
}

/** Main-thread side. */
export class RingReleaser {
  readonly #control: BigInt64Array;
  /** Ends of blobs received and not yet released, in the order the worker took them. */
  #pending: number[] = [];
  #front = 0;
  readonly #done = new Set<number>();

  constructor(share: RingShare) {
    this.#control = new BigInt64Array(share.control);
  }

  /** A blob the worker took, ending at `end`, has reached the main thread (call in arrival order). */
  received(end: number): void {
    this.#pending.push(end);
  }

  /** The blob ending at `end` may be overwritten: it is in a written pack file, or not needed. */
  release(end: number): void {
    this.#done.add(end);
    let moved: number | undefined;
    while (this.#front < this.#pending.length && this.#done.has(this.#pending[this.#front]!)) {
      moved = this.#pending[this.#front++]!;
      this.#done.delete(moved);
    }
    if (this.#front > 1024 && this.#front * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#front);
      this.#front = 0;
    }
    if (moved === undefined) return;
    Atomics.store(this.#control, RELEASED, BigInt(moved));
    Atomics.notify(this.#control, RELEASED);
  }

  /** Wakes the worker for good: its next take() throws RingStopped. */
  stop(): void {
    Atomics.store(this.#control, STOPPED, 1n);
    Atomics.notify(this.#control, RELEASED);
  }

  /** Blobs received and not released yet. */
  get unreleased(): number {
    return this.#pending.length - this.#front;
  }
}
