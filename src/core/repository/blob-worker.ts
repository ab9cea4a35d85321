/**
 * Worker-thread side of WorkerPool: seals blobs for packs (zstd when it pays, then AES-CTR and
 * Poly1305) and opens blobs for restore and check (MAC, decrypt, decompress, SHA-256 verify).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CRYPTO_OVERHEAD, IV_SIZE, MAC_SIZE, makeKey, seal, type MasterKey } from '../crypto/crypto.ts';
import { initZstd, zstdBound, zstdCompressTo, zstdCompressView } from '../compress/zstd.ts';
import { openBlob, withOpenBlob, type PackedBlob } from '../format/pack.ts';
import type { Id } from '../ids.ts';
import { errorReply, type ErrorReply } from './worker-error.ts';
import { FileChunker, type FilePart, type FileTask } from '../archiver/file-chunker.ts';
import { FileWriter, type WritePart, type WriteTask } from '../restorer/file-writer.ts';
import { PackVerifier, type PackCheckTask } from '../checker/pack-verifier.ts';
import { RingWriter, type RingShare } from '../archiver/seal-ring.ts';

export type BlobTask =
  | { readonly kind: 'seal'; readonly data: Uint8Array; readonly compress: boolean | 'always' }
  | { readonly kind: 'open'; readonly sealed: Uint8Array; readonly id: string; readonly uncompressedLength: number | undefined }
  /** As 'open', but only the verdict comes back (check --read-data needs no plaintext). */
  | { readonly kind: 'verify'; readonly sealed: Uint8Array; readonly id: string; readonly uncompressedLength: number | undefined }
  /** Read, chunk, hash and seal whole files (file-chunker.ts); answers with 'parts' messages, then 'filesDone'. */
  | FileTask
  /** Verify, decrypt and write blobs from local pack files into open files (file-writer.ts); 'written' parts, then 'filesDone'. */
  | WriteTask
  /** check --read-data of one local pack file (pack-verifier.ts); answers 'packChecked'. */
  | PackCheckTask;

export type BlobTaskResult =
  | { readonly kind: 'sealed'; readonly sealed: Uint8Array; readonly uncompressedLength: number | undefined }
  | { readonly kind: 'opened'; readonly data: Uint8Array }
  | { readonly kind: 'verified' }
  /** An intermediate answer to a FileTask; more messages follow for the same task. */
  | { readonly kind: 'parts'; readonly parts: FilePart[] }
  | { readonly kind: 'written'; readonly parts: WritePart[] }
  | { readonly kind: 'filesDone' }
  | { readonly kind: 'packChecked'; readonly problems: string[] }
  | ErrorReply;

const SAMPLE = 64 * 1024;

/** Whether zstd is worth trying: a 64 KiB sample from the middle of a large blob must shrink by 3 %. */
function worthCompressing(data: Uint8Array): boolean {
  if (data.length <= 4 * SAMPLE) return true;
  const mid = Math.floor(data.length / 2);
  return zstdCompressView(data.subarray(mid, mid + SAMPLE), 1, (c) => c.length < SAMPLE * 0.97);
}

/**
 * restic 0.14 compresses every blob; storing an incompressible one uncompressed is equally valid
 * v2 (types 0/1) and saves the zstd work on media. A 64 KiB sample decides for large blobs.
 */
export function sealBlob(key: MasterKey, data: Uint8Array, compress: boolean | 'always'): { sealed: Buffer; uncompressedLength: number | undefined } {
  // Compressed frames are sealed straight from zstd's memory, never copied out first.
  if (compress === 'always' && data.length > 0) {
    // Trees, as restic: restic's prune repacks any v2 tree pack holding an uncompressed blob.
    return { sealed: zstdCompressView(data, 3, (c) => seal(key, c)), uncompressedLength: data.length };
  }
  if (compress && data.length > 0 && worthCompressing(data)) {
    const sealed = zstdCompressView(data, 3, (c) => (c.length < data.length ? seal(key, c) : undefined));
    if (sealed) return { sealed, uncompressedLength: data.length };
  }
  return { sealed: seal(key, data), uncompressedLength: undefined };
}

/**
 * sealBlob for a file worker's ring (file-chunker.ts Seal): the chunk is compressed straight
 * into its ring slot, after the IV's place, and sealed there in place, so no zstd output buffer
 * sits beside the ring. A blob that does not shrink is sealed from the plaintext into the same slot.
 */
