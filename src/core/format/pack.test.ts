import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { initZstd, zstdCompress } from '../compress/zstd.ts';
import { randomKey, seal, type MasterKey } from '../crypto/crypto.ts';
import { LifeboatError } from '../errors.ts';
import { hashId, idToBytes, type BlobId } from '../ids.ts';
import {
  COMPRESSED_ENTRY_SIZE,
  MIN_PACK_SIZE,
  PACK_HEADER_READ_HINT,
  PLAIN_ENTRY_SIZE,
  PackWriter,
  encodePackHeader,
  expectedPackSize,
  openBlob,
  packTailSize,
  parsePackHeader,
  type BlobType,
  type PackedBlob,
} from './pack.ts';
import { xorshift32 as prng } from '../../../test/support/prng.ts';

function bytes(rnd: () => number, n: number, compressible = false): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = compressible ? 0x61 + (rnd() % 4) : rnd() & 0xff;
  return b;
}

interface Built {
  file: Buffer;
  id: string;
  blobs: PackedBlob[];
  plaintexts: Buffer[];
}

function buildPack(key: MasterKey, rnd: () => number, n: number, type: BlobType = 'data'): Built {
  const w = new PackWriter(key);
  const plaintexts: Buffer[] = [];
  const returned: PackedBlob[] = [];
  for (let i = 0; i < n; i++) {
    const p = i === 0 ? Buffer.alloc(0) : bytes(rnd, 1 + (rnd() % 3000), i % 2 === 0);
    plaintexts.push(p);
    returned.push(w.add(type, hashId(p), p, { compress: i % 3 !== 1, verifyId: true }));
  }
  const expectSize = w.size;
  const fin = w.finish();
  const file = Buffer.concat(fin.bytes);
  assert.equal(fin.size, file.length);
  assert.equal(expectSize, file.length);
  assert.equal(fin.id, createHash('sha256').update(file).digest('hex'));
  assert.deepEqual(fin.blobs, returned);
  return { file, id: fin.id, blobs: fin.blobs, plaintexts };
}

function assertLifeboat(fn: () => unknown, code?: string): void {
  assert.throws(fn, (e: unknown) => e instanceof LifeboatError && (code === undefined || e.code === code));
}

/** A pack whose header plaintext we choose, sealed with the right key. */
function craftPack(key: MasterKey, blobArea: number, header: Buffer): Buffer {
  const sealed = seal(key, header);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(sealed.length);
  return Buffer.concat([Buffer.alloc(blobArea, 7), sealed, len]);
}

function entry(type: number, length: number, id: Buffer, raw?: number): Buffer {
  const e = Buffer.alloc(raw === undefined ? PLAIN_ENTRY_SIZE : COMPRESSED_ENTRY_SIZE);
  e[0] = type;
  e.writeUInt32LE(length, 1);
  if (raw !== undefined) e.writeUInt32LE(raw, 5);
  id.copy(e, e.length - 32);
  return e;
}

