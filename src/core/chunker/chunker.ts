/**
 * restic's content-defined chunker, bit-exact (restic-format.md §7; restic/chunker v0.4.0).
 * If a single cut differed from restic's, no data blob would deduplicate against a restic-made
 * snapshot, so every detail below (seed byte, skipped prefix, cut test order) is load-bearing.
 */
import { LifeboatError } from '../errors.ts';
import { MAX_POLYNOMIAL_DEGREE, formatPolynomial, polDegree, polMod } from './polynomial.ts';

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

/** Bytes of each chunk that are copied without hashing: a cut before MIN_SIZE is impossible,
 * and the window only has to hold the chunk's own last 64 bytes by then. */
const SKIP = MIN_SIZE - WINDOW_SIZE;

/**
 * Per-polynomial lookup tables. Entries are 64-bit values split into 32-bit halves, because the
 * digest exceeds 2^53 and BigInt arithmetic per byte is far too slow; the halves sit side by
 * side ([2b] = high, [2b+1] = low) so one lookup touches one cache line. Int32Array, not
 * Uint32Array: values >= 2^31 read from a Uint32Array are not small integers in V8 and would
 * push the loop off its int32 fast path.
 */
interface Tables {
  /**
   * mod[b] = ((b << k) mod P) | (b << k): after the digest is shifted left by 8, one XOR with
   * the entry for its 8 overflow bits clears them and adds their remainder. restic's table.
   */
  readonly mod: Int32Array;
  /**
   * shift[b] = b * x^(8*64) mod P: what byte b, shifted 64 bytes deep, still contributes, so
   * XORing it after the update drops b from the window. restic instead XORs b * x^(8*63) mod P
   * before the update; by linearity the fully reduced digest is the same after every byte, and
   * this order takes the reduction index before the XOR, one step off the per-byte dependency
   * chain.
   */
  readonly shift: Int32Array;
}

/** One entry (4 KiB) per polynomial, i.e. per repository a process opens; never evicted. */
const tableCache = new Map<bigint, Tables>();

function tablesFor(pol: bigint, k: number): Tables {
  const cached = tableCache.get(pol);
  if (cached) return cached;
  const mod = new BigUint64Array(256);
  const shift = new BigUint64Array(256);
  // Both maps are linear in b over GF(2): compute them on the eight single bits, then XOR.
  for (let bit = 0; bit < 8; bit++) {
    const b = 1 << bit;
    const high = BigInt(b) << BigInt(k);
    mod[b] = polMod(high, pol) | high;
    shift[b] = polMod(BigInt(b) << BigInt(8 * WINDOW_SIZE), pol);
  }
  for (let b = 3; b < 256; b++) {
    const low = b & -b;
    if (low === b) continue;
    mod[b] = mod[b - low]! ^ mod[low]!;
    shift[b] = shift[b - low]! ^ shift[low]!;
  }
  const t: Tables = { mod: split(mod), shift: split(shift) };
  tableCache.set(pol, t);
  return t;
}

function split(values: BigUint64Array): Int32Array {
  const out = new Int32Array(values.length * 2);
  values.forEach((v, b) => {
    out[2 * b] = Number(BigInt.asIntN(32, v >> 32n));
    out[2 * b + 1] = Number(BigInt.asIntN(32, v));
  });
  return out;
}

/**
 * Incremental chunker: feed a file's bytes through scan() in any pieces; cuts do not depend on
 * how the input is split. Each file starts a new chunker (or reset()); at EOF the caller emits
 * the remaining bytes as the last chunk, however short.
 */
