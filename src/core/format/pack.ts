/**
 * Pack files (restic-format.md §4; restic internal/pack/pack.go).
 *
 *   pack   = seal(blob_1) || ... || seal(blob_n) || seal(header) || u32le(len(seal(header)))
 *   header = entry_1 || ... || entry_n, in blob order; offsets are implicit (contiguous from 0)
 *   entry  = type(1) || enc_len(u32le) || id(32)                     37 B, type 0 data / 1 tree
 *          | type(1) || enc_len(u32le) || raw_len(u32le) || id(32)   41 B, type 2 data / 3 tree
 *
 * enc_len counts the blob's 32 bytes of IV and MAC; raw_len is the plaintext length after zstd,
 * and raw_len == 0 is how the index says "uncompressed", so an empty plaintext is never stored
 * compressed. pack size = 36 + Σ(enc_len + entry size); pack id = sha256(whole file).
 * A pack holds blobs of one type only (restic 0.14 check flags mixed packs).
 */
import { createHash } from 'node:crypto';
import { zstdCompress, zstdDecompressView } from '../compress/zstd.ts';
import { CRYPTO_OVERHEAD, open, openInPlace, seal, type MasterKey } from '../crypto/crypto.ts';
import { integrityError, malformedError } from '../errors.ts';
import { hashId, idFromBytes, idToBytes, parseId, type BlobId, type PackId } from '../ids.ts';

export type BlobType = 'data' | 'tree';

/** One blob's place in a pack; the same fields restic keeps in an index entry. */
export interface PackedBlob {
  readonly type: BlobType;
  readonly id: BlobId;
  readonly offset: number;
  /** enc_len: bytes in the pack, crypto overhead included. */
  readonly length: number;
  /** raw_len: present (and > 0) only for compressed blobs. */
  readonly uncompressedLength?: number;
}

export const PLAIN_ENTRY_SIZE = 37;
export const COMPRESSED_ENTRY_SIZE = 41;
/** Bytes a pack spends beside its blobs and entries: sealed-header overhead plus the length field. */
export const PACK_HEADER_OVERHEAD = CRYPTO_OVERHEAD + 4;
/** restic's MaxHeaderSize minus the length field: a sealed header may not be larger. */
export const MAX_PACK_HEADER_SIZE = 16 * 1024 * 1024;
/** restic refuses files smaller than one plain entry plus the header overhead. */
export const MIN_PACK_SIZE = PLAIN_ENTRY_SIZE + PACK_HEADER_OVERHEAD;
/**
 * How many bytes from the end of a pack to read first: enough for 15 entries, as restic reads
 * eagerly. If packTailSize() says more are needed, read that many and call parsePackHeader again.
 */
export const PACK_HEADER_READ_HINT = 15 * COMPRESSED_ENTRY_SIZE + PACK_HEADER_OVERHEAD;

const MAX_U32 = 0xffffffff;

export function entrySize(blob: Pick<PackedBlob, 'uncompressedLength'>): number {
  return blob.uncompressedLength ? COMPRESSED_ENTRY_SIZE : PLAIN_ENTRY_SIZE;
}

/** File size restic's check expects from a pack's index entries: 36 + Σ(length + entry size). */
export function expectedPackSize(blobs: readonly PackedBlob[]): number {
  let size = PACK_HEADER_OVERHEAD;
  for (const b of blobs) size += b.length + entrySize(b);
  return size;
}

export interface AddBlobOptions {
  /** Store as zstd (types 2/3). Ignored for empty plaintexts. */
  readonly compress: boolean;
  /** Check that id == sha256(plaintext) before writing (costs one hash). */
  readonly verifyId?: boolean;
}

export interface FinishedPack {
  /** The file's bytes not yet drained (PackWriter.drain), to be written in this order. */
  readonly bytes: Buffer[];
  readonly id: PackId;
  readonly size: number;
  readonly blobs: PackedBlob[];
}

/** Builds one pack, in memory or drained to a file as it grows. Not reusable after finish(). */
export class PackWriter {
  readonly #key: MasterKey;
  readonly #chunks: Buffer[] = [];
  readonly #blobs: PackedBlob[] = [];
  readonly #hash = createHash('sha256');
  #offset = 0;
  #headerSize = PACK_HEADER_OVERHEAD;
  #finished = false;

  constructor(key: MasterKey) {
    this.#key = key;
  }

  /** Bytes of blobs written so far. */
  get blobBytes(): number {
    return this.#offset;
  }

  /** The file size finish() would produce now. */
  get size(): number {
    return this.#offset + this.#headerSize;
  }

  get count(): number {
    return this.#blobs.length;
  }

  get type(): BlobType | undefined {
    return this.#blobs[0]?.type;
  }

  /** True when one more compressed entry would push the header past restic's limit. */
  get headerFull(): boolean {
    return this.#headerSize - 4 + COMPRESSED_ENTRY_SIZE > MAX_PACK_HEADER_SIZE;
  }

