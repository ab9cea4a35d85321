/**
 * LocalBackend against the shared Backend conformance suite, plus what only a local directory
 * can promise: create() never grows directories above the repository.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalBackend } from './local-backend.ts';
import { runBackendConformance } from './backend-conformance.ts';

runBackendConformance('LocalBackend', async () => {
  const sandbox = await mkdtemp(path.join(tmpdir(), 'lifeboat-local-backend-'));
  const root = path.join(sandbox, 'repo');
  return { backend: new LocalBackend(root), root, cleanup: () => rm(sandbox, { recursive: true, force: true }) };
});

test('LocalBackend.create() fails when the parent of the repository directory is missing, and creates nothing', async () => {
  const sandbox = await mkdtemp(path.join(tmpdir(), 'lifeboat-local-backend-'));
  try {
    const backend = new LocalBackend(path.join(sandbox, 'typo', 'repo'));
    await assert.rejects(backend.create(), (e: unknown) => {
      assert.equal((e as { code?: string }).code, 'NOT_FOUND');
      return true;
    });
    assert.deepEqual(await readdir(sandbox), []);
  } finally {
    await rm(sandbox, { recursive: true, force: true });
  }
});
