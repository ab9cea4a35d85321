/**
 * Worker-thread side of restoring file contents from a local repository: read each sealed blob
 * straight from its pack file, verify and decrypt it (MAC, zstd, SHA-256 against its id, as
 * pack.ts openBlob), and write it at its offset into the target file, whose descriptor the main
 * thread opened (descriptors are shared by all threads of a process). All-zero blobs are
 * skipped, so sparse files stay sparse. The main thread only plans, opens and finishes files.
 */
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { readAtSync } from '../fs/read-at.ts';
import { MAX_BLOB, type RestoreBlob, type WritePart, type WriteTask } from '../workers/index.ts';

/** Verifies and decrypts `sealed` (in place), handing the plaintext to `use` as a view valid during the call. */
export type OpenSealed = (sealed: Uint8Array, id: string, uncompressedLength: number | undefined, use: (plain: Uint8Array) => void) => void;

/** Progress parts are posted after this many bytes, and at the end of the task. */
const PART_BYTES = 16 << 20;
const PACK_FDS = 16;

export class FileWriter {
  #buf = Buffer.allocUnsafeSlow(1 << 20);
  /** Open pack files, least recently used first. */
  readonly #packs = new Map<string, number>();

  constructor(
    private readonly openSealed: OpenSealed,
    private readonly post: (parts: WritePart[]) => void,
  ) {}

  run(task: WriteTask): void {
    let parts: WritePart[] = [];
    let pending = 0;
    try {
      task.files.forEach((f, file) => {
        let bytes = 0;
        let end: WritePart['end'];
        try {
          for (const b of f.blobs) {
            const n = this.#writeBlob(f.fd, b);
            bytes += n;
            pending += n;
            if (pending >= PART_BYTES) {
              parts.push({ file, bytes });
              bytes = 0;
              this.post(parts);
              parts = [];
              pending = 0;
            }
          }
          ftruncateSync(f.fd, f.size);
          end = { ok: true };
        } catch (e) {
          const err = e as NodeJS.ErrnoException;
          end = { error: { code: err.code, message: err.message } };
        }
        parts.push({ file, bytes, end });
      });
    } finally {
      if (parts.length > 0) this.post(parts);
    }
  }

  #writeBlob(fd: number, b: RestoreBlob): number {
    if (b.length > this.#buf.length) {
      // Doubling, but never past the largest blob lifeboat or restic writes unless this one is
      // larger: a blob just over 8 MiB must not make the buffer 16 MiB.
      this.#buf = Buffer.allocUnsafeSlow(Math.max(b.length, Math.min(this.#buf.length * 2, MAX_BLOB)));
    }
    const sealed = this.#buf.subarray(0, b.length);
    const pfd = this.#pack(b.pack);
    if (readAtSync(pfd, sealed, b.offset) < b.length) {
      throw new Error(`pack ${b.pack.slice(-64, -56)} ends before blob ${b.id.slice(0, 8)} (offset ${b.offset}, length ${b.length})`);
    }
    let written = 0;
    this.openSealed(sealed, b.id, b.uncompressedLength, (data) => {
      written = data.length;
      if (isZero(data)) return;
      let done = 0;
      while (done < data.length) done += writeSync(fd, data, done, data.length - done, b.at + done);
    });
    return written;
  }

  #pack(p: string): number {
    const fd = this.#packs.get(p);
    if (fd !== undefined) {
      this.#packs.delete(p);
      this.#packs.set(p, fd);
      return fd;
    }
    const opened = openSync(p, 'r');
    this.#packs.set(p, opened);
    while (this.#packs.size > PACK_FDS) {
      const [oldest, ofd] = this.#packs.entries().next().value as [string, number];
      this.#packs.delete(oldest);
      closeSync(ofd);
    }
    return opened;
  }
}

const ZERO = Buffer.alloc(1 << 20);

function isZero(b: Uint8Array): boolean {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  for (let o = 0; o < buf.length; o += ZERO.length) {
    const end = Math.min(buf.length, o + ZERO.length);
    if (!ZERO.subarray(0, end - o).equals(buf.subarray(o, end))) return false;
  }
  return true;
}