export function sealIntoSlot(key: MasterKey, data: Uint8Array, compress: boolean, slot: (max: number) => Buffer): { sealed: Buffer; uncompressedLength: number | undefined } {
  if (compress && data.length > 0 && worthCompressing(data)) {
    const out = slot(zstdBound(data.length) + CRYPTO_OVERHEAD);
    const n = zstdCompressTo(data, out.subarray(IV_SIZE, out.length - MAC_SIZE));
    if (n < data.length) return { sealed: seal(key, out.subarray(IV_SIZE, IV_SIZE + n), () => out.subarray(0, n + CRYPTO_OVERHEAD)), uncompressedLength: data.length };
    return { sealed: seal(key, data, () => out.subarray(0, data.length + CRYPTO_OVERHEAD)), uncompressedLength: undefined };
  }
  const out = slot(data.length + CRYPTO_OVERHEAD);
  return { sealed: seal(key, data, () => out), uncompressedLength: undefined };
}

/** The index entry of a lone sealed data blob, for pack.ts openBlob/withOpenBlob. */
function loneBlob(sealed: Uint8Array, id: string, uncompressedLength: number | undefined): PackedBlob {
  return uncompressedLength
    ? { type: 'data', id: id as Id, offset: 0, length: sealed.length, uncompressedLength }
    : { type: 'data', id: id as Id, offset: 0, length: sealed.length };
}

/** Opens a sealed blob and verifies it against its id (pack.ts openBlob: MAC, zstd with size caps, SHA-256). */
export function openBlobBytes(key: MasterKey, sealed: Uint8Array, id: string, uncompressedLength: number | undefined): Buffer {
  return openBlob(key, sealed, loneBlob(sealed, id, uncompressedLength));
}

/** As openBlobBytes, but decrypting in place, with the plaintext as a view valid only during `use`. */
export function withOpenedBlob<T>(key: MasterKey, sealed: Uint8Array, id: string, uncompressedLength: number | undefined, use: (plain: Buffer) => T): T {
  return withOpenBlob(key, sealed, loneBlob(sealed, id, uncompressedLength), { inPlace: true }, use);
}

/** Small Buffers share Node's 8 KiB pool; only a buffer that owns its memory may be transferred. */
function ownBuffer(b: Uint8Array): Uint8Array {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) return new Uint8Array(b.buffer, 0, b.byteLength);
  return new Uint8Array(b);
}

if (parentPort) {
  const port = parentPort;
  const init = workerData as { key: { encrypt: Uint8Array; macK: Uint8Array; macR: Uint8Array }; ring?: RingShare };
  const key = makeKey(init.key.encrypt, init.key.macK, init.key.macR);
  const ready = initZstd();
  let files: FileChunker | undefined;
  let writer: FileWriter | undefined;
  let packs: PackVerifier | undefined;
  port.on('message', (task: BlobTask) => {
    ready
      .then(() => {
        if (task.kind === 'files') {
          if (!init.ring) throw new Error('file tasks need a worker pool made with seal rings');
          // Sealed blobs are views of the ring, shared with the main thread: posted, not transferred.
          files ??= new FileChunker(
            (plain, compress, slot) => sealIntoSlot(key, plain, compress, slot),
            (parts) => port.postMessage({ kind: 'parts', parts } satisfies BlobTaskResult),
            new RingWriter(init.ring),
          );
          files.run(task);
          port.postMessage({ kind: 'filesDone' } satisfies BlobTaskResult);
        } else if (task.kind === 'checkPack') {
          packs ??= new PackVerifier(key, (sealed, b) => {
            withOpenedBlob(key, sealed, b.id, b.uncompressedLength, () => {});
          });
          return packs.run(task).then((problems) => port.postMessage({ kind: 'packChecked', problems } satisfies BlobTaskResult));
        } else if (task.kind === 'writeFiles') {
          writer ??= new FileWriter(
            (sealed, id, ul, use) => withOpenedBlob(key, sealed, id, ul, use),
            (parts) => port.postMessage({ kind: 'written', parts } satisfies BlobTaskResult),
          );
          writer.run(task);
          port.postMessage({ kind: 'filesDone' } satisfies BlobTaskResult);
        } else if (task.kind === 'seal') {
          const r = sealBlob(key, task.data, task.compress);
          const out = ownBuffer(r.sealed);
          port.postMessage({ kind: 'sealed', sealed: out, uncompressedLength: r.uncompressedLength } satisfies BlobTaskResult, [out.buffer as ArrayBuffer]);
        } else if (task.kind === 'verify') {
          withOpenedBlob(key, task.sealed, task.id, task.uncompressedLength, () => {});
          port.postMessage({ kind: 'verified' } satisfies BlobTaskResult);
        } else {
          const data = openBlobBytes(key, task.sealed, task.id, task.uncompressedLength);
          const out = ownBuffer(data);
          port.postMessage({ kind: 'opened', data: out } satisfies BlobTaskResult, [out.buffer as ArrayBuffer]);
        }
      })
      .catch((e: unknown) => {
        port.postMessage(errorReply(e) satisfies BlobTaskResult);
      });
  });
}
