import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { initZstd, zstdCompress } from '../compress/zstd.ts';
import { open, randomKey, seal } from '../crypto/crypto.ts';
import { LifeboatError } from '../errors.ts';
import { hashId } from '../ids.ts';
import { decodeUnpacked, encodeUnpacked } from './unpacked.ts';
import { xorshift32 as prng } from '../../../test/support/prng.ts';

function assertLifeboat(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof LifeboatError && e.code === code && (!message || message.test(e.message)));
}

describe('unpacked encoding', () => {
  const key = randomKey();
  const json = Buffer.from(JSON.stringify({ time: '2026-01-01T00:00:00Z', tree: 'a'.repeat(64), paths: ['/srv'], pad: 'x'.repeat(500) }));
  before(() => initZstd());

  test('v2 writes 0x02 || zstd(JSON) and reads it back', () => {
    const file = encodeUnpacked(key, json, 2);
    const payload = open(key, file);
    assert.equal(payload[0], 0x02);
    assert.ok(file.length < json.length, 'the JSON is compressed');
    assert.deepEqual(decodeUnpacked(key, file), json);
  });

  test('v1 writes raw JSON and reads it back', () => {
    const file = encodeUnpacked(key, json, 1);
    assert.deepEqual(open(key, file), json);
    assert.deepEqual(decodeUnpacked(key, file), json);
  });

  test('raw JSON objects and arrays are accepted in any repository version', () => {
    assert.deepEqual(decodeUnpacked(key, seal(key, Buffer.from('[1,2]'))), Buffer.from('[1,2]'));
    assert.deepEqual(decodeUnpacked(key, seal(key, Buffer.from('{}'))), Buffer.from('{}'));
    assert.deepEqual(decodeUnpacked(key, seal(key, Buffer.alloc(0))), Buffer.alloc(0));
  });

  test('anything else is "not supported encoding format"', () => {
    for (const first of [0x00, 0x01, 0x03, 0x20, 0xef]) {
      assertLifeboat(() => decodeUnpacked(key, seal(key, Buffer.from([first, 0x7b, 0x7d]))), 'MALFORMED', /not supported encoding format/);
    }
  });

  test('wrong key, tampering and a name mismatch are integrity errors', () => {
    const file = encodeUnpacked(key, json, 2);
    assertLifeboat(() => decodeUnpacked(randomKey(), file), 'INTEGRITY');
    const t = Buffer.from(file);
    t[t.length - 1]! ^= 1;
    assertLifeboat(() => decodeUnpacked(key, t), 'INTEGRITY');
    assertLifeboat(() => decodeUnpacked(key, file, { expectedId: hashId(t) }), 'INTEGRITY');
    assert.deepEqual(decodeUnpacked(key, file, { expectedId: hashId(file) }), json);
    assertLifeboat(() => decodeUnpacked(key, file.subarray(0, 31)), 'INTEGRITY');
  });

  test('the decompressed size can be capped', () => {
    const big = Buffer.from('{' + ' '.repeat(100_000) + '}');
    const file = encodeUnpacked(key, big, 2);
    assertLifeboat(() => decodeUnpacked(key, file, { maxSize: 50_000 }), 'MALFORMED');
  });

  test('fuzz: authentic but mangled payloads only ever raise LifeboatError', () => {
    const rnd = prng(7);
    const z = Buffer.concat([Buffer.from([2]), zstdCompress(json)]);
    let refused = 0;
    for (let i = 0; i < 1000; i++) {
      let p = Buffer.from(z);
      const mode = rnd() % 3;
      if (mode === 0) for (let k = 0; k <= rnd() % 3; k++) p[1 + (rnd() % (p.length - 1))] = rnd() & 0xff;
      else if (mode === 1) p = p.subarray(0, rnd() % p.length);
      else {
        p = Buffer.alloc(rnd() % 64);
        for (let k = 0; k < p.length; k++) p[k] = rnd() & 0xff;
      }
      try {
        decodeUnpacked(key, seal(key, p));
      } catch (e) {
        assert.ok(e instanceof LifeboatError, `unexpected ${String(e)}`);
        refused++;
      }
    }
    assert.ok(refused > 500);
  });
});
