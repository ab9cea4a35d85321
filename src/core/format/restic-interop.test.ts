/**
 * Oracle tests against the real restic 0.14 binary (restic-format.md §11): restic writes, we read
 * every pack, index and snapshot file with our decoders and compare them field for field; then we
 * write a pack and an index into restic's repository and restic's check --read-data must pass.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, openSync, readSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initZstd, scanFrames } from '../compress/zstd.ts';
import { keyFromJson, open, type MasterKey } from '../crypto/crypto.ts';
import { hashId, type Id, type PackId } from '../ids.ts';
import { MasterIndex } from '../repository/master-index.ts';
import { decodeIndex, encodeIndex, type IndexPack } from './index-file.ts';
import { PACK_HEADER_READ_HINT, PackWriter, expectedPackSize, openBlob, packTailSize, parsePackHeader, type PackedBlob } from './pack.ts';
import { decodeUnpacked, encodeUnpacked } from './unpacked.ts';
import { xorshift32 as prng } from '../../../test/support/prng.ts';

function makeTree(dir: string, seed: number): void {
  const rnd = prng(seed);
  mkdirSync(path.join(dir, 'sub', 'deeper'), { recursive: true });
  mkdirSync(path.join(dir, 'empty-dir'), { recursive: true });
  writeFileSync(path.join(dir, 'empty'), '');
  writeFileSync(path.join(dir, 'one'), 'x');
  const random = Buffer.alloc(3 << 20);
  for (let i = 0; i < random.length; i++) random[i] = rnd() & 0xff;
  writeFileSync(path.join(dir, 'random.bin'), random);
  const words = ['alpha', 'beta', 'gamma', 'delta', 'restic', 'lifeboat', '\n'];
  let text = '';
  while (text.length < 2 << 20) text += words[rnd() % words.length] + ' ';
  writeFileSync(path.join(dir, 'sub', 'text.txt'), text);
  writeFileSync(path.join(dir, 'sub', 'deeper', 'zeros'), Buffer.alloc(1 << 20));
  for (let i = 0; i < 30; i++) writeFileSync(path.join(dir, 'sub', `small-${seed}-${i}`), `small file ${i} ${rnd()}\n`.repeat(1 + (i % 7)));
}

/** Reads a pack's header the way a remote reader would: the hinted tail first, more if needed. */
function readPackHeader(key: MasterKey, file: string): { blobs: PackedBlob[]; reads: number } {
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  try {
    const tailOf = (n: number) => {
      const b = Buffer.alloc(n);
      readSync(fd, b, 0, n, size - n);
      return b;
    };
    let tail = tailOf(Math.min(PACK_HEADER_READ_HINT, size));
    const need = packTailSize(tail, size);
    let reads = 1;
    if (need > tail.length) {
      tail = tailOf(need);
      reads++;
    }
    return { blobs: parsePackHeader(key, tail, size), reads };
  } finally {
    closeSync(fd);
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => /^[0-9a-f]{64}$/.test(n));
  } catch {
    return [];
  }
}

function packFiles(repo: string): { id: string; file: string }[] {
  const out: { id: string; file: string }[] = [];
  for (const xx of readdirSync(path.join(repo, 'data'))) for (const id of listDir(path.join(repo, 'data', xx))) out.push({ id, file: path.join(repo, 'data', xx, id) });
  return out;
}

const byOffset = (a: PackedBlob, b: PackedBlob) => a.offset - b.offset;