export class Chunker {
  readonly pol: bigint;
  readonly #degree: number;
  readonly #tables: Tables;
  readonly #window = new Uint8Array(WINDOW_SIZE);
  #wpos = 0;
  /** The fingerprint (< 2^degree) as two 32-bit halves; lo is kept as a signed int32. */
  #hi = 0;
  #lo = 0;
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
    this.#degree = k;
    this.#tables = tablesFor(pol, k);
    this.reset();
  }

  /**
   * Starts a new chunk. restic seeds the window with a single 0x01 byte; since hashing begins
   * 64 bytes before the first possible cut, the seed has left the window by then and does not
   * influence any cut, but it does show in `fingerprint` before that point.
   */
  reset(): void {
    this.#window.fill(0);
    this.#window[0] = 1;
    this.#wpos = 1;
    this.#hi = 0;
    this.#lo = 1; // 1 mod P = 1: a degree >= 8 polynomial cannot reduce it
    this.#count = 0;
  }

  /** Bytes of the current (uncut) chunk seen so far. */
  get chunkLength(): number {
    return this.#count;
  }

  /** The current Rabin fingerprint of the window, as restic's digest (for tests and diagnostics). */
  get fingerprint(): bigint {
    return (BigInt(this.#hi) << 32n) | BigInt(this.#lo >>> 0);
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

    if (count < SKIP) {
      const take = Math.min(end - i, SKIP - count);
      i += take;
      count += take;
      if (count < SKIP) {
        this.#count = count;
        return -1;
      }
    }

    // Hash up to `stop`; the MAX_SIZE cut is checked once after the loop instead of per byte.
    const stop = Math.min(end, i + (MAX_SIZE - count));
    // Index of the byte after which the chunk first reaches MIN_SIZE. A mask hit before it is
    // ignored, as restic does; that test only runs on hits, so it costs nothing per byte.
    const firstCut = i + (MIN_SIZE - 1 - count);
    const begin = i;
    const { mod, shift } = this.#tables;
    const win = this.#window;
    let wpos = this.#wpos;
    let hi = this.#hi;
    let lo = this.#lo;
    let cut = -1;

    const k = this.#degree;
    const wide = k >= 40;
    const sh = k - 40; // wide: the reduction index is hi >>> sh
    const hs = 40 - k; // narrow: it is (hi << hs) | (lo >>> ls); for degree <= 32 hi stays 0
    const ls = k - 8;

    // The first 64 bytes of this call push out bytes of earlier calls, kept in the window.
    const windowStop = Math.min(stop, begin + WINDOW_SIZE);
    for (; i < windowStop; i++) {
      const b = data[i]!;
      const o = win[wpos]! << 1;
      win[wpos] = b;
      wpos = (wpos + 1) & (WINDOW_SIZE - 1);
      const idx = (wide ? hi >>> sh : (hi << hs) | (lo >>> ls)) << 1;
      hi = ((hi << 8) | (lo >>> 24)) ^ mod[idx]! ^ shift[o]!;
      lo = ((lo << 8) | b) ^ mod[idx + 1]! ^ shift[o + 1]!;
      if ((lo & SPLIT_MASK) === 0 && i >= firstCut) {
        cut = i + 1;
        break;
      }
    }

    // From then on the outgoing byte is still in `data`, which spares a load and a store per
    // byte. Two copies of one loop, differing only in the reduction index; degree 53 (what
    // restic generates) takes the first.
    if (cut < 0 && wide) {
      for (; i < stop; i++) {
        const b = data[i]!;
        const o = data[i - WINDOW_SIZE]! << 1;
        const idx = (hi >>> sh) << 1;
        hi = ((hi << 8) | (lo >>> 24)) ^ mod[idx]! ^ shift[o]!;
        lo = ((lo << 8) | b) ^ mod[idx + 1]! ^ shift[o + 1]!;
        if ((lo & SPLIT_MASK) === 0 && i >= firstCut) {
          cut = i + 1;
          break;
        }
      }
    } else if (cut < 0) {
      for (; i < stop; i++) {
        const b = data[i]!;
        const o = data[i - WINDOW_SIZE]! << 1;
        const idx = ((hi << hs) | (lo >>> ls)) << 1;
        hi = ((hi << 8) | (lo >>> 24)) ^ mod[idx]! ^ shift[o]!;
        lo = ((lo << 8) | b) ^ mod[idx + 1]! ^ shift[o + 1]!;
        if ((lo & SPLIT_MASK) === 0 && i >= firstCut) {
          cut = i + 1;
          break;
        }
      }
    }

    if (cut < 0 && count + (i - begin) >= MAX_SIZE) cut = i;
    if (cut >= 0) {
      this.reset();
      return cut;
    }
    if (i - begin > WINDOW_SIZE) {
      win.set(data.subarray(i - WINDOW_SIZE, i));
      wpos = 0;
    }
    this.#wpos = wpos;
    this.#hi = hi;
    this.#lo = lo;
    this.#count = count + (i - begin);
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
