import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { LocalBackend } from '../backend/index.ts';
import { Repository } from './repository.ts';
import { BlobSaver } from './blob-saver.ts';
import type { Id } from '../ids.ts';

test('flush waits for blobs still being sealed: every saved blob is indexed when flush returns', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-saver-'));
  try {
    const repo = await Repository.init(new LocalBackend(path.join(dir, 'r')), 'pw', { kdf: { N: 1024, r: 8, p: 1 } });
    await repo.loadIndex();
    const saver = repo.blobSaver();
    const ids: Id[] = [];
    for (let i = 0; i < 40; i++) {
      const data = new Uint8Array(randomBytes(50_000 + i));
      const id = createHash('sha256').update(data).digest('hex') as Id;
      ids.push(id);
      await saver.waitForCapacity();
      void saver.save('data', id, data); // not awaited, as the archiver does
    }
    await repo.flush();
    for (const id of ids) assert.ok(repo.index.has('data', id), `blob ${id.slice(0, 8)} indexed`);
    const stats = saver.takeStats();
    assert.equal(stats.dataBlobs, 40);
    assert.ok(stats.bytesAdded > 40 * 50_000);
    // A fresh open sees the same: the index file on disk names every blob.
    const again = await Repository.open(new LocalBackend(path.join(dir, 'r')), { password: 'pw' });
    await again.loadIndex();
    for (const id of ids) assert.ok(again.index.has('data', id));
    for (const id of ids.slice(0, 3)) assert.equal((await again.loadBlob('data', id)).length >= 50_000, true);
    await again.close();
    await repo.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Incompressible files of the given sizes under dir, as the raw paths chunkFiles takes. */
function randomFiles(dir: string, sizes: number[]): Buffer[] {
  return sizes.map((n, i) => {
    const p = path.join(dir, `f${i}`);
    writeFileSync(p, randomBytes(n));
    return Buffer.from(p);
  });
}

function tempFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.includes('-tmp-')) out.push(path.join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

for (const streamed of [true, false]) {
  const how = streamed ? 'packs written as they fill' : 'packs written whole';
  test(`${how}: when a pack cannot be written, chunkFiles fails with that error, not with the workers being stopped, and leaves no temp file`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-saver-'));
    try {
      const repo = await Repository.init(new LocalBackend(path.join(dir, 'r')), 'pw', { kdf: { N: 1024, r: 8, p: 1 } });
      await repo.loadIndex();
      // 40 MiB of incompressible data through one worker's ring: the worker must wait for space
      // that only written blobs free, and the writes fail.
      const files = randomFiles(dir, [20 << 20, 20 << 20]);
      const backend = repo.backend as LocalBackend & { saveStream?: LocalBackend['saveStream'] };
      if (streamed) {
        const open = backend.saveStream.bind(backend);
        let writes = 0;
        backend.saveStream = async (type) => {
          const s = await open(type);
          return {
            ...s,
            write: async (parts) => {
              if (++writes > 3) throw new Error('the destination vanished');
              return s.write(parts);
            },
          };
        };
      } else {
        backend.saveStream = undefined;
        const save = backend.save.bind(backend);
        backend.save = async (type, name, data) => {
          if (type === 'data') throw new Error('the destination vanished');
          return save(type, name, data);
        };
      }
      const saver = new BlobSaver(repo, { packSize: 1 << 20, workers: 1 });
      try {
        await assert.rejects(
          saver.chunkFiles(files, repo.config.chunkerPolynomial, (part, worker) => {
            for (const c of part.chunks) if (c.sealed) saver.addSealed(c, worker);
          }),
          /the destination vanished/,
        );
        await assert.rejects(saver.flush(), /the destination vanished/);
      } finally {
        await saver.close();
        await repo.close();
      }
      assert.deepEqual(tempFiles(path.join(dir, 'r')), [], 'temp files of unfinished packs are removed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('packs written as they fill: a pack four times larger than the ring completes, each blob freeing its ring space once it is written', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-saver-'));
  try {
    const repo = await Repository.init(new LocalBackend(path.join(dir, 'r')), 'pw', { kdf: { N: 1024, r: 8, p: 1 } });
    await repo.loadIndex();
    // The ring holds two largest blobs (about 16 MiB); one 64 MiB pack needs all 60 MiB sealed
    // before it is complete. Were ring space freed only with the finished pack, the worker
    // would wait for ever.
    const files = randomFiles(dir, [30 << 20, 30 << 20]);
    const saver = new BlobSaver(repo, { packSize: 64 << 20, workers: 1 });
    const ids: string[] = [];
    try {
      await saver.chunkFiles(files, repo.config.chunkerPolynomial, (part, worker) => {
        for (const c of part.chunks) {
          ids.push(c.id);
          if (c.sealed) saver.addSealed(c, worker);
        }
      });
      await saver.flush();
    } finally {
      await saver.close();
    }
    assert.equal(saver.takeStats().packsWritten, 1);
    for (const id of ids) assert.ok(repo.index.has('data', id as Id), `blob ${id.slice(0, 8)} indexed`);
    const packs: string[] = [];
    for await (const f of repo.backend.list('data')) packs.push(f.name);
    assert.equal(packs.length, 1);
    const bytes = await repo.backend.load('data', packs[0]!);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), packs[0], 'the pack is named by the hash of its bytes');
    assert.ok(bytes.length > 60 << 20);
    let restored = 0;
    for (const id of ids) restored += (await repo.loadBlob('data', id as Id)).length;
    assert.equal(restored, 60 << 20, 'every blob opens');
    assert.deepEqual(tempFiles(path.join(dir, 'r')), []);
    await repo.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
