import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { poly1305 as noblePoly1305 } from '@noble/ciphers/_poly1305.js';
import { loadPosix } from '../fs/posix.ts';
import { maskR, open, randomKey, seal, CRYPTO_OVERHEAD } from './crypto.ts';
import { LifeboatError } from '../errors.ts';

test('native poly1305 matches RFC 8439 section 2.5.2 test vector', () => {
  const key = Buffer.from('85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b', 'hex');
  const msg = Buffer.from('Cryptographic Forum Research Group');
  assert.equal(loadPosix().poly1305(msg, key).toString('hex'), 'a8061dc1305136c6c22b8baf0c0127a9');
});

test('native poly1305 agrees with an independent implementation on every length 0..300 and large inputs', () => {
  const p = loadPosix();
  for (let len = 0; len <= 300; len++) {
    const key = randomBytes(32);
    const msg = randomBytes(len);
    assert.equal(p.poly1305(msg, key).toString('hex'), Buffer.from(noblePoly1305(msg, key)).toString('hex'), `length ${len}`);
  }
  for (const len of [1 << 16, (1 << 20) + 7]) {
    const key = Buffer.alloc(32, 0xff); // extreme limbs exercise the carries
    const msg = Buffer.alloc(len, 0xff);
    assert.equal(p.poly1305(msg, key).toString('hex'), Buffer.from(noblePoly1305(msg, key)).toString('hex'));
  }
});

test('seal adds 32 bytes and open returns the plaintext', () => {
  const k = randomKey();
  for (const n of [0, 1, 15, 16, 17, 4096, 100_000]) {
    const p = randomBytes(n);
    const s = seal(k, p);
    assert.equal(s.length, n + CRYPTO_OVERHEAD);
    assert.deepEqual(open(k, s), p);
  }
});

test('open refuses any flipped bit, a short input and an all-zero IV', () => {
  const k = randomKey();
  const s = seal(k, Buffer.from('the last known good copy'));
  for (let i = 0; i < s.length; i++) {
    const t = Buffer.from(s);
    t[i]! ^= 1 << (i % 8);
    assert.throws(() => open(k, t), (e: unknown) => e instanceof LifeboatError && e.code === 'INTEGRITY');
  }
  assert.throws(() => open(k, s.subarray(0, 31)), LifeboatError);
  const z = Buffer.from(s);
  z.fill(0, 0, 16);
  assert.throws(() => open(k, z), LifeboatError);
  assert.throws(() => open(randomKey(), s), LifeboatError);
});

test('maskR clamps as restic does and is idempotent', () => {
  const r = maskR(Buffer.alloc(16, 0xff));
  assert.equal(r.toString('hex'), 'ffffff0ffcffff0ffcffff0ffcffff0f');
  assert.deepEqual(maskR(r), r);
});