  /** Seals (after zstd, if asked) and appends one blob; returns its index entry. */
  add(type: BlobType, blobId: BlobId, plaintext: Uint8Array, opts: AddBlobOptions): PackedBlob {
    this.#checkCanAdd(type);
    const id = parseId(blobId, 'blob id');
    if (opts.verifyId && hashId(plaintext) !== id) throw integrityError(`Cannot add blob ${id.slice(0, 8)}: its id is not the sha256 of its content`);
    if (plaintext.length > MAX_U32) throw new Error('blob too large');
    const compress = opts.compress && plaintext.length > 0;
    const sealed = seal(this.#key, compress ? zstdCompress(plaintext) : plaintext);
    return this.addSealed(type, id, sealed, compress ? plaintext.length : undefined);
  }

  /**
   * Appends a blob sealed elsewhere (a worker thread): `sealed` = seal(key, payload) where payload
   * is zstd(plaintext) when uncompressedLength is given (and > 0), else the plaintext itself.
   */
  addSealed(type: BlobType, blobId: BlobId, sealed: Uint8Array, uncompressedLength: number | undefined): PackedBlob {
    this.#checkCanAdd(type);
    const id = parseId(blobId, 'blob id');
    if (sealed.length < CRYPTO_OVERHEAD || sealed.length > MAX_U32) throw new Error(`invalid sealed blob length ${sealed.length}`);
    if (uncompressedLength !== undefined && (!Number.isInteger(uncompressedLength) || uncompressedLength <= 0 || uncompressedLength > MAX_U32)) {
      throw new Error(`invalid uncompressed length ${uncompressedLength}`);
    }
    const es = uncompressedLength ? COMPRESSED_ENTRY_SIZE : PLAIN_ENTRY_SIZE;
    if (this.#headerSize - 4 + es > MAX_PACK_HEADER_SIZE) throw new Error('pack header full');
    if (this.#offset + sealed.length + this.#headerSize + es > MAX_U32) throw new Error('pack would exceed 4 GiB');
    const blob: PackedBlob = uncompressedLength
      ? { type, id, offset: this.#offset, length: sealed.length, uncompressedLength }
      : { type, id, offset: this.#offset, length: sealed.length };
    const chunk = Buffer.isBuffer(sealed) ? sealed : Buffer.from(sealed.buffer, sealed.byteOffset, sealed.length);
    this.#chunks.push(chunk);
    this.#hash.update(chunk);
    this.#blobs.push(blob);
    this.#offset += sealed.length;
    this.#headerSize += es;
    return blob;
  }

  #checkCanAdd(type: BlobType): void {
    if (this.#finished) throw new Error('PackWriter.add after finish');
    if (type !== 'data' && type !== 'tree') throw new Error(`invalid blob type ${String(type)}`);
    if (this.#blobs.length > 0 && this.#blobs[0]!.type !== type) throw new Error('a pack holds blobs of one type only');
  }

  /**
   * Takes the sealed blobs appended since the last drain(), in file order, so they can be
   * written ahead of finish(); finish() then returns only what was not drained.
   */
  drain(): Buffer[] {
    return this.#chunks.splice(0);
  }

  /** Appends seal(header) || u32le(length) and returns the file's bytes not yet drained. */
  finish(): FinishedPack {
    if (this.#finished) throw new Error('PackWriter.finish called twice');
    if (this.#blobs.length === 0) throw new Error('cannot finish an empty pack');
    this.#finished = true;
    const header = encodePackHeader(this.#blobs);
    const sealed = seal(this.#key, header);
    const trailer = Buffer.allocUnsafe(4);
    trailer.writeUInt32LE(sealed.length, 0);
    this.#hash.update(sealed).update(trailer);
    const bytes = [...this.#chunks, sealed, trailer];
    this.#chunks.length = 0;
    const size = this.#offset + sealed.length + 4;
    return { bytes, id: this.#hash.digest('hex') as PackId, size, blobs: [...this.#blobs] };
  }
}

/** The plaintext header for blobs in pack order. */
export function encodePackHeader(blobs: readonly PackedBlob[]): Buffer {
  let n = 0;
  for (const b of blobs) n += entrySize(b);
  const out = Buffer.allocUnsafe(n);
  let p = 0;
  for (const b of blobs) {
    const compressed = !!b.uncompressedLength;
    out[p] = (b.type === 'tree' ? 1 : 0) + (compressed ? 2 : 0);
    out.writeUInt32LE(b.length, p + 1);
    p += 5;
    if (compressed) {
      out.writeUInt32LE(b.uncompressedLength!, p);
      p += 4;
    }
    idToBytes(b.id).copy(out, p);
    p += 32;
  }
  return out;
}

/**
 * How many bytes at the end of the file hold the sealed header and its length field, validated
 * against restic's limits. `tail` is the file's last tail.length bytes (at least 4).
 */
export function packTailSize(tail: Uint8Array, fileSize: number): number {
  if (!Number.isSafeInteger(fileSize) || fileSize < MIN_PACK_SIZE) throw malformedError(`Cannot read pack header: file is too small (${fileSize} bytes)`);
  if (tail.length < 4 || tail.length > fileSize) throw malformedError(`Cannot read pack header: need the last 4..${fileSize} bytes, got ${tail.length}`);
  const hlen = Buffer.from(tail.buffer, tail.byteOffset, tail.length).readUInt32LE(tail.length - 4);
  if (hlen < CRYPTO_OVERHEAD) throw malformedError(`Cannot read pack header: header length ${hlen} is too small`);
  if (hlen > fileSize - 4) throw malformedError(`Cannot read pack header: header length ${hlen} is larger than the file`);
  if (hlen > MAX_PACK_HEADER_SIZE) throw malformedError(`Cannot read pack header: header length ${hlen} exceeds 16 MiB`);
  return hlen + 4;
}

/**
 * Reads the blob list from the end of a pack. `tail` holds the file's last bytes: read
 * min(PACK_HEADER_READ_HINT, fileSize) first; if packTailSize(tail, fileSize) is larger, read that
 * many. Checks every limit restic checks plus: entries start at 0, are contiguous and end exactly
 * where the header starts; every blob can hold its crypto overhead; compressed entries have a
 * non-zero raw length. MALFORMED for structure, INTEGRITY for a failed MAC.
 */
export function parsePackHeader(key: MasterKey, tail: Buffer, fileSize: number): PackedBlob[] {
  const need = packTailSize(tail, fileSize);
  if (tail.length < need) throw malformedError(`Cannot read pack header: it needs the last ${need} bytes, got ${tail.length}`);
  const headerStart = fileSize - need;
  const plain = open(key, tail.subarray(tail.length - need, tail.length - 4));
  const blobs: PackedBlob[] = [];
  let offset = 0;
  let p = 0;
  while (p < plain.length) {
    const t = plain[p]!;
    if (t > 3) throw malformedError(`Cannot parse pack header: invalid blob type ${t} in entry ${blobs.length}`);
    const compressed = t >= 2;
    const es = compressed ? COMPRESSED_ENTRY_SIZE : PLAIN_ENTRY_SIZE;
    if (plain.length - p < es) throw malformedError(`Cannot parse pack header: entry ${blobs.length} is truncated`);
    const length = plain.readUInt32LE(p + 1);
    const raw = compressed ? plain.readUInt32LE(p + 5) : 0;
    const id = idFromBytes(plain.subarray(p + es - 32, p + es));
    if (length < CRYPTO_OVERHEAD) throw malformedError(`Cannot parse pack header: blob ${id.slice(0, 8)} has length ${length}`);
    if (compressed && raw === 0) throw malformedError(`Cannot parse pack header: compressed blob ${id.slice(0, 8)} has raw length 0`);
    if (offset + length > headerStart) throw malformedError(`Cannot parse pack header: blob ${id.slice(0, 8)} overlaps the header`);
    const type: BlobType = t & 1 ? 'tree' : 'data';
    blobs.push(compressed ? { type, id, offset, length, uncompressedLength: raw } : { type, id, offset, length });
    offset += length;
    p += es;
  }
  if (offset !== headerStart) throw malformedError(`Cannot parse pack header: blobs end at ${offset}, the header starts at ${headerStart}`);
  return blobs;
}

export interface OpenBlobOptions {
  /** Cap on the decompressed size; see ZSTD_DEFAULT_MAX_SIZE. */
  readonly maxSize?: number;
  /** Decrypt over sealedBlob itself (the caller owns it and no longer needs the sealed bytes). */
  readonly inPlace?: boolean;
}

/** Decrypts, decompresses and verifies one blob read from offset..offset+length of its pack. */
export function openBlob(key: MasterKey, sealedBlob: Uint8Array, entry: PackedBlob, opts: OpenBlobOptions = {}): Buffer {
  return withOpenBlob(key, sealedBlob, entry, opts, (plain) => (entry.uncompressedLength ? Buffer.from(plain) : plain));
}

/**
 * As openBlob, but hands the verified plaintext to `use` without copying it: a view into zstd's
 * memory (compressed blobs) or into the decrypted buffer, valid only during the call.
 */
export function withOpenBlob<T>(key: MasterKey, sealedBlob: Uint8Array, entry: PackedBlob, opts: OpenBlobOptions, use: (plain: Buffer) => T): T {
  if (sealedBlob.length !== entry.length) throw malformedError(`Cannot read blob ${entry.id.slice(0, 8)}: got ${sealedBlob.length} bytes, the index says ${entry.length}`);
  const plain = opts.inPlace ? openInPlace(key, sealedBlob) : open(key, sealedBlob);
  const verified = (b: Uint8Array): T => {
    const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
    if (hashId(buf) !== entry.id) throw integrityError(`Cannot read blob ${entry.id.slice(0, 8)}: content does not match its id`);
    return use(buf);
  };
  if (!entry.uncompressedLength) return verified(plain);
  return zstdDecompressView(plain, entry.uncompressedLength, opts.maxSize === undefined ? {} : { maxSize: opts.maxSize }, verified);
}
