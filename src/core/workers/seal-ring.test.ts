import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MAX_BLOB, RingReleaser, RingStopped, RingWriter, newRing, ringSize } from './seal-ring.ts';
import { xorshift32 as prng } from '../../../test/support/prng.ts';

const released = (share: { control: SharedArrayBuffer }): number => Number(new BigInt64Array(share.control)[0]);

test('a ring never hands out bytes of a blob the main thread still holds, through many wraps and releases in any order', () => {
  const rnd = prng(11);
  const share = newRing(2 * MAX_BLOB + 3_000_001);
  const size = share.bytes.byteLength;
  const writer = new RingWriter(share);
  const releaser = new RingReleaser(share);
  const held: { view: Buffer; end: number; digest: string }[] = [];
  let handOvers = 0;
  /** The main thread's turn: every held blob must still hold what was sealed into it; then it releases them all, shuffled. */
  const handOver = (): void => {
    handOvers++;
    for (const h of held) assert.equal(createHash('sha256').update(h.view).digest('hex'), h.digest, `blob ending at ${h.end} was overwritten`);
    const order = held.splice(0).sort(() => (rnd() & 1 ? 1 : -1));
    for (const h of order) releaser.release(h.end);
  };
  let total = 0;
  for (let i = 0; i < 400; i++) {
    // Mostly blobs of a few hundred KiB, now and then a largest one.
    const n = i % 37 === 0 ? MAX_BLOB : 1 + (rnd() % 700_000);
    const { view, end } = writer.take(n, handOver);
    assert.equal(view.length, n);
    assert.ok(view.byteOffset + n <= size, 'a blob never runs past the end of the ring');
    view.fill(rnd() & 0xff);
    view.writeUInt32LE(i, 0);
    releaser.received(end);
    held.push({ view, end, digest: createHash('sha256').update(view).digest('hex') });
    total += n;
  }
  handOver();
  assert.ok(total > 10 * size, `the test wrapped the ring ${Math.floor(total / size)} times`);
  assert.ok(handOvers > 10);
  assert.equal(releaser.unreleased, 0);
});

test('the released position passes a blob only when every earlier blob is released too', () => {
  const share = newRing(2 * MAX_BLOB);
  const writer = new RingWriter(share);
  const releaser = new RingReleaser(share);
  const ends = [100, 200, 300].map((n) => writer.take(n, () => assert.fail('no wait expected')).end);
  ends.forEach((e) => releaser.received(e));
  releaser.release(ends[1]!);
  releaser.release(ends[2]!);
  assert.equal(released(share), 0, 'the first blob is still held');
  releaser.release(ends[0]!);
  assert.equal(released(share), ends[2]);
  assert.equal(releaser.unreleased, 0);
});

test('shrinking a slot gives its tail back: the next slot starts right after the kept bytes', () => {
  const share = newRing(2 * MAX_BLOB);
  const writer = new RingWriter(share);
  const a = writer.take(MAX_BLOB, () => assert.fail('the ring has room'));
  assert.equal(writer.shrink(1000), 1000);
  const b = writer.take(500, () => assert.fail('the ring has room'));
  assert.equal(b.view.byteOffset, a.view.byteOffset + 1000);
  assert.equal(b.end, 1500);
  assert.throws(() => writer.shrink(501), RangeError);
});

test('a stopped ring makes the waiting worker give up instead of waiting for ever', () => {
  const share = newRing(2 * MAX_BLOB);
  const writer = new RingWriter(share);
  const releaser = new RingReleaser(share);
  const noWait = (): void => assert.fail('the ring has room');
  releaser.received(writer.take(MAX_BLOB, noWait).end);
  releaser.received(writer.take(MAX_BLOB, noWait).end);
  // Full: the next byte fits only once a blob is released; the failed backup stops the ring instead.
  assert.throws(() => writer.take(1, () => releaser.stop()), RingStopped);
});

test('ring sizes leave room for every worker to hold its share of a pack and two largest blobs', () => {
  assert.equal(ringSize(16 << 20, 2, false), (8 << 20) + 3 * MAX_BLOB);
  assert.equal(ringSize(16 << 20, 3, false), Math.ceil((16 << 20) / 3) + 3 * MAX_BLOB);
  assert.equal(ringSize(16 << 20, 2, true), 2 * MAX_BLOB);
  assert.throws(() => newRing(2 * MAX_BLOB - 1), RangeError);
  assert.throws(() => new RingWriter(newRing(2 * MAX_BLOB)).take(MAX_BLOB + 1, () => {}), RangeError);
});
