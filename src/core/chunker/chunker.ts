/**
 * restic's content-defined chunker, bit-exact (restic-format.md §7; restic/chunker v0.4.0).
 * If a single cut differed from restic's, no data blob would deduplicate against a restic-made
 * snapshot, so every detail below (seed byte, skipped prefix, cut test order) is load-bearing.
 */
import { LifeboatError } from '../errors.ts';
import { MAX_POLYNOMIAL_DEGREE, formatPolynomial, polDegree, polMod } from './polynomial.ts';
import { loadPosix } from '../fs/posix.ts';

export const MIN_SIZE = 512 * 1024;
export const MAX_SIZE = 8 * 1024 * 1024;
export const WINDOW_SIZE = 64;
/** A cut needs the low 20 fingerprint bits zero: about 1 MiB past MIN_SIZE on average. */
export const SPLIT_MASK = (1 << 20) - 1;

/**
 * restic's chunker computes `digest >> (deg - 8)` and cannot do that for degrees below 8;
 * it rejects them at chunking time, as we do in the constructor.
 */
const MIN_POLYNOMIAL_DEGREE = 8;

const SKIP = MIN_SIZE - WINDOW_SIZE;

/**
 * Per-polynomial lookup tables, side by side in one array for the native loop
 * (src/native/chunker.c):
 * - [0..255] mod[b] = ((b << k) mod P) | (b << k): after the digest is shifted left by 8, one
 *   XOR with the entry for its 8 overflow bits clears them and adds their remainder (restic's).
 * - [256..511] out[b] = b * x^(8*64) mod P: what byte b, shifted 64 bytes deep, still
 *   contributes, so XORing it after the update drops b from the window. restic instead XORs
 *   b * x^(8*63) mod P before the update; by linearity the reduced digest is the same after
 *   every byte, and this order takes the reduction index off the per-byte dependency chain.
 */
const tableCache = new Map<bigint, BigUint64Array>();

function tablesFor(pol: bigint, k: number): BigUint64Array {
  const cached = tableCache.get(pol);
  if (cached) return cached;
  const t = new BigUint64Array(512);
  // Both maps are linear in b over GF(2): compute them on the eight single bits, then XOR.
  for (let bit = 0; bit < 8; bit++) {
    const b = 1 << bit;
    const high = BigInt(b) << BigInt(k);
    t[b] = polMod(high, pol) | high;
    t[256 + b] = polMod(BigInt(b) << BigInt(8 * WINDOW_SIZE), pol);
  }
  for (let b = 3; b < 256; b++) {
    const low = b & -b;
    if (low === b) continue;
    t[b] = t[b - low]! ^ t[low]!;
    t[256 + b] = t[256 + b - low]! ^ t[256 + low]!;
  }
  tableCache.set(pol, t);
  return t;
}

type ChunkScan = (tables: BigUint64Array, state: BigUint64Array, data: Uint8Array, start: number, end: number, firstCut: number, stop: number, shift: number) => number;

/**
 * Incremental chunker: feed a file's bytes through scan() in any pieces; cuts do not depend on
 * how the input is split. Each file starts a new chunker (or reset()); at EOF the caller emits
 * the remaining bytes as the last chunk, however short.
 */
export class Chunker {
  readonly pol: bigint;
  readonly #shift: number;
  readonly #tables: BigUint64Array;
  readonly #native: ChunkScan;
  /** [0] digest, [1] window write position, [2..9] the 64-byte window (chunker.c's layout). */
  readonly #state = new BigUint64Array(10);
  readonly #window = new Uint8Array(this.#state.buffer, 16, WINDOW_SIZE);
  /** Bytes of the current chunk consumed so far. */
  #count = 0;

  constructor(pol: bigint) {
    const k = pol > 0n ? polDegree(pol) : -1;
    if (k < MIN_POLYNOMIAL_DEGREE || k > MAX_POLYNOMIAL_DEGREE) {
      const shown = pol >= 0n ? formatPolynomial(pol) : String(pol);
      throw new LifeboatError(
        'BAD_CONFIG',
        `Cannot chunk with polynomial ${shown}: its degree ${k} is outside ${MIN_POLYNOMIAL_DEGREE}..${MAX_POLYNOMIAL_DEGREE}`,
      );
    }
    this.pol = pol;
    this.#shift = k - 8;
    this.#tables = tablesFor(pol, k);
    this.#native = loadPosix().chunkScan;
    this.reset();
  }

  /**
   * Starts a new chunk. restic seeds the window with a single 0x01 byte; since hashing begins
   * 64 bytes before the first possible cut, the seed has left the window by then and does not
   * influence any cut, but it does show in `fingerprint` before that point.
   */
  reset(): void {
    this.#state.fill(0n);
    this.#window[0] = 1;
    this.#state[1] = 1n;
    this.#state[0] = 1n; // 1 mod P = 1: a degree >= 8 polynomial cannot reduce it
    this.#count = 0;
  }

  /** Bytes of the current (uncut) chunk seen so far. */
  get chunkLength(): number {
    return this.#count;
  }

  /** The current Rabin fingerprint of the window, as restic's digest (for tests and diagnostics). */
  get fingerprint(): bigint {
    return this.#state[0]!;
  }

  /**
   * Continues the current chunk with data[start..end). Returns the index in `data` just past
   * the cut if the chunk ends inside the range (the chunker is then reset, so the next call
   * starts a new chunk at that index), or -1 if all of the range was absorbed into the chunk.
   */
  scan(data: Uint8Array, start: number, end: number): number {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start > end || end > data.length) {
      throw new RangeError(`scan range [${start}, ${end}) is not within 0..${data.length}`);
    }
    let i = start;
    let count = this.#count;

    // A cut before MIN_SIZE is impossible and the window only has to hold the chunk's own
    // last 64 bytes by then, so the first SKIP bytes are counted, not hashed.
    if (count < SKIP) {
      const take = Math.min(end - i, SKIP - count);
      i += take;
      count += take;
      if (count < SKIP) {
        this.#count = count;
        return -1;
      }
    }

    // Hash up to `stop`; the MAX_SIZE cut is checked once afterwards instead of per byte. A
    // mask hit before the chunk reaches MIN_SIZE is ignored, as restic does.
    const stop = Math.min(end, i + (MAX_SIZE - count));
    const firstCut = i + (MIN_SIZE - 1 - count);
    let cut = stop > i ? this.#native(this.#tables, this.#state, data, i, end, firstCut, stop, this.#shift) : -1;
    if (cut < 0 && count + (stop - i) >= MAX_SIZE) cut = stop;
    if (cut >= 0) {
      this.reset();
      return cut;
    }
    this.#count = count + (stop - i);
    return -1;
  }
}

/** Lengths of the chunks restic would make of `buf` as one whole file ([] for an empty file). */
export function chunkLengths(pol: bigint, buf: Uint8Array): number[] {
  const chunker = new Chunker(pol);
  const lengths: number[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const cut = chunker.scan(buf, pos, buf.length);
    const next = cut < 0 ? buf.length : cut;
    lengths.push(next - pos);
    pos = next;
  }
  return lengths;
}
