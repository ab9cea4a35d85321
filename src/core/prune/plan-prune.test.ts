/**
 * Planning and carrying out prune on a hand-built repository whose every pack has a known fate:
 * kept (all used), repacked (partly used; mixed data and tree), removed (unused; holding only a
 * duplicate), an unindexed pack file, and an indexed pack whose file is missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalBackend } from '../backend/index.ts';
import { Repository } from '../repository/repository.ts';
import { MasterIndex } from '../repository/master-index.ts';
import { encodePackHeader, PackWriter, type BlobType, type PackedBlob } from '../format/pack.ts';
import { encodeTree, type TreeNode } from '../format/tree.ts';
import { encodeSnapshot } from '../format/snapshot.ts';
import { ZERO_TIME } from '../format/go-time.ts';
import { seal } from '../crypto/crypto.ts';
import { hashId, type Id, type PackId } from '../ids.ts';
import { LifeboatError } from '../errors.ts';
import { check } from '../checker/checker.ts';
import { planPrune, type PrunePlan } from './plan-prune.ts';
import { executePrune, type PruneEvent } from './execute-prune.ts';
import { forget } from './forget.ts';
import { formatPrunePlan } from './format-prune-plan.ts';

const PW = 'prune unit';
let tmp: string;
before(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'lifeboat-prune-unit-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Blob {
  readonly type: BlobType;
  readonly id: Id;
  readonly plain: Buffer;
}

function bytes(seed: string, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0, h = Buffer.alloc(0); i < n; i += 32) {
    h = createHash('sha256').update(seed).update(String(i)).update(h).digest();
    h.copy(out, i);
  }
  return out;
}
const data = (seed: string): Blob => {
  const plain = bytes(seed, 1000);
  return { type: 'data', id: hashId(plain), plain };
};
function fileNode(name: string, content: Id[]): TreeNode {
  return { name: Buffer.from(name), type: 'file', mode: 0o644, mtime: ZERO_TIME, atime: ZERO_TIME, ctime: ZERO_TIME, uid: 0, gid: 0, inode: 0n, deviceId: 0n, size: 1000n * BigInt(content.length), links: 1n, linktarget: Buffer.alloc(0), extendedAttributes: [], device: 0n, content, subtree: null };
}
const tree = (files: [string, Blob[]][]): Blob => {
  const plain = encodeTree(files.map(([n, bs]) => fileNode(n, bs.map((b) => b.id))));
  return { type: 'tree', id: hashId(plain), plain };
};

async function writePack(repo: Repository, blobs: Blob[]): Promise<{ id: PackId; blobs: PackedBlob[] }> {
  const types = new Set(blobs.map((b) => b.type));
  if (types.size === 1) {
    const w = new PackWriter(repo.key);
    for (const b of blobs) w.add(b.type, b.id, b.plain, { compress: false });
    const fin = w.finish();
    await repo.backend.save('data', fin.id, fin.bytes);
    return { id: fin.id, blobs: fin.blobs };
  }
  // PackWriter refuses mixed packs (we never write them); restic 0.13 and older did.
  const parts: Buffer[] = [];
  const entries: PackedBlob[] = [];
  let offset = 0;
  for (const b of blobs) {
    const s = seal(repo.key, b.plain);
    entries.push({ type: b.type, id: b.id, offset, length: s.length });
    parts.push(s);
    offset += s.length;
  }
  const header = seal(repo.key, encodePackHeader(entries));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  const file = Buffer.concat([...parts, header, len]);
  const id = hashId(file) as PackId;
  await repo.backend.save('data', id, file);
  return { id, blobs: entries };
}

interface Fixture {
  dir: string;
  packs: Record<'keep' | 'dead' | 'part' | 'tree' | 'mixed' | 'dup' | 'unindexed' | 'missing', PackId>;
  blobs: Record<string, Blob>;
  snapshots: string[];
}

async function buildFixture(name: string): Promise<Fixture> {
  const dir = path.join(tmp, name);
  const repo = await Repository.init(new LocalBackend(dir), PW, { kdf: { N: 1024, r: 8, p: 1 } });
  const b: Record<string, Blob> = {};
  for (let i = 1; i <= 10; i++) b[`d${i}`] = data(`${name}-d${i}`);
  b.tA = tree([['a', [b.d1!, b.d2!, b.d8!]]]);
  b.tB = tree([['b', [b.d5!]]]);
  b.tX = tree([['x', [b.d3!]]]); // referenced by no snapshot
  const keep = await writePack(repo, [b.d1!, b.d2!]);
  const dead = await writePack(repo, [b.d3!, b.d4!]);
  const part = await writePack(repo, [b.d5!, b.d6!]);
  const trees = await writePack(repo, [b.tA!, b.tB!]);
  const mixed = await writePack(repo, [b.d8!, b.tX!]);
  const dup = await writePack(repo, [b.d1!, b.d9!]);
  const unindexed = await writePack(repo, [b.d7!]);
  const missing = await writePack(repo, [b.d10!]);
  await repo.saveIndexFile([keep, dead, part]);
  await repo.saveIndexFile([trees, mixed, dup, missing]);
  await repo.backend.remove('data', missing.id);
  const snapshots: string[] = [];
  for (const [t, day] of [[b.tA!, 1], [b.tB!, 2]] as const) {
    snapshots.push(await repo.saveUnpacked('snapshot', encodeSnapshot({ time: `2026-01-0${day}T10:00:00Z`, tree: t.id, paths: ['/x'], hostname: 'h' })));
  }
  await repo.close();
  return {
    dir,
    packs: { keep: keep.id, dead: dead.id, part: part.id, tree: trees.id, mixed: mixed.id, dup: dup.id, unindexed: unindexed.id, missing: missing.id },
    blobs: b,
    snapshots,
  };
}

const open = (dir: string): Promise<Repository> => Repository.open(new LocalBackend(dir), { password: PW });
const ids = (l: readonly { id: string }[]): string[] => l.map((d) => d.id).sort();

describe('planPrune', () => {
  let fx: Fixture;
  let plan: PrunePlan;
  before(async () => {
    fx = await buildFixture('plan');
    const repo = await open(fx.dir);
    // max-unused 0: every partly used pack is repacked (restic's --max-unused 0).
    plan = await planPrune(repo, { packSize: 1000, maxUnused: { percent: 0 } });
    await repo.close();
  });

  test('keeps packs whose blobs are all used', () => {
    assert.deepEqual(ids(plan.keep), [fx.packs.keep, fx.packs.tree].sort());
    for (const d of plan.keep) assert.equal(d.reason, 'all blobs used');
  });

  test('repacks a partly used pack and a pack mixing data and tree blobs', () => {
    assert.deepEqual(ids(plan.repack), [fx.packs.part, fx.packs.mixed].sort());
    assert.equal(plan.repack.find((d) => d.id === fx.packs.mixed)!.reason, 'holds both data and tree blobs');
    assert.match(plan.repack.find((d) => d.id === fx.packs.part)!.reason, /^1 of 2 blobs unused/);
  });

  test('copies only the used blobs of repacked packs that no kept pack holds', () => {
    assert.deepEqual(ids(plan.copy), [fx.blobs.d5!.id, fx.blobs.d8!.id].sort());
  });

  test('removes unused packs, including one whose only used blob is a duplicate of a kept one', () => {
    assert.deepEqual(ids(plan.remove), [fx.packs.dead, fx.packs.dup].sort());
    assert.equal(plan.stats.blobs.duplicate, 1);
  });

  test('deletes pack files no index names, and drops indexed packs that are missing and unneeded', () => {
    assert.deepEqual(ids(plan.unindexed), [fx.packs.unindexed]);
    assert.deepEqual(ids(plan.missing), [fx.packs.missing]);
    assert.equal(plan.indexFiles.length, 2);
    assert.equal(plan.snapshots.length, 2);
    assert.equal(plan.nothingToDo, false);
    assert.ok(plan.bytesAfter < plan.bytesBefore);
  });

  test('formatPrunePlan gives a line with a reason for every pack that changes', () => {
    const lines = formatPrunePlan(plan);
    for (const id of [fx.packs.part, fx.packs.mixed, fx.packs.dead, fx.packs.dup, fx.packs.unindexed, fx.packs.missing]) {
      assert.ok(lines.some((l) => l.includes(id.slice(0, 8)) && l.includes(':')), `no line for ${id.slice(0, 8)}:\n${lines.join('\n')}`);
    }
  });

  test('tolerates unused space in partly used data packs up to maxUnused', async () => {
    const repo = await open(fx.dir);
    const lax = await planPrune(repo, { packSize: 1000, maxUnused: 'unlimited' });
    await repo.close();
    assert.deepEqual(ids(lax.repack), [fx.packs.mixed]);
    assert.match(lax.keep.find((d) => d.id === fx.packs.part)!.reason, /within the tolerated unused space/);
  });

  test('counts removed duplicates as reclaimed unused space, as restic does', async () => {
    // unused (d3 d4 d6 d9 d10 tX) minus removed (d3 d4 d9 d10 and the duplicate d1) minus the
    // mixed pack's tX is 0 with the default 5%, so the partly used data pack may stay.
    const repo = await open(fx.dir);
    const p = await planPrune(repo, { packSize: 1000 });
    await repo.close();
    assert.deepEqual(ids(p.repack), [fx.packs.mixed]);
  });

  test('keeps small fully used packs while there are fewer than 10 of them', async () => {
    const repo = await open(fx.dir);
    const p = await planPrune(repo); // 16 MiB target: every pack here is small
    await repo.close();
    assert.match(p.keep.find((d) => d.id === fx.packs.keep)!.reason, /small .* fewer than 10 such packs/);
  });

  test('refuses a used blob the index does not know', async () => {
    const f = await buildFixture('lost');
    const repo = await open(f.dir);
    await repo.loadIndex();
    // Take the pack holding d5 out of the index files: snapshot 2 now needs an unindexed blob.
    const kept = [...repo.index.packs()].filter((p) => p.id !== f.packs.part && p.id !== f.packs.missing).map((p) => ({ id: p.id, blobs: p.blobs }));
    for (const id of await repo.listIds('index')) await repo.backend.remove('index', id);
    await repo.saveIndexFile(kept);
    await repo.close();
    const again = await open(f.dir);
    await assert.rejects(planPrune(again), (e: unknown) => e instanceof LifeboatError && e.code === 'INTEGRITY' && /not in the index/.test(e.message));
    await again.close();
  });

  test('refuses when a pack holding used blobs is missing', async () => {
    const f = await buildFixture('missing-used');
    const repo = await open(f.dir);
    await repo.backend.remove('data', f.packs.keep);
    await assert.rejects(planPrune(repo), /holds used blobs but is missing/);
    await repo.close();
  });
});

describe('executePrune', () => {
  test('leaves only kept and new packs, one fresh index, and every snapshot readable', async () => {
    const fx = await buildFixture('exec');
    const repo = await open(fx.dir);
    await repo.lock(true).then(async (lock) => {
      try {
        const plan = await planPrune(repo, { packSize: 1000, maxUnused: { percent: 0 } });
        const events: PruneEvent[] = [];
        const r = await executePrune(repo, plan, { onEvent: (e) => events.push(e) });
        assert.equal(r.blobsCopied, 2);
        assert.ok(r.packsWritten >= 1);
        assert.equal(r.indexWritten.length, 1);
        assert.equal(r.packsDeleted, 5);
        assert.deepEqual(
          events.filter((e) => e.type === 'phase').map((e) => (e as { phase: string }).phase),
          ['repack', 'write-index', 'delete-index', 'delete-packs'],
        );
        // Every index deletion comes before every pack deletion.
        const kinds = events.filter((e) => e.type === 'deleted').map((e) => (e as { file: string }).file);
        assert.equal(kinds.lastIndexOf('index') < kinds.indexOf('pack'), true);
      } finally {
        await lock.release();
      }
    });
    await repo.close();

    const after = await open(fx.dir);
    assert.deepEqual((await after.listIds('index')).length, 1);
    const packs = await after.listIds('data');
    for (const gone of [fx.packs.dead, fx.packs.part, fx.packs.mixed, fx.packs.dup, fx.packs.unindexed]) assert.ok(!packs.includes(gone), `pack ${gone.slice(0, 8)} deleted`);
    for (const kept of [fx.packs.keep, fx.packs.tree]) assert.ok(packs.includes(kept));
    const result = await check(after, { readData: { n: 1, m: 1 } });
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.hints, []);
    for (const k of ['d1', 'd2', 'd5', 'd8', 'tA', 'tB']) {
      const b = fx.blobs[k]!;
      assert.ok((await after.loadBlob(b.type, b.id)).equals(b.plain), `${k} readable`);
    }
    for (const k of ['d3', 'd4', 'd6', 'd9', 'tX']) assert.equal(after.index.has(fx.blobs[k]!.type, fx.blobs[k]!.id), false, `${k} pruned`);
    // A second prune finds nothing to do.
    const again = await planPrune(after, { packSize: 1000, maxUnused: { percent: 0 } });
    assert.equal(again.nothingToDo, true);
    assert.deepEqual(await executePrune(after, again), { blobsCopied: 0, packsWritten: 0, indexWritten: [], indexDeleted: 0, packsDeleted: 0, bytesDeleted: 0 });
    await after.close();
  });

  test('forget then prune reclaims a forgotten snapshot\'s data', async () => {
    const fx = await buildFixture('forget');
    const repo = await open(fx.dir);
    const f = await forget(repo, [fx.snapshots[1]!, 'f'.repeat(64)]);
    assert.deepEqual(f.removed, [fx.snapshots[1]]);
    assert.deepEqual(f.missing, ['f'.repeat(64)]);
    const plan = await planPrune(repo, { packSize: 1000 });
    // tB's snapshot is gone: d5 is no longer used, so its pack goes without a copy.
    assert.ok(ids(plan.remove).includes(fx.packs.part));
    assert.ok(!plan.copy.some((c) => c.id === fx.blobs.d5!.id));
    await executePrune(repo, plan);
    await repo.close();
    const after = await open(fx.dir);
    assert.deepEqual((await check(after, { readData: { n: 1, m: 1 } })).errors, []);
    assert.equal(after.index.has('data', fx.blobs.d5!.id), false);
    await after.close();
  });

  test('refuses a plan the repository no longer matches', async () => {
    const fx = await buildFixture('stale');
    const repo = await open(fx.dir);
    const plan = await planPrune(repo, { packSize: 1000 });
    await repo.saveUnpacked('snapshot', encodeSnapshot({ time: '2026-01-03T10:00:00Z', tree: fx.blobs.tX!.id, paths: ['/x'], hostname: 'h' }));
    await assert.rejects(executePrune(repo, plan), (e: unknown) => e instanceof LifeboatError && e.code === 'USAGE' && /changed since the plan/.test(e.message));
    assert.ok(existsSync(path.join(fx.dir, 'data', fx.packs.mixed.slice(0, 2), fx.packs.mixed)), 'nothing deleted');
    await repo.close();
  });

  test('refuses to repack a damaged blob that has no good copy, before deleting anything', async () => {
    const fx = await buildFixture('damaged');
    const repo = await open(fx.dir);
    const plan = await planPrune(repo, { packSize: 1000, maxUnused: { percent: 0 } });
    // Flip a byte inside d5 (offset 0 of the partly used pack).
    const file = path.join(fx.dir, 'data', fx.packs.part.slice(0, 2), fx.packs.part);
    const { chmodSync, readFileSync, writeFileSync } = await import('node:fs');
    chmodSync(file, 0o600);
    const buf = readFileSync(file);
    buf[40] = buf[40]! ^ 0xff;
    writeFileSync(file, buf);
    await assert.rejects(executePrune(repo, plan), /damaged and no good copy exists/);
    assert.equal((await repo.listIds('index')).length, 2, 'old index files untouched');
    assert.ok(repo.index.hasPack(fx.packs.part), 'in-memory index reloaded from disk');
    await repo.close();
  });
});

describe('MasterIndex.removePacks', () => {
  test('forgets the packs and their locations, keeps the others in order', () => {
    const idx = new MasterIndex();
    const id = (s: string) => hashId(Buffer.from(s));
    const p1 = id('p1') as PackId;
    const p2 = id('p2') as PackId;
    const p3 = id('p3') as PackId;
    idx.add(p1, [{ type: 'data', id: id('x'), offset: 0, length: 40 }], id('i1'));
    idx.add(p2, [{ type: 'data', id: id('x'), offset: 0, length: 41 }, { type: 'tree', id: id('y'), offset: 41, length: 50 }], id('i1'));
    idx.add(p3, [{ type: 'data', id: id('x'), offset: 0, length: 42 }, { type: 'data', id: id('z'), offset: 42, length: 50, uncompressedLength: 99 }], id('i2'));
    assert.equal(idx.removePacks([p2, id('unknown')]), 1);
    assert.equal(idx.hasPack(p2), false);
    assert.equal(idx.has('tree', id('y')), false);
    assert.deepEqual(idx.lookupAll('data', id('x')).map((l) => l.packId), [p1, p3]);
    assert.deepEqual(idx.lookup('data', id('z')), { packId: p3, offset: 42, length: 50, uncompressedLength: 99 });
    assert.deepEqual(idx.counts, { data: 2, tree: 0, packs: 2, locations: 3 });
    assert.deepEqual([...idx.packs()].map((p) => [p.id, p.size, p.indexIds]), [
      [p1, 36 + 40 + 37, [id('i1')]],
      [p3, 36 + 42 + 37 + 50 + 41, [id('i2')]],
    ]);
    idx.removePacks([p1, p3]);
    assert.deepEqual(idx.counts, { data: 0, tree: 0, packs: 0, locations: 0 });
  });
});
