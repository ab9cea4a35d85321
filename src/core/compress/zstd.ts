/**
 * zstd (RFC 8878) for blobs and unpacked files (restic-format.md §8), on top of the
 * @bokuweb/zstd-wasm build of libzstd.
 *
 * Why not the package's own compress()/decompress(): its decompress sizes the output from
 * ZSTD_getFrameContentSize, which the wasm build truncates to 32 bits, guesses 1 MiB when a frame
 * has no content size (klauspost and `zstd` reading a pipe write such frames), only looks at the
 * first of several frames, and never checks malloc, so a hostile size can grow the wasm heap to
 * 2 GiB (it never shrinks) or write through a null pointer. Instead we walk the frame and block
 * headers in JS first (scanFrames): that gives the exact size when every frame declares one and a
 * tight upper bound otherwise (a compressed block regenerates at most 128 KiB), and
 * lets us refuse anything above a caller-given cap before a single byte of wasm memory is
 * allocated. libzstd itself is fuzzed and bounds-checks every block against the output capacity.
 *
 * Loading: the package's node entry is CommonJS (require, __dirname), so we load it through
 * createRequire; that works under tsx and after tsc. We drive the exported C functions through its
 * internal Module object, reached by absolute path because package.json "exports" hides it.
 * Contexts are created once and reused (ZSTD_*_usingDict with no dictionary), which avoids
 * re-allocating several MiB of compressor state on every call.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { malformedError } from '../errors.ts';

/** Default cap on decompressed output, in bytes. Trees of huge directories are the largest. */
export const ZSTD_DEFAULT_MAX_SIZE = 512 * 1024 * 1024;

/** wasm32 memory ends at 2 GiB and must also hold the input; larger caps are lowered to this. */
export const ZSTD_HARD_MAX_SIZE = 1024 * 1024 * 1024;

export interface ZstdDecompressOptions {
  /** Refuse (malformedError) any input whose size or bound is above this. */
  readonly maxSize?: number;
}

interface WasmModule {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  _ZSTD_isError(code: number): number;
  _ZSTD_compressBound(size: number): number;
  _ZSTD_createCCtx(): number;
  _ZSTD_createDCtx(): number;
  // prettier-ignore
  _ZSTD_compress_usingDict(cctx: number, dst: number, cap: number, src: number, n: number, dict: number, dictN: number, level: number): number;
  // prettier-ignore
  _ZSTD_decompress_usingDict(dctx: number, dst: number, cap: number, src: number, n: number, dict: number, dictN: number): number;
}

interface Loaded {
  readonly m: WasmModule;
  readonly cctx: number;
  readonly dctx: number;
}

let loaded: Loaded | undefined;
let loading: Promise<void> | undefined;

/** Loads the wasm module. Idempotent and safe to call concurrently. */
export function initZstd(): Promise<void> {
  if (loaded) return Promise.resolve();
  loading ??= load().catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}

async function load(): Promise<void> {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@bokuweb/zstd-wasm');
  const pkg = require(entry) as { init(): Promise<void> };
  await pkg.init();
  const m = (require(path.join(path.dirname(entry), 'module.js')) as { Module: WasmModule }).Module;
  for (const fn of ['_malloc', '_free', '_ZSTD_isError', '_ZSTD_compressBound', '_ZSTD_createCCtx', '_ZSTD_createDCtx', '_ZSTD_compress_usingDict', '_ZSTD_decompress_usingDict'] as const) {
    if (typeof m[fn] !== 'function') throw new Error(`@bokuweb/zstd-wasm: missing ${fn}; the pinned version changed`);
  }
  const cctx = m._ZSTD_createCCtx();
  const dctx = m._ZSTD_createDCtx();
  if (cctx === 0 || dctx === 0) throw new Error('zstd: cannot allocate contexts');
  loaded = { m, cctx, dctx };
}

function get(): Loaded {
  if (!loaded) throw new Error('zstd used before initZstd() resolved');
  return loaded;
}

function alloc(m: WasmModule, size: number, what: string): number {
  const p = m._malloc(Math.max(size, 1));
  if (p === 0) throw malformedError(`Cannot ${what}: out of zstd memory (${size} bytes)`);
  return p;
}

/** Compresses into one standard frame with content size and no checksum (like restic's). */
export function zstdCompress(data: Uint8Array, level = 3): Uint8Array {
  if (!Number.isInteger(level) || level < 1 || level > 22) throw new RangeError(`zstd level ${level} out of range 1..22`);
  const { m, cctx } = get();
  const bound = m._ZSTD_compressBound(data.length);
  const src = alloc(m, data.length, 'compress');
  let dst = 0;
  try {
    dst = alloc(m, bound, 'compress');
    m.HEAPU8.set(data, src);
    const n = m._ZSTD_compress_usingDict(cctx, dst, bound, src, data.length, 0, 0, level);
    if (m._ZSTD_isError(n)) throw malformedError(`Cannot compress: zstd error ${n}`);
    return m.HEAPU8.slice(dst, dst + n);
  } finally {
    m._free(src);
    if (dst !== 0) m._free(dst);
  }
}

/**
 * Decompresses one or more concatenated frames (skippable frames allowed). With expectedSize the
 * output must be exactly that long. Throws malformedError on anything else, never another error.
 */
export function zstdDecompress(data: Uint8Array, expectedSize?: number, opts: ZstdDecompressOptions = {}): Uint8Array {
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
  if (data.length === 0) return new Uint8Array(0);

  const { m, dctx } = get();
  const src = alloc(m, data.length, 'decompress');
  let dst = 0;
  try {
    dst = alloc(m, capacity, 'decompress');
    m.HEAPU8.set(data, src);
    let n: number;
    try {
      n = m._ZSTD_decompress_usingDict(dctx, dst, capacity, src, data.length, 0, 0);
    } catch (e) {
      // libzstd reports bad input as error codes; a wasm trap would be a bug, but the contract
      // for callers stays "MALFORMED, never anything else".
      throw malformedError('Cannot decompress: zstd trapped', e);
    }
    if (m._ZSTD_isError(n)) throw malformedError(`Cannot decompress: invalid zstd data (error ${-n})`);
    if (expectedSize !== undefined && n !== expectedSize) {
      throw malformedError(`Cannot decompress: got ${n} bytes, expected ${expectedSize}`);
    }
    return m.HEAPU8.slice(dst, dst + n);
  } finally {
    m._free(src);
    if (dst !== 0) m._free(dst);
  }
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
