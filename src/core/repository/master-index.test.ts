import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { LifeboatError } from '../errors.ts';
import type { BlobId, IndexId, PackId } from '../ids.ts';
import { expectedPackSize, type BlobType, type PackedBlob } from '../format/pack.ts';
import { MasterIndex, type BlobLocation } from './master-index.ts';
import { xorshift32 as prng } from '../../../test/support/prng.ts';

const idOf = (s: string) => createHash('sha256').update(s).digest('hex');
const blobId = (n: number) => idOf(`blob ${n}`) as BlobId;
const packId = (n: number) => idOf(`pack ${n}`) as PackId;

/** Blobs laid out contiguously, as a real pack would hold them. */
function packBlobs(ids: BlobId[], type: BlobType, rnd: () => number): PackedBlob[] {
  let off = 0;
  return ids.map((id) => {
    const length = 32 + (rnd() % 100000);
    const b: PackedBlob = rnd() % 2 ? { type, id, offset: off, length, uncompressedLength: 1 + (rnd() % 200000) } : { type, id, offset: off, length };
    off += length;
    return b;
  });
}

describe('MasterIndex', () => {
  test('looks blobs up by type and id', () => {
    const idx = new MasterIndex();
    const blobs: PackedBlob[] = [
      { type: 'data', id: blobId(1), offset: 0, length: 100, uncompressedLength: 300 },
      { type: 'data', id: blobId(2), offset: 100, length: 50 },
    ];
    idx.add(packId(1), blobs);
    assert.deepEqual(idx.lookup('data', blobId(1)), { packId: packId(1), offset: 0, length: 100, uncompressedLength: 300 });
    assert.deepEqual(idx.lookup('data', blobId(2)), { packId: packId(1), offset: 100, length: 50 });
    assert.equal(idx.has('tree', blobId(1)), false, 'the type is part of the key');
    assert.equal(idx.lookup('data', blobId(3)), undefined);
    assert.equal(idx.has('data', blobId(1).toUpperCase() as BlobId), true);
    assert.equal(idx.has('data', 'zz' as BlobId), false);
    assert.equal(idx.has('data', blobId(1).slice(0, 62) as BlobId), false);
    assert.deepEqual(idx.counts, { data: 2, tree: 0, packs: 1, locations: 2 });
  });

  test('keeps every location of a duplicated blob and returns the first', () => {
    const idx = new MasterIndex();
    idx.add(packId(1), [{ type: 'tree', id: blobId(1), offset: 0, length: 40 }]);
    idx.add(packId(2), [
      { type: 'tree', id: blobId(9), offset: 0, length: 40 },
      { type: 'tree', id: blobId(1), offset: 40, length: 44, uncompressedLength: 20 },
    ]);
    assert.equal(idx.lookup('tree', blobId(1))!.packId, packId(1));
    assert.deepEqual(
      idx.lookupAll('tree', blobId(1)).map((l: BlobLocation) => l.packId),
      [packId(1), packId(2)],
    );
    assert.deepEqual(idx.counts, { data: 0, tree: 2, packs: 2, locations: 3 });
  });

  test('the same pack listed by two index files is not counted twice', () => {
    const idx = new MasterIndex();
    const rnd = prng(1);
    const blobs = packBlobs([blobId(1), blobId(2), blobId(3)], 'data', rnd);
    idx.add(packId(1), blobs, 'a'.repeat(64) as IndexId);
    idx.add(packId(1), blobs, 'b'.repeat(64) as IndexId);
    idx.add(packId(1), blobs, 'b'.repeat(64) as IndexId);
    const p = idx.pack(packId(1))!;
    assert.deepEqual(p.blobs, blobs);
    assert.equal(p.size, expectedPackSize(blobs));
    assert.deepEqual(p.indexIds, ['a'.repeat(64), 'b'.repeat(64)]);
    assert.equal(idx.counts.locations, 3);
  });

  test('pack sizes follow restic check: 36 + sum(length + 37|41)', () => {
    const idx = new MasterIndex();
    idx.add(packId(1), [
      { type: 'data', id: blobId(1), offset: 0, length: 46, uncompressedLength: 5 },
      { type: 'data', id: blobId(2), offset: 46, length: 100 },
    ]);
    assert.equal(idx.pack(packId(1))!.size, 36 + 46 + 41 + 100 + 37);
    assert.equal(idx.pack(packId(2)), undefined);
    assert.equal(idx.hasPack(packId(1)), true);
  });

  test('refuses malformed entries', () => {
    const idx = new MasterIndex();
    const bad = [
      { type: 'data', id: 'x'.repeat(64), offset: 0, length: 1 },
      { type: 'data', id: blobId(1), offset: -1, length: 1 },
      { type: 'data', id: blobId(1), offset: 0, length: 2 ** 32 },
      { type: 'data', id: blobId(1), offset: 0, length: 1, uncompressedLength: 0.5 },
    ] as PackedBlob[];
    for (const b of bad) assert.throws(() => idx.add(packId(1), [b]), LifeboatError);
  });

  test('agrees with a naive model over many packs, duplicates and table growth', () => {
    const rnd = prng(7);
    const idx = new MasterIndex();
    const model = new Map<string, BlobLocation[]>();
    const packsModel = new Map<string, PackedBlob[]>();
    let next = 0;
    for (let p = 0; p < 400; p++) {
      const type: BlobType = p % 5 === 0 ? 'tree' : 'data';
      const ids: BlobId[] = [];
      const n = 1 + (rnd() % 150);
      for (let i = 0; i < n; i++) ids.push(rnd() % 10 === 0 && next > 0 ? blobId(rnd() % next) : blobId(next++));
      const blobs = packBlobs(ids, type, rnd);
      idx.add(packId(p), blobs);
      packsModel.set(packId(p), blobs);
      for (const b of blobs) {
        const k = b.type + b.id;
        const loc: BlobLocation = b.uncompressedLength ? { packId: packId(p), offset: b.offset, length: b.length, uncompressedLength: b.uncompressedLength } : { packId: packId(p), offset: b.offset, length: b.length };
        model.set(k, [...(model.get(k) ?? []), loc]);
      }
    }
    let data = 0;
    let tree = 0;
    let locations = 0;
    for (const [k, locs] of model) {
      const type = k.startsWith('tree') ? 'tree' : 'data';
      const id = k.slice(4) as BlobId;
      if (type === 'tree') tree++;
      else data++;
      locations += locs.length;
      assert.deepEqual(idx.lookup(type, id), locs[0]);
      assert.deepEqual(idx.lookupAll(type, id), locs);
    }
    for (let i = next; i < next + 2000; i++) assert.equal(idx.has('data', blobId(i)), false);
    assert.deepEqual(idx.counts, { data, tree, packs: 400, locations });
    let seen = 0;
    for (const p of idx.packs()) {
      const want = packsModel.get(p.id)!;
      assert.deepEqual(p.blobs, want);
      assert.equal(p.size, expectedPackSize(want));
      seen++;
    }
    assert.equal(seen, 400);
    let iterated = 0;
    for (const b of idx.blobs()) {
      assert.ok(model.get(b.type + b.id)!.some((l) => l.packId === b.packId && l.offset === b.offset && l.length === b.length && l.uncompressedLength === b.uncompressedLength));
      iterated++;
    }
    assert.equal(iterated, locations);
  });
});
