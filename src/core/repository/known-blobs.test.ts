import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { KnownBlobs } from './known-blobs.ts';

const id = (n: number): Uint8Array => createHash('sha256').update(String(n)).digest();

test('holds exactly the ids it was built from, also when attached in another view', () => {
  const ids = Array.from({ length: 5000 }, (_, i) => id(i));
  const set = KnownBlobs.build(ids.length, (fn) => ids.forEach(fn));
  const other = KnownBlobs.attach(set.buffer);
  for (const s of [set, other]) {
    assert.ok(ids.every((x) => s.has(x)));
    let false_positives = 0;
    for (let i = 5000; i < 15000; i++) if (s.has(id(i))) false_positives++;
    assert.equal(false_positives, 0);
  }
});

test('colliding first bytes still resolve by the whole id; the zero id is never a member', () => {
  const a = new Uint8Array(32).fill(7);
  const b = new Uint8Array(32).fill(7);
  b[31] = 8;
  const set = KnownBlobs.build(3, (fn) => [a, b, new Uint8Array(32)].forEach(fn));
  assert.ok(set.has(a) && set.has(b));
  const c = new Uint8Array(32).fill(7);
  c[30] = 9;
  assert.equal(set.has(c), false);
  assert.equal(set.has(new Uint8Array(32)), false);
  assert.throws(() => set.has(new Uint8Array(31)), RangeError);
  assert.throws(() => KnownBlobs.attach(new SharedArrayBuffer(96)), RangeError);
});
