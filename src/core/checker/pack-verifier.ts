/**
 * `check --read-data` for one pack: its bytes hash to its name, its header matches the index
 * entry by entry, and every indexed blob opens (MAC, zstd, SHA-256 against its id). The same
 * code runs on the main thread (any backend) and in a worker thread that reads local pack
 * files itself (verifyPackFile), so a check reads and verifies several packs at once.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { LifeboatError } from '../errors.ts';
import type { MasterKey } from '../crypto/crypto.ts';
import { parsePackHeader, type PackedBlob } from '../format/pack.ts';

export interface PackCheckTask {
  readonly kind: 'checkPack';
  readonly path: string;
  readonly id: string;
  readonly indexed: readonly PackedBlob[];
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
  let header: PackedBlob[];
  try {
    header = parsePackHeader(key, buf, buf.length);
  } catch (e) {
    problems.push(`header cannot be read: ${(e as Error).message}`);
    header = [];
  }
  const entry = (b: PackedBlob): string => `${b.type}:${b.id}:${b.offset}:${b.length}:${b.uncompressedLength ?? 0}`;
  if (header.length > 0) {
    const hs = new Set(header.map(entry));
    const is = new Set(indexed.map(entry));
    for (const b of indexed) if (!hs.has(entry(b))) problems.push(`index entry for blob ${b.id.slice(0, 8)} does not match the pack header`);
    for (const b of header) if (!is.has(entry(b))) problems.push(`pack header entry for blob ${b.id.slice(0, 8)} is not in the index`);
  }
  const results = await Promise.allSettled(
    indexed.map(async (b) => {
      if (b.offset + b.length > buf.length) throw new Error(`blob ${b.id.slice(0, 8)} lies beyond the end of the pack`);
      await verifyBlob(buf.subarray(b.offset, b.offset + b.length), b);
    }),
  );
  results.forEach((r, i) => {
    if (r.status !== 'rejected') return;
    const e = r.reason as unknown;
    // Only a failed MAC, hash or decode is damage; anything else is our own failure and must
    // not be reported as a broken repository.
    const damage = e instanceof LifeboatError ? e.code === 'INTEGRITY' || e.code === 'MALFORMED' : /beyond the end of the pack/.test((e as Error)?.message ?? '');
    if (!damage) throw e;
    problems.push(`blob ${indexed[i]!.id.slice(0, 8)} is damaged: ${(e as Error).message}`);
  });
  return problems;
}

/**
 * Worker side: reads a local pack into a reused buffer and verifies it. Blobs are opened in
 * place (after the whole-file hash), so no blob is copied. A pack that cannot be read is a
 * problem of its own, as on the main thread.
 */
export class PackVerifier {
  #buf = Buffer.allocUnsafeSlow(16 << 20);

  constructor(
    private readonly key: MasterKey,
    private readonly openInPlace: (sealed: Uint8Array, b: PackedBlob) => void,
  ) {}

  async run(task: PackCheckTask): Promise<string[]> {
    let buf: Buffer;
    try {
      buf = this.#read(task.path);
    } catch (e) {
      return [`cannot be read: ${(e as Error).message}`];
    }
    return packProblems(this.key, buf, task.id, task.indexed, async (sealed, b) => this.openInPlace(sealed, b));
  }

  #read(p: string): Buffer {
    const fd = openSync(p, 'r');
    try {
      const size = fstatSync(fd).size;
      // Grow with room to spare: packs run a little over their target size, and every new
      // buffer is fresh memory the old one's garbage sits beside until a collection.
      if (size > this.#buf.length) this.#buf = Buffer.allocUnsafeSlow(Math.max(size, this.#buf.length + (8 << 20)));
      const buf = this.#buf.subarray(0, size);
      let got = 0;
      while (got < size) {
        const n = readSync(fd, buf, got, size - got, got);
        if (n === 0) break;
        got += n;
      }
      return buf.subarray(0, got);
    } finally {
      closeSync(fd);
    }
  }
}
