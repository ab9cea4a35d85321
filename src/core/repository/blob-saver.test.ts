import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { LocalBackend } from '../backend/local-backend.ts';
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

test('when a pack cannot be written, chunkFiles fails with that error, not with the workers being stopped', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-saver-'));
  try {
    const repo = await Repository.init(new LocalBackend(path.join(dir, 'r')), 'pw', { kdf: { N: 1024, r: 8, p: 1 } });
    await repo.loadIndex();
    // 40 MiB of incompressible data through one worker's ring of 1 MiB + 3 largest blobs (about
    // 25 MiB): the worker must wait for space that only written packs free, and none is written.
    const files = [0, 1].map((i) => {
      const p = path.join(dir, `f${i}`);
      writeFileSync(p, randomBytes(20 << 20));
      return Buffer.from(p);
    });
    const save = repo.backend.save.bind(repo.backend);
    repo.backend.save = async (type, name, data) => {
      if (type === 'data') throw new Error('the destination vanished');
      return save(type, name, data);
    };
    const saver = new BlobSaver(repo, { packSize: 1 << 20, workers: 1 });
    try {
      await assert.rejects(
        saver.chunkFiles(files, repo.config.chunkerPolynomial, (part, worker) => {
          for (const c of part.chunks) if (c.sealed) saver.addSealed(c, worker);
        }),
        /the destination vanished/,
      );
    } finally {
      await saver.close();
      await repo.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
