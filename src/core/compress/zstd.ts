/**
 * zstd (RFC 8878) for blobs and unpacked files (restic-format.md §8), on the system's libzstd
 * through the native addon (src/native/zstd.c), compressing and decompressing into buffers we
 * own: no copies in and out of a separate heap, and a scratch buffer per thread reused for
 * blob-sized outputs instead of fresh memory for each.
 *
 * Sizes: before libzstd sees a byte we walk the frame and block headers (scanFrames): that
 * gives the exact size when every frame declares one and a tight upper bound otherwise (a
 * compressed block regenerates at most 128 KiB; klauspost and `zstd` reading a pipe write frames
 * without a content size), so hostile sizes are refused against a caller-given cap before any
 * output memory is allocated. libzstd is fuzzed and bounds-checks every block against the output
 * capacity it is given.
 */
import { loadPosix } from '../fs/posix.ts';
import { malformedError } from '../errors.ts';

/** Default cap on decompressed output, in bytes. Trees of huge directories are the largest. */
export const ZSTD_DEFAULT_MAX_SIZE = 512 * 1024 * 1024;

/** No single output is allowed above this, whatever the caller's cap. */
export const ZSTD_HARD_MAX_SIZE = 1024 * 1024 * 1024;

export interface ZstdDecompressOptions {
  /** Refuse (malformedError) any input whose size or bound is above this. */
  readonly maxSize?: number;
}

/** Loads the native addon (kept async for callers written for the former WebAssembly build). */
export function initZstd(): Promise<void> {
  loadPosix();
  return Promise.resolve();
}

/** Outputs up to this size use the thread's scratch buffer; larger ones get their own memory. */
const SCRATCH_MAX = 16 << 20;
let scratch: Buffer | undefined;
let scratchBusy = false;

/** Runs fn with an output buffer of at least n bytes (the scratch one unless it is in use or too small). */
function withOutput<T>(n: number, fn: (out: Buffer) => T): T {
  if (scratchBusy || n > SCRATCH_MAX) return fn(Buffer.allocUnsafeSlow(Math.max(n, 1)));
  if (!scratch || scratch.length < n) scratch = Buffer.allocUnsafeSlow(Math.max(n, 1 << 20));
  scratchBusy = true;
  try {
    return fn(scratch);
  } finally {
    scratchBusy = false;
  }
}

/** Compresses into one standard frame with content size and no checksum (like restic's). */
export function zstdCompress(data: Uint8Array, level = 3): Uint8Array {
  return zstdCompressView(data, level, (view) => new Uint8Array(view));
}

/** As zstdCompress, but hands the frame to `use` as a view of a scratch buffer, valid only during the call. */
export function zstdCompressView<T>(data: Uint8Array, level: number, use: (view: Uint8Array) => T): T {
  if (!Number.isInteger(level) || level < 1 || level > 22) throw new RangeError(`zstd level ${level} out of range 1..22`);
  const posix = loadPosix();
  return withOutput(posix.zstdCompressBound(data.length), (out) => {
    let n: number;
    try {
      n = posix.zstdCompressInto(data, out, level);
    } catch (e) {
      throw malformedError(`Cannot compress: ${(e as Error).message}`, e);
    }
    return use(out.subarray(0, n));
  });
}

/**
 * libzstd's ZSTD_COMPRESSBOUND: the most one frame of n bytes compresses to (n plus 1/256, plus
 * a little for inputs under 128 KiB). Pure arithmetic, so sizes can be planned without the addon.
 */
export function zstdBound(n: number): number {
  return n + Math.floor(n / 256) + (n < 128 << 10 ? ((128 << 10) - n) >> 11 : 0);
}

/** Compresses into `out` (at least zstdBound(data.length) bytes) and returns the frame's length. */
export function zstdCompressTo(data: Uint8Array, out: Uint8Array, level = 3): number {
  if (out.length < zstdBound(data.length)) throw new RangeError(`zstd output of ${out.length} bytes is below the bound for ${data.length}`);
  try {
    return loadPosix().zstdCompressInto(data, out, level);
  } catch (e) {
    throw malformedError(`Cannot compress: ${(e as Error).message}`, e);
  }
}

/**
 * Decompresses one or more concatenated frames (skippable frames allowed). With expectedSize the
 * output must be exactly that long. Throws malformedError on anything else, never another error.
 */
export function zstdDecompress(data: Uint8Array, expectedSize?: number, opts: ZstdDecompressOptions = {}): Uint8Array {
  return zstdDecompressView(data, expectedSize, opts, (view) => new Uint8Array(view));
}

/**
 * As zstdDecompress, but hands the output to `use` as a view of a scratch buffer, valid only
 * during the call (no copy: hashing or writing it needs none). Returns what `use` returns.
 */