describe('restic 0.14 oracle', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'lifeboat-oracle-'));
  before(() => initZstd());
  after(() => rmSync(tmp, { recursive: true, force: true }));

  function setup(name: string, version: 1 | 2) {
    const repo = path.join(tmp, name);
    const env = { ...process.env, RESTIC_PASSWORD: 'oracle', RESTIC_REPOSITORY: repo, RESTIC_CACHE_DIR: path.join(tmp, 'cache') };
    const restic = (...args: string[]) => execFileSync('restic', args, { env, maxBuffer: 256 << 20 });
    restic('init', '--repository-version', String(version));
    const src = path.join(tmp, `${name}-src`);
    makeTree(src, 1);
    restic('backup', '--compression', 'auto', src);
    makeTree(path.join(src, 'second'), 2);
    restic('backup', '--compression', 'off', src);
    const key = keyFromJson(JSON.parse(restic('cat', 'masterkey').toString()));
    return { repo, restic, key };
  }

  for (const version of [2, 1] as const) {
    test(`v${version}: every pack header, blob and index file restic wrote decodes and agrees`, () => {
      const { repo, key } = setup(`read-v${version}`, version);
      const fromHeaders = new Map<string, PackedBlob[]>();
      const kinds = { compressedData: 0, plainData: 0, compressedTree: 0, plainTree: 0, framesWithoutSize: 0, twoReads: 0 };
      for (const { id, file } of packFiles(repo)) {
        const bytes = readFileSync(file);
        assert.equal(hashId(bytes), id, 'pack name is the sha256 of its bytes');
        const { blobs, reads } = readPackHeader(key, file);
        if (reads > 1) kinds.twoReads++;
        assert.deepEqual(parsePackHeader(key, bytes, bytes.length), blobs);
        assert.equal(expectedPackSize(blobs), bytes.length);
        assert.equal(new Set(blobs.map((b) => b.type)).size, 1, 'restic packs hold one blob type');
        for (const b of blobs) {
          const sealed = bytes.subarray(b.offset, b.offset + b.length);
          openBlob(key, sealed, b); // throws unless sha256(plaintext) == id
          if (b.uncompressedLength) {
            if (scanFrames(open(key, sealed)).exact === undefined) kinds.framesWithoutSize++;
            if (b.type === 'data') kinds.compressedData++;
            else kinds.compressedTree++;
          } else if (b.type === 'data') kinds.plainData++;
          else kinds.plainTree++;
        }
        fromHeaders.set(id, blobs);
      }
      if (version === 2) {
        assert.ok(kinds.compressedData > 0 && kinds.plainData > 0 && kinds.compressedTree > 0, JSON.stringify(kinds));
        assert.equal(kinds.plainTree, 0, 'restic compresses trees even with --compression off');
        assert.ok(kinds.framesWithoutSize > 0, 'restic (klauspost) writes some frames without a content size');
      } else {
        assert.equal(kinds.compressedData + kinds.compressedTree, 0);
      }
      assert.ok(kinds.twoReads > 0, 'some pack needed a second header read');
      if (process.env.LIFEBOAT_TEST_VERBOSE) console.log(`v${version} blob kinds`, kinds);

      const fromIndex = new Map<string, PackedBlob[]>();
      const master = new MasterIndex();
      for (const id of listDir(path.join(repo, 'index'))) {
        const file = readFileSync(path.join(repo, 'index', id));
        const json = decodeUnpacked(key, file, { expectedId: id as Id });
        const payload = open(key, file);
        assert.equal(payload[0], version === 2 ? 0x02 : 0x7b);
        const idx = decodeIndex(json);
        assert.equal(idx.legacy, false);
        // Same order in, same bytes out: our encoder writes exactly what restic's json.Encoder does.
        assert.equal(encodeIndex(idx).toString(), json.toString());
        for (const p of idx.packs) {
          assert.ok(!fromIndex.has(p.id), 'a pack appears in one index file');
          fromIndex.set(p.id, [...p.blobs].sort(byOffset));
          master.add(p.id, p.blobs, id as Id);
        }
      }
      assert.deepEqual([...fromIndex.keys()].sort(), [...fromHeaders.keys()].sort());
      for (const [id, blobs] of fromHeaders) assert.deepEqual(fromIndex.get(id), blobs, `pack ${id}`);

      assert.equal(master.counts.packs, fromHeaders.size);
      for (const p of master.packs()) {
        assert.deepEqual(p.blobs, fromHeaders.get(p.id));
        assert.equal(p.size, statSync(path.join(repo, 'data', p.id.slice(0, 2), p.id)).size);
      }
      for (const [packId, blobs] of fromHeaders) {
        for (const b of blobs) {
          const loc = master.lookupAll(b.type, b.id).find((l) => l.packId === packId);
          assert.ok(loc && loc.offset === b.offset && loc.length === b.length && loc.uncompressedLength === b.uncompressedLength);
        }
      }
      for (const id of listDir(path.join(repo, 'snapshots'))) {
        const snap = JSON.parse(decodeUnpacked(key, readFileSync(path.join(repo, 'snapshots', id)), { expectedId: id as Id }).toString());
        assert.ok(master.has('tree', snap.tree), 'snapshot tree is indexed');
      }
    });
  }

  test('restic check --read-data accepts a pack and index written by us; cat blob returns the plaintext', () => {
    const { repo, restic, key } = setup('write-v2', 2);
    const rnd = prng(99);
    const write = (dir: string, bytes: Buffer): string => {
      const id = hashId(bytes);
      const d = dir === 'data' ? path.join(repo, 'data', id.slice(0, 2)) : path.join(repo, dir);
      writeFileSync(path.join(d, id), bytes, { mode: 0o400 });
      return id;
    };
    const plaintexts = new Map<string, Buffer>();
    const buildPack = (type: 'data' | 'tree', items: Buffer[], compress: (i: number) => boolean): IndexPack => {
      const w = new PackWriter(key);
      items.forEach((p, i) => {
        plaintexts.set(hashId(p), p);
        w.add(type, hashId(p), p, { compress: compress(i), verifyId: true });
      });
      const fin = w.finish();
      const bytes = Buffer.concat(fin.bytes);
      assert.equal(write('data', bytes), fin.id);
      return { id: fin.id as PackId, blobs: fin.blobs };
    };
    const data: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      const b = Buffer.alloc(1 + (rnd() % 200_000));
      for (let k = 0; k < b.length; k++) b[k] = i % 2 ? rnd() & 0xff : 0x41 + (rnd() % 3);
      data.push(b);
    }
    const dataPack = buildPack('data', data, (i) => i % 3 !== 0);
    const treePack = buildPack('tree', [Buffer.from('{"nodes":[]}\n'), Buffer.from(`{"nodes":[],"n":${rnd()}}\n`)], (i) => i === 0);
    // One index file in restic's v2 encoding, one as raw JSON (also valid in v2).
    write('index', encodeUnpacked(key, encodeIndex({ packs: [dataPack] }), 2));
    write('index', encodeUnpacked(key, encodeIndex({ packs: [treePack] }), 1));

    const check = spawnSync('restic', ['check', '--read-data'], { env: { ...process.env, RESTIC_PASSWORD: 'oracle', RESTIC_REPOSITORY: repo, RESTIC_CACHE_DIR: path.join(tmp, 'cache') } });
    const out = check.stdout.toString() + check.stderr.toString();
    assert.equal(check.status, 0, out);
    assert.match(out, /no errors were found/);

    for (const b of [...dataPack.blobs, ...treePack.blobs]) {
      const got = restic('cat', 'blob', b.id);
      assert.ok(got.equals(plaintexts.get(b.id)!), `cat blob ${b.id.slice(0, 8)}`);
    }
    const listed = new Set(restic('list', 'blobs').toString().trim().split('\n').map((l) => l.split(' ')[1]));
    for (const b of dataPack.blobs) assert.ok(listed.has(b.id));
    assert.equal(createHash('sha256').update(readFileSync(path.join(repo, 'data', dataPack.id.slice(0, 2), dataPack.id))).digest('hex'), dataPack.id);
  });
});
