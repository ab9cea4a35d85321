/**
 * Worker-thread side of WorkerPool: seals blobs for packs (zstd when it pays, then AES-CTR and
 * Poly1305) and opens blobs for restore and check (MAC, decrypt, decompress, SHA-256 verify).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { makeKey, seal, type MasterKey } from '../crypto/crypto.ts';
import { initZstd, zstdCompress } from '../compress/zstd.ts';
import { openBlob, type PackedBlob } from '../format/pack.ts';
import type { Id } from '../ids.ts';

export type BlobTask =
  | { readonly kind: 'seal'; readonly data: Uint8Array; readonly compress: boolean | 'always' }
  | { readonly kind: 'open'; readonly sealed: Uint8Array; readonly id: string; readonly uncompressedLength: number | undefined }
  /** As 'open', but only the verdict comes back (check --read-data needs no plaintext). */
  | { readonly kind: 'verify'; readonly sealed: Uint8Array; readonly id: string; readonly uncompressedLength: number | undefined };

export type BlobTaskResult =
  | { readonly kind: 'sealed'; readonly sealed: Uint8Array; readonly uncompressedLength: number | undefined }
  | { readonly kind: 'opened'; readonly data: Uint8Array }
  | { readonly kind: 'verified' }
  | { readonly kind: 'error'; readonly name: string; readonly message: string; readonly code: string | undefined };

const SAMPLE = 64 * 1024;

/**
 * restic 0.14 compresses every blob; storing an incompressible one uncompressed is equally valid
 * v2 (types 0/1) and saves the zstd work on media. A 64 KiB sample decides for large blobs.
 */
export function sealBlob(key: MasterKey, data: Uint8Array, compress: boolean | 'always'): { sealed: Buffer; uncompressedLength: number | undefined } {
  if (compress === 'always' && data.length > 0) {
    // Trees, as restic: restic's prune repacks any v2 tree pack holding an uncompressed blob.
    return { sealed: seal(key, zstdCompress(data, 3)), uncompressedLength: data.length };
  }
  if (compress && data.length > 0) {
    let worth = true;
    if (data.length > 4 * SAMPLE) {
      const mid = Math.floor(data.length / 2);
      const sample = data.subarray(mid, mid + SAMPLE);
      worth = zstdCompress(sample, 1).length < SAMPLE * 0.97;
    }
    if (worth) {
      const c = zstdCompress(data, 3);
      if (c.length < data.length) return { sealed: seal(key, c), uncompressedLength: data.length };
    }
  }
  return { sealed: seal(key, data), uncompressedLength: undefined };
}

/** Opens a sealed blob and verifies it against its id (pack.ts openBlob: MAC, zstd with size caps, SHA-256). */
export function openBlobBytes(key: MasterKey, sealed: Uint8Array, id: string, uncompressedLength: number | undefined): Buffer {
  const entry: PackedBlob = uncompressedLength
    ? { type: 'data', id: id as Id, offset: 0, length: sealed.length, uncompressedLength }
    : { type: 'data', id: id as Id, offset: 0, length: sealed.length };
  return openBlob(key, sealed, entry);
}

/** Small Buffers share Node's 8 KiB pool; only a buffer that owns its memory may be transferred. */
function ownBuffer(b: Uint8Array): Uint8Array {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) return new Uint8Array(b.buffer, 0, b.byteLength);
  return new Uint8Array(b);
}

if (parentPort) {
  const port = parentPort;
  const k = (workerData as { key: { encrypt: Uint8Array; macK: Uint8Array; macR: Uint8Array } }).key;
  const key = makeKey(k.encrypt, k.macK, k.macR);
  const ready = initZstd();
  port.on('message', (task: BlobTask) => {
    ready
      .then(() => {
        if (task.kind === 'seal') {
          const r = sealBlob(key, task.data, task.compress);
          const out = ownBuffer(r.sealed);
          port.postMessage({ kind: 'sealed', sealed: out, uncompressedLength: r.uncompressedLength } satisfies BlobTaskResult, [out.buffer as ArrayBuffer]);
        } else if (task.kind === 'verify') {
          openBlobBytes(key, task.sealed, task.id, task.uncompressedLength);
          port.postMessage({ kind: 'verified' } satisfies BlobTaskResult);
        } else {
          const data = openBlobBytes(key, task.sealed, task.id, task.uncompressedLength);
          const out = ownBuffer(data);
          port.postMessage({ kind: 'opened', data: out } satisfies BlobTaskResult, [out.buffer as ArrayBuffer]);
        }
      })
      .catch((e: unknown) => {
        const err = e as Error & { code?: string };
        port.postMessage({ kind: 'error', name: err?.name ?? 'Error', message: err?.message ?? String(e), code: err?.code } satisfies BlobTaskResult);
      });
  });
}
