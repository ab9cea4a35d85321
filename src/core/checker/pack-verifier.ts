/**
 * `check --read-data` for one pack: its bytes hash to its name, its header matches the index
 * entry by entry, and every indexed blob opens (MAC, zstd, SHA-256 against its id). The same
 * checks run on the main thread over a pack loaded whole (any backend, packProblems) and in a
 * worker thread that streams a local pack file itself (PackVerifier), so a check reads and
 * verifies several packs at once.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { readAtSync } from '../fs/read-at.ts';
import { createHash } from 'node:crypto';
import { LifeboatError } from '../errors.ts';
import type { MasterKey } from '../crypto/crypto.ts';
import { PACK_HEADER_READ_HINT, packTailSize, parsePackHeader, type PackedBlob } from '../format/pack.ts';
import type { PackCheckTask } from '../workers/index.ts';

const BEYOND_END = 'lies beyond the end of the pack';

/** Problems of a header that could be parsed, compared with the index entries for its pack. */
function headerMismatches(header: readonly PackedBlob[], indexed: readonly PackedBlob[]): string[] {
  const problems: string[] = [];
  if (header.length === 0) return problems;
  const entry = (b: PackedBlob): string => `${b.type}:${b.id}:${b.offset}:${b.length}:${b.uncompressedLength ?? 0}`;
  const hs = new Set(header.map(entry));
  const is = new Set(indexed.map(entry));
  for (const b of indexed) if (!hs.has(entry(b))) problems.push(`index entry for blob ${b.id.slice(0, 8)} does not match the pack header`);
  for (const b of header) if (!is.has(entry(b))) problems.push(`pack header entry for blob ${b.id.slice(0, 8)} is not in the index`);
  return problems;
}

/**
 * The finding for a blob that failed to open. Only a failed MAC, hash or decode is damage;
 * anything else is our own failure and is rethrown, never reported as a broken repository.
 */
function blobDamage(b: PackedBlob, e: unknown): string {
  const damage = e instanceof LifeboatError ? e.code === 'INTEGRITY' || e.code === 'MALFORMED' : ((e as Error)?.message ?? '').includes(BEYOND_END);
  if (!damage) throw e;
  return `blob ${b.id.slice(0, 8)} is damaged: ${(e as Error).message}`;
}

function beyondEnd(b: PackedBlob): Error {
  return new Error(`blob ${b.id.slice(0, 8)} ${BEYOND_END}`);
}

/** Damage found in a pack's bytes; the pack as a whole lies in `buf`. */
export async function packProblems(
  key: MasterKey,
  buf: Buffer,
  id: string,
  indexed: readonly PackedBlob[],
  verifyBlob: (sealed: Uint8Array, b: PackedBlob) => Promise<void>,
): Promise<string[]> {
  const problems: string[] = [];
  if (createHash('sha256').update(buf).digest('hex') !== id) problems.push('content does not match its name (the file is damaged)');
  let header: PackedBlob[] = [];
  try {
    header = parsePackHeader(key, buf, buf.length);
  } catch (e) {
    problems.push(`header cannot be read: ${(e as Error).message}`);
  }
  problems.push(...headerMismatches(header, indexed));
  const results = await Promise.allSettled(
    indexed.map(async (b) => {
      if (b.offset + b.length > buf.length) throw beyondEnd(b);
      await verifyBlob(buf.subarray(b.offset, b.offset + b.length), b);
    }),
  );
  results.forEach((r, i) => {
    if (r.status === 'rejected') problems.push(blobDamage(indexed[i]!, r.reason));
  });
  return problems;
}

/** A pack file shorter than fstat said (truncated while being read): reported as unreadable. */
function endedEarly(pos: number, n: number): Error {
  return Object.assign(new Error(`the file ends before byte ${pos + n}`), { code: 'EOF' });
}

/** The smallest read a streaming check makes; larger blobs widen it to their own length. */
const WINDOW_MIN = 2 << 20;

