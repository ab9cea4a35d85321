/**
 * Chunker module: splits file contents into blobs exactly where restic would
 * (restic-format.md §7), so blobs deduplicate against restic-made snapshots.
 *
 * Algorithm: a Rabin fingerprint over a 64-byte sliding window, modulo the repository's random
 * irreducible polynomial of degree 53 (config `chunker_polynomial`). A chunk ends after the
 * first byte at which it is at least 512 KiB long and the fingerprint's low 20 bits are zero,
 * or at 8 MiB; the last chunk of a file is whatever remains.
 *
 * Invariants: cuts depend only on the file's bytes and the polynomial, never on how the bytes
 * are fed to Chunker.scan(); every polynomial that parsePolynomial() accepts is one restic 0.14
 * accepts too, and randomPolynomial() draws the way restic does.
 */
export {
  Chunker,
  chunkLengths,
  MAX_SIZE,
  MIN_SIZE,
  SPLIT_MASK,
  WINDOW_SIZE,
} from './chunker.ts';
export {
  formatPolynomial,
  isIrreducible,
  MAX_POLYNOMIAL_DEGREE,
  parsePolynomial,
  polDegree,
  randomPolynomial,
  type RandomPolynomialOptions,
} from './polynomial.ts';
