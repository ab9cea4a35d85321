/**
 * Polynomials over GF(2) as restic's chunker uses them (restic-format.md §3 and §7): a bigint
 * whose bit i is the coefficient of x^i. BigInt is fine here because this code runs once per
 * repository (choosing or validating the polynomial, building tables), never per byte.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { LifeboatError } from '../errors.ts';

/** restic refuses to chunk with a polynomial of higher degree (its digest must fit 64 bits). */
export const MAX_POLYNOMIAL_DEGREE = 53;

const UINT64_MAX = (1n << 64n) - 1n;
const LOW_54_BITS = (1n << 54n) - 1n;
const X = 2n; // the polynomial "x"

/** restic gives up after this many draws; at ~1/27 success per draw it never happens in practice. */
const RANDOM_MAX_TRIES = 1_000_000;

function assertNonNegative(p: bigint): void {
  if (p < 0n) throw new RangeError(`a GF(2) polynomial cannot be negative: ${p}`);
}

/** Degree of p; -1 for the zero polynomial, as restic's Pol.Deg. */
export function polDegree(p: bigint): number {
  assertNonNegative(p);
  return p === 0n ? -1 : p.toString(2).length - 1;
}

/** Remainder of a divided by m (m non-zero). */
export function polMod(a: bigint, m: bigint): bigint {
  const dm = polDegree(m);
  if (dm < 0) throw new RangeError('division by the zero polynomial');
  for (let i = polDegree(a); i >= dm; i--) {
    if ((a >> BigInt(i)) & 1n) a ^= m << BigInt(i - dm);
  }
  return a;
}

/** (a * b) mod m, by Horner's rule over the bits of b so intermediates stay below x^deg(m). */
export function polMulMod(a: bigint, b: bigint, m: bigint): bigint {
  const dm = polDegree(m);
  if (dm < 0) throw new RangeError('division by the zero polynomial');
  const top = 1n << BigInt(dm);
  a = polMod(a, m);
  let res = 0n;
  for (let i = polDegree(b); i >= 0; i--) {
    res <<= 1n;
    if (res & top) res ^= m;
    if ((b >> BigInt(i)) & 1n) res ^= a;
  }
  return res;
}

export function polGcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, polMod(a, b)];
  return a;
}

/**
 * Ben-Or's irreducibility test, the one restic's Pol.Irreducible runs: p of degree d is
 * irreducible iff gcd(p, x^(2^i) - x mod p) = 1 for every i in 1..floor(d/2). We square
 * incrementally where restic recomputes x^(2^i) from scratch; the values are the same.
 * Constants (degree <= 0) are not irreducible by definition (restic would say true for them,
 * but no caller can use such a polynomial, so the mathematical answer is the safer one).
 */
export function isIrreducible(p: bigint): boolean {
  const d = polDegree(p);
  if (d < 1) return false;
  let h = polMod(X, p); // x^(2^0)
  for (let i = 1; i <= d >> 1; i++) {
    h = polMulMod(h, h, p);
    if (polGcd(p, h ^ X) !== 1n) return false;
  }
  return true;
}

export interface RandomPolynomialOptions {
  /** Source of randomness; tests inject a deterministic one. Defaults to node:crypto. */
  readonly randomBytes?: (size: number) => Uint8Array;
}

/**
 * Draws a polynomial the way restic's RandomPolynomial does, so new repositories look like
 * restic's own: 8 random bytes read as a little-endian uint64, bits above 53 dropped, bits 53
 * and 0 set (degree exactly 53, not divisible by x), retried until irreducible.
 */
export function randomPolynomial(opts: RandomPolynomialOptions = {}): bigint {
  const draw = opts.randomBytes ?? nodeRandomBytes;
  for (let i = 0; i < RANDOM_MAX_TRIES; i++) {
    const bytes = draw(8);
    if (bytes.length !== 8) throw new RangeError(`randomBytes returned ${bytes.length} bytes, wanted 8`);
    let f = 0n;
    for (let j = 7; j >= 0; j--) f = (f << 8n) | BigInt(bytes[j]!);
    f = (f & LOW_54_BITS) | (1n << 53n) | 1n;
    if (isIrreducible(f)) return f;
  }
  throw new Error(`no irreducible polynomial found in ${RANDOM_MAX_TRIES} draws; the random source is broken`);
}

/** The config's spelling: lowercase hex, no prefix, no leading zeros (Go strconv.AppendUint base 16). */
export function formatPolynomial(p: bigint): string {
  assertNonNegative(p);
  return p.toString(16);
}

/**
 * Parses `chunker_polynomial` from a repository config. Go's ParseUint(s, 16, 64) decides the
 * syntax (either case, leading zeros allowed, no prefix, at most 64 bits); then the value must be
 * usable by the chunker: non-zero, degree <= 53, and irreducible (restic 0.14 refuses to open a
 * repository whose polynomial is reducible).
 */
export function parsePolynomial(s: string): bigint {
  const shown = JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}...` : s);
  const fail = (why: string): LifeboatError =>
    new LifeboatError('BAD_CONFIG', `Cannot use chunker polynomial ${shown}: ${why}`, {
      hint: 'the repository config is damaged or was written by an incompatible tool',
    });
  if (!/^[0-9a-fA-F]+$/.test(s)) throw fail('not a hexadecimal number');
  const p = BigInt(`0x${s}`);
  if (p > UINT64_MAX) throw fail('it does not fit in 64 bits');
  if (p === 0n) throw fail('it is zero');
  const d = polDegree(p);
  if (d > MAX_POLYNOMIAL_DEGREE) throw fail(`its degree ${d} exceeds ${MAX_POLYNOMIAL_DEGREE}`);
  if (!isIrreducible(p)) throw fail('it is reducible');
  return p;
}