describe('pack', () => {
  const key = randomKey();
  before(() => initZstd());

  test('a pack built by PackWriter parses back and every blob opens', () => {
    const b = buildPack(key, prng(1), 40);
    assert.deepEqual(parsePackHeader(key, b.file, b.file.length), b.blobs);
    b.blobs.forEach((blob, i) => {
      assert.deepEqual(openBlob(key, b.file.subarray(blob.offset, blob.offset + blob.length), blob), b.plaintexts[i]);
    });
    assert.equal(expectedPackSize(b.blobs), b.file.length);
  });

  test('offsets are contiguous from 0 and entries are 37 B plain, 41 B compressed', () => {
    const b = buildPack(key, prng(2), 7, 'tree');
    let off = 0;
    for (const blob of b.blobs) {
      assert.equal(blob.offset, off);
      off += blob.length;
      assert.equal(blob.type, 'tree');
    }
    assert.equal(b.blobs[0]!.uncompressedLength, undefined, 'an empty plaintext is never stored compressed');
    assert.equal(b.blobs[1]!.uncompressedLength, undefined);
    assert.equal(b.blobs[2]!.uncompressedLength, b.plaintexts[2]!.length);
    assert.equal(encodePackHeader([b.blobs[1]!]).length, 37);
    assert.equal(encodePackHeader([b.blobs[2]!]).length, 41);
    const headerLen = b.file.readUInt32LE(b.file.length - 4);
    assert.equal(headerLen, 32 + b.blobs.reduce((n, x) => n + (x.uncompressedLength ? 41 : 37), 0));
    assert.equal(b.file.length, 36 + b.blobs.reduce((n, x) => n + x.length + (x.uncompressedLength ? 41 : 37), 0));
  });

  test('the header is read from the file tail: one hinted read, or two for large headers', () => {
    for (const n of [1, 15, 16, 200]) {
      const b = buildPack(key, prng(3 + n), n);
      let tail = b.file.subarray(Math.max(0, b.file.length - PACK_HEADER_READ_HINT));
      const need = packTailSize(tail, b.file.length);
      if (n <= 15) assert.ok(need <= tail.length);
      else assert.ok(need > PACK_HEADER_READ_HINT);
      if (need > tail.length) {
        assertLifeboat(() => parsePackHeader(key, tail, b.file.length), 'MALFORMED');
        tail = b.file.subarray(b.file.length - need);
      }
      assert.deepEqual(parsePackHeader(key, tail, b.file.length), b.blobs);
    }
  });

  test('addSealed takes blobs sealed elsewhere', () => {
    const w = new PackWriter(key);
    const p = Buffer.from('x'.repeat(1000));
    const a = w.addSealed('data', hashId(p), seal(key, zstdCompress(p)), p.length);
    const bb = w.addSealed('data', hashId(p.subarray(1)), seal(key, p.subarray(1)), undefined);
    const fin = w.finish();
    const file = Buffer.concat(fin.bytes);
    assert.deepEqual(parsePackHeader(key, file, file.length), [a, bb]);
    assert.deepEqual(openBlob(key, file.subarray(a.offset, a.offset + a.length), a), p);
    assert.deepEqual(openBlob(key, file.subarray(bb.offset, bb.offset + bb.length), bb), p.subarray(1));
  });

  test('PackWriter refuses mixed types, bad ids, reuse and empty packs', () => {
    const w = new PackWriter(key);
    assert.throws(() => w.finish());
    const p = Buffer.from('abc');
    w.add('data', hashId(p), p, { compress: true });
    assert.throws(() => w.add('tree', hashId(p), p, { compress: true }));
    assert.throws(() => w.add('data', 'nothex' as BlobId, p, { compress: true }));
    assertLifeboat(() => w.add('data', hashId(Buffer.from('other')), p, { compress: true, verifyId: true }), 'INTEGRITY');
    w.finish();
    assert.throws(() => w.add('data', hashId(p), p, { compress: true }));
    assert.throws(() => w.finish());
  });

  test('parsePackHeader enforces restic sanity limits', () => {
    const id = idToBytes(hashId(Buffer.from('a')));
    const good = craftPack(key, 100, entry(0, 100, id));
    assert.equal(parsePackHeader(key, good, good.length).length, 1);
    assert.equal(MIN_PACK_SIZE, 73);
    const withLen = (f: Buffer, hlen: number): Buffer => {
      const c = Buffer.from(f);
      c.writeUInt32LE(hlen, c.length - 4);
      return c;
    };
    assertLifeboat(() => parsePackHeader(key, good.subarray(good.length - 72), 72), 'MALFORMED'); // too small
    assertLifeboat(() => parsePackHeader(key, withLen(good, 0), good.length), 'MALFORMED');
    assertLifeboat(() => parsePackHeader(key, withLen(good, 31), good.length), 'MALFORMED');
    assertLifeboat(() => parsePackHeader(key, withLen(good, good.length - 3), good.length), 'MALFORMED');
    assertLifeboat(() => parsePackHeader(key, withLen(good, 16 * 1024 * 1024 + 1), 32 * 1024 * 1024), 'MALFORMED');
    assertLifeboat(() => parsePackHeader(key, withLen(good, 0xffffffff), good.length), 'MALFORMED');
    assertLifeboat(() => parsePackHeader(key, withLen(good, 40), good.length), 'INTEGRITY'); // MAC over wrong bytes
    assertLifeboat(() => parsePackHeader(randomKey(), good, good.length), 'INTEGRITY');
    // Header contents that do not add up.
    const cases: [number, Buffer][] = [
      [99, entry(0, 100, id)], // blobs overlap the header
      [101, entry(0, 100, id)], // gap before the header
      [100, Buffer.concat([entry(0, 50, id), entry(0, 49, id)])], // ends short
      [100, entry(4, 100, id)], // unknown type
      [100, entry(0, 100, id).subarray(0, 36)], // truncated entry
      [100, entry(2, 100, id).subarray(0, 40)], // truncated compressed entry
      [100, entry(2, 100, id, 0)], // compressed with raw length 0
      [31, entry(0, 31, id)], // blob shorter than its crypto overhead
      [100, Buffer.concat([entry(0, 100, id), Buffer.from([0])])], // trailing byte
      [0, Buffer.alloc(0)], // no entries, but a too-small file
    ];
    for (const [area, header] of cases) {
      const f = craftPack(key, area, header);
      assertLifeboat(() => parsePackHeader(key, f, f.length), 'MALFORMED');
    }
    // A tail that is longer than the file, or shorter than 4 bytes.
    assertLifeboat(() => parsePackHeader(key, good, good.length - 1), 'MALFORMED');
    assertLifeboat(() => parsePackHeader(key, good.subarray(good.length - 3), good.length), 'MALFORMED');
  });

  test('openBlob verifies MAC, length, zstd and the content hash', () => {
    const b = buildPack(key, prng(9), 6);
    const blob = b.blobs[2]!;
    const sealed = b.file.subarray(blob.offset, blob.offset + blob.length);
    assertLifeboat(() => openBlob(randomKey(), sealed, blob), 'INTEGRITY');
    assertLifeboat(() => openBlob(key, sealed.subarray(1), blob), 'MALFORMED');
    assertLifeboat(() => openBlob(key, sealed, { ...blob, id: hashId(Buffer.from('zz')) }), 'INTEGRITY');
    assertLifeboat(() => openBlob(key, sealed, { ...blob, uncompressedLength: blob.uncompressedLength! + 1 }), 'MALFORMED');
    const flipped = Buffer.from(sealed);
    flipped[20]! ^= 1;
    assertLifeboat(() => openBlob(key, flipped, blob), 'INTEGRITY');
    // Authentic bytes that are not zstd.
    const notZstd = seal(key, Buffer.from('definitely not zstd'));
    assertLifeboat(() => openBlob(key, notZstd, { type: 'data', id: hashId(Buffer.from('x')), offset: 0, length: notZstd.length, uncompressedLength: 5 }), 'MALFORMED');
  });

  test('fuzz: mutated, truncated and re-sealed packs only ever raise LifeboatError', () => {
    const rnd = prng(42);
    const b = buildPack(key, rnd, 20);
    const headerPlain = encodePackHeader(b.blobs);
    let refused = 0;
    let parsed = 0;
    const attempt = (fn: () => unknown) => {
      try {
        fn();
        parsed++;
      } catch (e) {
        assert.ok(e instanceof LifeboatError, `unexpected ${String(e)}`);
        refused++;
      }
    };
    for (let i = 0; i < 400; i++) {
      // Raw file mutations: flips, truncations, random sizes.
      const f = Buffer.from(b.file);
      for (let k = 0; k <= rnd() % 3; k++) f[rnd() % f.length]! ^= 1 << (rnd() % 8);
      const cut = rnd() % 3 === 0 ? f.subarray(rnd() % f.length) : f;
      const size = rnd() % 4 === 0 ? rnd() % (2 * f.length) : cut.length;
      attempt(() => parsePackHeader(key, cut, size));
    }
    for (let i = 0; i < 1500; i++) {
      // Header plaintext mutations sealed with the right key: exercises the entry parser.
      let h: Buffer = Buffer.from(headerPlain);
      const mode = rnd() % 4;
      if (mode === 0) for (let k = 0; k <= rnd() % 4; k++) h[rnd() % h.length] = rnd() & 0xff;
      else if (mode === 1) h = h.subarray(0, rnd() % h.length);
      else if (mode === 2) h = Buffer.concat([h, bytes(rnd, 1 + (rnd() % 50))]);
      else h = bytes(rnd, rnd() % 200);
      const area = rnd() % 2 ? b.file.length - 4 - headerPlain.length - 32 : rnd() % 100000;
      const f = craftPack(key, area, h);
      attempt(() => {
        const blobs = parsePackHeader(key, f, f.length);
        for (const x of blobs) openBlob(key, f.subarray(x.offset, x.offset + x.length), x);
      });
    }
    for (let i = 0; i < 300; i++) {
      // Authentic blobs whose payload is mutated zstd, with random claimed sizes.
      const p = bytes(rnd, 2000, true);
      const z = Buffer.from(zstdCompress(p));
      z[rnd() % z.length]! ^= 1 << (rnd() % 8);
      const s = seal(key, z);
      const claimed = rnd() % 2 ? p.length : rnd();
      attempt(() => openBlob(key, s, { type: 'data', id: hashId(p), offset: 0, length: s.length, uncompressedLength: claimed || 1 }));
    }
    assert.ok(refused > 1500, `refused ${refused}, parsed ${parsed}`);
  });
});