/**
 * Worker side: streams a local pack through one reused window instead of loading it whole, so
 * a worker holds about one largest blob, not one pack. The file is read front to back; each
 * window is hashed up to the first blob it does not hold whole, that blob starts the next
 * window, and the blobs it holds are opened in place after their bytes were hashed. Findings and
 * their order are those of packProblems; a pack that cannot be read is a problem of its own.
 */
export class PackVerifier {
  #buf = Buffer.allocUnsafeSlow(WINDOW_MIN);

  /**
   * `pause`, if given, is awaited after each window: on the main thread it lets the event loop
   * hand finished work to idle worker threads while this thread verifies a pack too.
   */
  constructor(
    private readonly key: MasterKey,
    private readonly openInPlace: (sealed: Uint8Array, b: PackedBlob) => void,
    private readonly pause?: () => Promise<void>,
  ) {}

  async run(task: PackCheckTask): Promise<string[]> {
    let fd: number;
    try {
      fd = openSync(task.path, 'r');
    } catch (e) {
      return [`cannot be read: ${(e as Error).message}`];
    }
    try {
      return await this.#verify(fd, fstatSync(fd).size, task);
    } catch (e) {
      if (e instanceof LifeboatError || !(e as NodeJS.ErrnoException).code) throw e;
      return [`cannot be read: ${(e as Error).message}`];
    } finally {
      closeSync(fd);
    }
  }

  async #verify(fd: number, size: number, task: PackCheckTask): Promise<string[]> {
    const problems: string[] = [];
    let header: PackedBlob[] = [];
    try {
      header = parsePackHeader(this.key, this.#tail(fd, size), size);
    } catch (e) {
      if (!(e instanceof LifeboatError)) throw e;
      problems.push(`header cannot be read: ${e.message}`);
    }
    problems.push(...headerMismatches(header, task.indexed));

    const failed = new Map<PackedBlob, string>();
    const order = [...task.indexed].filter((b) => {
      if (b.offset + b.length <= size) return true;
      failed.set(b, blobDamage(b, beyondEnd(b)));
      return false;
    });
    order.sort((a, b) => a.offset - b.offset);
    const widest = order.reduce((w, b) => Math.max(w, b.length), WINDOW_MIN);
    if (widest > this.#buf.length) this.#buf = Buffer.allocUnsafeSlow(widest);

    const hash = createHash('sha256');
    let pos = 0;
    let next = 0;
    while (pos < size) {
      const end = pos + this.#fill(fd, pos, Math.min(this.#buf.length, size - pos));
      let whole = next;
      while (whole < order.length && order[whole]!.offset + order[whole]!.length <= end) whole++;
      // Bytes are hashed before any blob among them is decrypted in place.
      const hashEnd = whole < order.length ? Math.min(end, order[whole]!.offset) : end;
      hash.update(this.#buf.subarray(0, hashEnd - pos));
      for (; next < whole; next++) {
        const b = order[next]!;
        try {
          this.openInPlace(this.#buf.subarray(b.offset - pos, b.offset - pos + b.length), b);
        } catch (e) {
          failed.set(b, blobDamage(b, e));
        }
      }
      pos = hashEnd;
      if (this.pause) await this.pause();
    }
    if (hash.digest('hex') !== task.id) problems.unshift('content does not match its name (the file is damaged)');
    for (const b of task.indexed) {
      const f = failed.get(b);
      if (f !== undefined) problems.push(f);
    }
    return problems;
  }

  /** The file's last bytes, as many as its header needs. */
  #tail(fd: number, size: number): Buffer {
    let want = Math.min(PACK_HEADER_READ_HINT, size);
    for (;;) {
      const tail = Buffer.allocUnsafe(want);
      if (readAtSync(fd, tail, size - want) < want) throw endedEarly(size - want, want);
      const need = packTailSize(tail, size);
      if (need <= want) return tail;
      want = need;
    }
  }

  /** Reads `n` bytes at `pos` into the window; a file that ends early is damage of its own. */
  #fill(fd: number, pos: number, n: number): number {
    if (readAtSync(fd, this.#buf.subarray(0, n), pos) < n) throw endedEarly(pos, n);
    return n;
  }
}
