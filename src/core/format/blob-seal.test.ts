import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initZstd, zstdBound } from '../compress/zstd.ts';
import { CRYPTO_OVERHEAD, randomKey, type MasterKey } from '../crypto/crypto.ts';
import { hashId } from '../ids.ts';
import { openBlobBytes, sealBlob, sealIntoSlot } from './blob-seal.ts';
import { xorshift32 as prng } from '../../../test/support/prng.ts';

let key: MasterKey;
before(async () => {
  await initZstd();
  key = randomKey();
});

function inputs(): Record<string, Uint8Array> {
  const rnd = prng(3);
  const random = (n: number): Uint8Array => new Uint8Array(n).map(() => rnd() & 0xff);
  const text = (n: number): Uint8Array => new Uint8Array(n).map(() => 0x61 + (rnd() % 5));
  return {
    'one byte': random(1),
    'small text': text(5000),
    'large text': text(3 << 20),
    // Too small to sample: zstd is tried and its frame comes out larger, so the plaintext is sealed into the same slot.
    'small random': random(100_000),
    // The 64 KiB sample from the middle says zstd is not worth trying.
    'large random': random(2 << 20),
  };
}

test('sealIntoSlot seals into a prefix of the slot it asked for, and the blob opens to the chunk', () => {
  for (const [what, data] of Object.entries(inputs())) {
    let slot: Buffer | undefined;
    const r = sealIntoSlot(key, data, true, (max) => {
      assert.equal(slot, undefined, `${what}: one slot per blob`);
      assert.ok(max <= zstdBound(data.length) + CRYPTO_OVERHEAD, `${what}: slot of ${max}`);
      slot = Buffer.alloc(max);
      return slot;
    });
    assert.ok(slot && r.sealed.buffer === slot.buffer && r.sealed.byteOffset === slot.byteOffset, `${what}: a prefix of its slot`);
    const id = hashId(Buffer.from(data));
    assert.deepEqual(openBlobBytes(key, r.sealed, id, r.uncompressedLength), Buffer.from(data), what);
    // The same decision and size as sealing into fresh memory.
    const fresh = sealBlob(key, data, true);
    assert.equal(r.uncompressedLength, fresh.uncompressedLength, what);
    assert.equal(r.sealed.length, fresh.sealed.length, what);
  }
});

test('sealIntoSlot without compression stores the plaintext sealed', () => {
  const data = inputs()['large text']!;
  const r = sealIntoSlot(key, data, false, (max) => Buffer.alloc(max));
  assert.equal(r.uncompressedLength, undefined);
  assert.equal(r.sealed.length, data.length + CRYPTO_OVERHEAD);
  assert.deepEqual(openBlobBytes(key, r.sealed, hashId(Buffer.from(data)), undefined), Buffer.from(data));
});
