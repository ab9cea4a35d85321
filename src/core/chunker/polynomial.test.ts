import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LifeboatError } from '../errors.ts';
import {
  formatPolynomial,
  isIrreducible,
  parsePolynomial,
  polDegree,
  polGcd,
  polMod,
  polMulMod,
  randomPolynomial,
} from './polynomial.ts';

/** restic/chunker polynomials_test.go, polIrredTests. */
const IRREDUCIBILITY_VECTORS: ReadonlyArray<readonly [bigint, boolean]> = [
  [0x38f1e565e288dfn, false],
  [0x3da3358b4dc173n, true],
  [0x30a8295b9d5c91n, false],
  [0x255f4350b962cbn, false],
  [0x267f776110a235n, false],
  [0x2f4dae10d41227n, false],
  [0x2482734cacca49n, true],
  [0x312daf4b284899n, false],
  [0x29dfb6553d01d1n, false],
  [0x3548245eb26257n, false],
  [0x3199e7ef4211b3n, false],
  [0x362f39017dae8bn, false],
  [0x200d57aa6fdacbn, false],
  [0x35e0a4efa1d275n, false],
  [0x2ced55b026577fn, false],
  [0x260b012010893dn, false],
  [0x2df29cbcd59e9dn, false],
  [0x3f2ac7488bd429n, false],
  [0x3e5cb1711669fbn, false],
  [0x226d8de57a9959n, false],
  [0x3c8de80aaf5835n, false],
  [0x2026a59efb219bn, false],
  [0x39dfa4d13fb231n, false],
  [0x3143d0464b3299n, false],
];

/** Trial division by every polynomial of degree 1..deg/2: slow, obviously correct. */
function irreducibleByTrialDivision(p: bigint): boolean {
  const d = polDegree(p);
  if (d < 1) return false;
  for (let q = 2n; polDegree(q) <= d >> 1; q++) {
    if (polMod(p, q) === 0n) return false;
  }
  return true;
}

function isBadConfig(err: unknown): boolean {
  return err instanceof LifeboatError && err.code === 'BAD_CONFIG';
}

/** Hands out the given 8-byte draws in order, as a stand-in for crypto randomness. */
function scriptedRandom(draws: readonly bigint[]): { randomBytes: (size: number) => Uint8Array; used: () => number } {
  let next = 0;
  return {
    randomBytes: (size) => {
      assert.equal(size, 8);
      const v = draws[next++];
      assert.ok(v !== undefined, 'randomPolynomial drew more often than scripted');
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigUint64(0, v, true);
      return bytes;
    },
    used: () => next,
  };
}

describe('isIrreducible', () => {
  it('agrees with all 24 vectors of restic/chunker', () => {
    for (const [p, want] of IRREDUCIBILITY_VECTORS) {
      assert.equal(isIrreducible(p), want, `0x${formatPolynomial(p)}`);
    }
  });

  it('accepts the polynomial a real `restic init` (0.14) chose', () => {
    assert.equal(isIrreducible(0x341f4b1d8a0e61n), true);
  });

  it('agrees with trial division for every polynomial up to degree 10', () => {
    for (let p = 0n; p < 1n << 11n; p++) {
      assert.equal(isIrreducible(p), irreducibleByTrialDivision(p), `0x${formatPolynomial(p)}`);
    }
  });

  it('finds as many irreducible polynomials per degree as Gauss counted (1..10)', () => {
    const counts = new Array<number>(11).fill(0);
    for (let p = 2n; p < 1n << 11n; p++) {
      if (isIrreducible(p)) counts[polDegree(p)]!++;
    }
    assert.deepEqual(counts.slice(1), [2, 1, 2, 3, 6, 9, 18, 30, 56, 99]);
  });

  it('rejects constants and squares, accepts the AES polynomial', () => {
    assert.equal(isIrreducible(0n), false);
    assert.equal(isIrreducible(1n), false);
    assert.equal(isIrreducible(0b101n), false); // (x+1)^2
    assert.equal(isIrreducible(0x11bn), true);
    assert.equal(isIrreducible(0x3da3358b4dc173n * 0x3n), false); // degree 54, odd constant term
  });

  it('refuses negative input', () => {
    assert.throws(() => isIrreducible(-3n), RangeError);
  });
});