export function zstdDecompressView<T>(data: Uint8Array, expectedSize: number | undefined, opts: ZstdDecompressOptions, use: (view: Uint8Array) => T): T {
  const maxSize = Math.min(opts.maxSize ?? ZSTD_DEFAULT_MAX_SIZE, ZSTD_HARD_MAX_SIZE);
  if (expectedSize !== undefined) {
    if (!Number.isSafeInteger(expectedSize) || expectedSize < 0) throw malformedError(`Cannot decompress: invalid expected size ${expectedSize}`);
    if (expectedSize > maxSize) throw malformedError(`Cannot decompress: expected size ${expectedSize} exceeds the limit of ${maxSize} bytes`);
  }
  const scan = scanFrames(data);
  if (scan.exact !== undefined && expectedSize !== undefined && scan.exact !== expectedSize) {
    throw malformedError(`Cannot decompress: frames declare ${scan.exact} bytes, expected ${expectedSize}`);
  }
  if (expectedSize !== undefined && expectedSize > scan.bound) {
    throw malformedError(`Cannot decompress: frames hold at most ${scan.bound} bytes, expected ${expectedSize}`);
  }
  // Capacity: the expected size if given (libzstd reports dstSize_tooSmall if the data wants
  // more), else the exact declared size, else the bound.
  const capacity = expectedSize ?? scan.exact ?? scan.bound;
  if (capacity > maxSize) throw malformedError(`Cannot decompress: output of up to ${capacity} bytes exceeds the limit of ${maxSize} bytes`);
  if (data.length === 0) return use(new Uint8Array(0));
  const posix = loadPosix();
  return withOutput(capacity, (out) => {
    let n: number;
    try {
      n = posix.zstdDecompressInto(data, out.subarray(0, capacity));
    } catch (e) {
      throw malformedError(`Cannot decompress: invalid zstd data (${(e as Error).message})`, e);
    }
    if (expectedSize !== undefined && n !== expectedSize) {
      throw malformedError(`Cannot decompress: got ${n} bytes, expected ${expectedSize}`);
    }
    return use(out.subarray(0, n));
  });
}

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const MAX_BLOCK = 128 * 1024;

export interface FrameScan {
  /** Sum of declared content sizes, when every frame declares one. */
  readonly exact: number | undefined;
  /** Upper bound on the decompressed size. */
  readonly bound: number;
  /** Number of (non-skippable) frames. */
  readonly frames: number;
}

/**
 * Walks frame and block headers without decoding (RFC 8878 §3.1). Validates that the input is a
 * sequence of complete frames with no trailing bytes; sizes above 2^53 become Infinity.
 */
export function scanFrames(data: Uint8Array): FrameScan {
  const n = data.length;
  const u32 = (p: number): number => (data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16) | (data[p + 3]! << 24)) >>> 0;
  const bad = (why: string): never => {
    throw malformedError(`Cannot decompress: invalid zstd data (${why})`);
  };
  let pos = 0;
  let exact: number | undefined = 0;
  let bound = 0;
  let frames = 0;
  while (pos < n) {
    if (n - pos < 4) bad('truncated magic');
    const magic = u32(pos);
    pos += 4;
    if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) {
      if (n - pos < 4) bad('truncated skippable frame');
      const len = u32(pos);
      pos += 4;
      if (len > n - pos) bad('truncated skippable frame');
      pos += len;
      continue;
    }
    if (magic !== FRAME_MAGIC) bad('unknown frame magic');
    frames++;
    if (pos >= n) bad('truncated frame header');
    const fhd = data[pos++]!;
    const fcsFlag = fhd >> 6;
    const single = (fhd & 0x20) !== 0;
    if (fhd & 0x08) bad('reserved bit set');
    const checksum = (fhd & 0x04) !== 0;
    const dictIdSize = [0, 1, 2, 4][fhd & 3]!;
    const fcsSize = fcsFlag === 0 ? (single ? 1 : 0) : [0, 2, 4, 8][fcsFlag]!;
    const headerRest = (single ? 0 : 1) + dictIdSize + fcsSize;
    if (n - pos < headerRest) bad('truncated frame header');
    if (!single) pos++; // window descriptor: not needed for a bound
    pos += dictIdSize;
    let fcs: number | undefined;
    if (fcsSize === 1) fcs = data[pos]!;
    else if (fcsSize === 2) fcs = (data[pos]! | (data[pos + 1]! << 8)) + 256;
    else if (fcsSize === 4) fcs = u32(pos);
    else if (fcsSize === 8) {
      const hi = u32(pos + 4);
      fcs = hi > 0x1fffff ? Infinity : hi * 2 ** 32 + u32(pos);
    }
    pos += fcsSize;
    let produced = 0; // upper bound for this frame
    for (;;) {
      if (n - pos < 3) bad('truncated block header');
      const bh = data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16);
      pos += 3;
      const last = (bh & 1) !== 0;
      const type = (bh >> 1) & 3;
      const size = bh >>> 3;
      if (type === 0) {
        if (size > n - pos) bad('truncated raw block');
        pos += size;
        produced += size;
      } else if (type === 1) {
        if (n - pos < 1) bad('truncated RLE block');
        pos += 1;
        produced += size;
      } else if (type === 2) {
        if (size > n - pos) bad('truncated compressed block');
        pos += size;
        produced += MAX_BLOCK; // at most min(window, 128 KiB); 128 KiB keeps the bound safe
      } else {
        bad('reserved block type');
      }
      if (last) break;
    }
    if (checksum) {
      if (n - pos < 4) bad('truncated checksum');
      pos += 4;
    }
    if (fcs === undefined) {
      exact = undefined;
      bound += produced;
    } else {
      if (exact !== undefined) exact += fcs;
      bound += Math.min(fcs, produced);
    }
  }
  return { exact, bound, frames };
}
