/**
 * Sealing and opening single blobs (design.rst "Backups and Deduplication", "Compression"): zstd
 * when it pays, then AES-256-CTR and Poly1305-AES; opening checks the MAC, decompresses with the
 * size caps of pack.ts and verifies the SHA-256 against the blob's id. Used on the main thread and
 * in worker threads alike.
 */
import { CRYPTO_OVERHEAD, IV_SIZE, MAC_SIZE, seal, type MasterKey } from '../crypto/crypto.ts';
import { zstdBound, zstdCompressTo, zstdCompressView } from '../compress/zstd.ts';
import { openBlob, withOpenBlob, type PackedBlob } from './pack.ts';
import type { Id } from '../ids.ts';

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
