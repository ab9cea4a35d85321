import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { LocalBackend } from '../backend/index.ts';
import { Repository } from '../repository/repository.ts';
import type { Id } from '../ids.ts';
import { check } from './checker.ts';

test('check names temp files that interrupted writes left as a hint with their count and size, not as an error', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-check-'));
  try {
    const root = path.join(dir, 'r');
    const repo = await Repository.init(new LocalBackend(root), 'pw', { kdf: { N: 1024, r: 8, p: 1 } });
    await repo.loadIndex();
    const data = new Uint8Array(Buffer.from('some content\n'));
    await repo.blobSaver().save('data', createHash('sha256').update(data).digest('hex') as Id, data);
    await repo.flush();
    const temps = (r: Awaited<ReturnType<typeof check>>): string[] => r.hints.filter((h) => h.kind === 'temp').map((h) => h.message);

    const clean = await check(repo);
    assert.deepEqual(clean.errors, []);
    assert.deepEqual(temps(clean), []);

    // What a backup killed while filling a pack leaves, and a crashed save beside a pack.
    writeFileSync(path.join(root, 'data', '3f', '0123456789abcdef01234567-tmp-0011223344556677'), Buffer.alloc(70_000));
    writeFileSync(path.join(root, 'index', `${'ab'.repeat(32)}-tmp-0123456789abcdef`), Buffer.alloc(30));
    const dirty = await check(repo);
    assert.deepEqual(dirty.errors, [], 'temp files are no error');
    assert.equal(temps(dirty).length, 1);
    assert.match(temps(dirty)[0]!, /^2 temp files \(70030 bytes\) left by interrupted writes; no snapshot needs them/);
    await repo.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