describe('polynomial arithmetic', () => {
  it('matches the polMod, polGCD and polMulMod vectors of restic/chunker', () => {
    assert.equal(polMod(0b101101001n, 0b1010n), 1n);
    assert.equal(polMod(0b1100001111n, 0b10011n), 0n);
    assert.equal(polMod(0x8000000000000000n, 0x8000000000000000n), 0n);
    assert.equal(polGcd(10n, 50n), 2n);
    assert.equal(polGcd(0x3da3358b4dc173n, 0x230d2259defdn), 1n);
    assert.equal(polGcd(0x230d2259defdn, 0x51b492b3eff2n), 0b10011n);
    assert.equal(polMulMod(0x1230n, 0x230n, 0x55n), 0x22n);
    assert.equal(polMulMod(0x0eae8c07dbbb3026n, 0xd5d6db9de04771den, 0xdd2bda3b77c9n), 0x425ae8595b7an);
  });

  it('gives degrees as restic Pol.Deg, -1 for zero', () => {
    assert.equal(polDegree(0n), -1);
    assert.equal(polDegree(1n), 0);
    assert.equal(polDegree(0x3da3358b4dc173n), 53);
    assert.equal(polDegree(0x8000000000000000n), 63);
  });
});

describe('formatPolynomial and parsePolynomial', () => {
  it('write lowercase hex without prefix or leading zeros, as Go strconv.AppendUint', () => {
    assert.equal(formatPolynomial(0x3da3358b4dc173n), '3da3358b4dc173');
    assert.equal(formatPolynomial(0x11bn), '11b');
    assert.equal(formatPolynomial(0n), '0');
  });

  it('read what Go ParseUint(s, 16, 64) reads: either case, leading zeros', () => {
    assert.equal(parsePolynomial('3da3358b4dc173'), 0x3da3358b4dc173n);
    assert.equal(parsePolynomial('3DA3358B4DC173'), 0x3da3358b4dc173n);
    assert.equal(parsePolynomial('0003da3358b4dc173'), 0x3da3358b4dc173n);
    assert.equal(parsePolynomial(formatPolynomial(0x2482734cacca49n)), 0x2482734cacca49n);
  });

  it('reject malformed, zero, oversized, too-high-degree and reducible polynomials as BAD_CONFIG', () => {
    const bad = [
      '',
      '0x3da3358b4dc173',
      ' 3da3358b4dc173',
      '3da3358b4dc173\n',
      '+3da3358b4dc173',
      '3da3_358b4dc173',
      '3da3358b4dc17g',
      '0',
      '000',
      '10000000000000000', // 2^64: ParseUint overflows
      formatPolynomial((1n << 60n) | 1n), // degree 60
      formatPolynomial(0x3da3358b4dc173n * 0x3n), // degree 54
      '38f1e565e288df', // reducible, restic 0.14 refuses the repository
    ];
    for (const s of bad) {
      assert.throws(() => parsePolynomial(s), isBadConfig, JSON.stringify(s));
    }
  });

  it('say which polynomial is wrong and why', () => {
    assert.throws(() => parsePolynomial('38f1e565e288df'), {
      code: 'BAD_CONFIG',
      message: 'Cannot use chunker polynomial "38f1e565e288df": it is reducible',
    });
  });
});

describe('randomPolynomial', () => {
  it('draws as restic does: little-endian uint64, low 54 bits, bits 53 and 0 set, retry if reducible', () => {
    // Draw 1: all zero becomes x^53 + 1, divisible by x + 1, so it is rejected.
    // Draw 2: restic's test polynomial with junk above bit 53 and bits 53 and 0 cleared.
    const junk = 0xffc0000000000000n;
    const src = scriptedRandom([0n, (junk | 0x3da3358b4dc173n) & ~((1n << 53n) | 1n)]);
    assert.equal(randomPolynomial({ randomBytes: src.randomBytes }), 0x3da3358b4dc173n);
    assert.equal(src.used(), 2);
  });

  it('yields distinct irreducible polynomials of degree 53 that parsePolynomial accepts', () => {
    const seen = new Set<bigint>();
    for (let i = 0; i < 20; i++) {
      const p = randomPolynomial();
      assert.equal(polDegree(p), 53);
      assert.equal(p & 1n, 1n);
      assert.equal(isIrreducible(p), true);
      assert.equal(parsePolynomial(formatPolynomial(p)), p);
      seen.add(p);
    }
    assert.equal(seen.size, 20);
  });
});
