import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalBackend } from '../backend/index.ts';
import { hashId, type Id, type PackId } from '../ids.ts';
import type { PackedBlob } from '../format/pack.ts';
import { MasterIndex } from './master-index.ts';
import { Repository } from './repository.ts';

const id = (s: string): Id => hashId(Buffer.from(s));

/** Synthetic pack entries: `n` blobs, every third one a tree, one blob shared with the next pack. */
function pack(name: string, n: number): { id: PackId; blobs: PackedBlob[] } {
  const blobs: PackedBlob[] = [];
  for (let i = 0; i < n; i++) {
    const b = { type: i % 3 === 0 ? 'tree' : 'data', id: id(`${name}/${i}`), offset: i * 100, length: 90 } as const;
    blobs.push(i % 2 ? { ...b, uncompressedLength: 200 + i } : b);
  }
  blobs.push({ type: 'data', id: id('shared'), offset: n * 100, length: 50 });
  return { id: id(`pack ${name}`) as PackId, blobs };
}

/**
 * Everything an index answers, in a canonical order. Which copy of a blob stored twice comes
 * first depends on the order index files were read in, and either copy is right.
 */
function answers(ix: MasterIndex): string {
  const blobs = [...ix.blobs()].map((b) => JSON.stringify(b)).sort();
  const packs = [...ix.packs()].map((p) => JSON.stringify({ ...p, indexIds: [...p.indexIds].sort() })).sort();
  const all = [...ix.blobs()].map((b) => JSON.stringify([b.type, ix.lookupAll(b.type, b.id).map((l) => JSON.stringify(l)).sort()])).sort();
  return JSON.stringify([ix.counts, blobs, packs, all]);
}

const same = (a: string, b: string, what: string): void => assert.ok(a === b, `${what}: the index differs from decoding the files`);

test('MasterIndex rows exported and imported answer every query as the original does', () => {
  const a = new MasterIndex();
  a.add(pack('a', 50).id, pack('a', 50).blobs, id('index 1'));
  a.add(pack('b', 30).id, pack('b', 30).blobs, id('index 1'));
  a.add(pack('b', 30).id, pack('b', 30).blobs, id('index 2')); // the same pack in two index files
  const b = new MasterIndex();
  b.importRows(a.exportRows());
  assert.equal(answers(b), answers(a));
  assert.equal(b.lookup('data', id('shared'))?.packId, a.lookup('data', id('shared'))?.packId, 'the first location stays first');
  assert.deepEqual(b.pack(id('pack b') as PackId)?.indexIds, [id('index 1'), id('index 2')]);
  const rows = a.exportRows();
  assert.throws(() => new MasterIndex().importRows({ ...rows, pack: rows.pack.map(() => 99) }), /names pack/);
  assert.throws(() => new MasterIndex().importRows({ ...rows, type: rows.type.subarray(1) }), /lengths disagree/);
});

test('the index cache gives the index decoding gives, follows added and removed index files, and ignores a damaged file', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-index-cache-'));
  const repoDir = path.join(dir, 'repo');
  const cache = path.join(dir, 'cache');
  const open = async (withCache: boolean): Promise<Repository> => {
    const r = await Repository.open(new LocalBackend(repoDir), { password: 'pw' });
    if (withCache) r.useIndexCache(cache);
    await r.loadIndex();
    if (withCache) await r.saveIndexCache();
    return r;
  };
  try {
    const repo = await Repository.init(new LocalBackend(repoDir), 'pw', { kdf: { N: 1024, r: 8, p: 1 } });
    const first = await repo.saveIndexFile([pack('a', 600), pack('b', 600)]);
    await repo.saveIndexFile([pack('c', 10)]);

    const fresh = async (): Promise<string> => answers((await open(false)).index);
    const built = await open(true);
    same(answers(built.index), await fresh(), 'first load');
    const file = path.join(cache, readdirSync(cache)[0]!, 'index');
    assert.equal(statSync(file).mode & 0o777, 0o600);

    // Taken from the cache: an index file it covers is not read again (here: damaged in place).
    const indexFile = path.join(repoDir, 'index', first);
    const good = readFileSync(indexFile);
    writeFileSync(indexFile, Buffer.alloc(good.length, 0x55));
    same(answers((await open(true)).index), answers(built.index), 'from the cache');
    await assert.rejects(open(false), /Cannot load index/, 'the damage is real: decoding fails');
    writeFileSync(indexFile, good);

    // A few rows added since are decoded on top and do not rewrite the cache; more do.
    const before = readFileSync(file);
    await repo.saveIndexFile([pack('e', 5)]);
    same(answers((await open(true)).index), await fresh(), 'a small file added');
    assert.deepEqual(readFileSync(file), before, 'five rows behind: not rewritten');
    await repo.saveIndexFile([pack('d', 1500)]);
    same(answers((await open(true)).index), await fresh(), 'a file added');
    const rewritten = readFileSync(file);
    same(answers((await open(true)).index), await fresh(), 'the rewritten cache');

    // A file it covers is gone: the cache is not used, then rewritten.
    await repo.backend.remove('index', first);
    same(answers((await open(true)).index), await fresh(), 'a file removed');
    assert.notDeepEqual(readFileSync(file), rewritten);

    // A damaged cache file is ignored (and rewritten); temp files a killed run left an hour ago go.
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1] ^= 1;
    writeFileSync(file, bytes);
    const stale = `${file}.tmp-1-dead`;
    const live = `${file}.tmp-2-live`;
    writeFileSync(stale, 'x');
    writeFileSync(live, 'x');
    utimesSync(stale, new Date(Date.now() - 7200_000), new Date(Date.now() - 7200_000));
    same(answers((await open(true)).index), await fresh(), 'a damaged cache');
    assert.ok(!existsSync(stale) && existsSync(live), 'only the hour-old temp file is removed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
