import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');

test('the README first command (lifeboat demo) backs up, reports OK cells, restores a file identically and restic reads the result', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-demo-test-'));
  try {
    const r = spawnSync(path.join(root, 'bin', 'lifeboat'), ['demo', '--dir', dir], { encoding: 'utf8', timeout: 180_000 });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /run 2: 7 cells OK/);
    assert.match(r.stdout, /identical \(sha256\)/);
    assert.match(r.stdout, /no errors/);
    assert.doesNotMatch(r.stdout, /FAILED|STALE|NEVER/);
    assert.ok(existsSync(path.join(dir, 'backups', 'plain-copy', 'current', 'receipts', 'receipts', '2025-03.pdf')), 'mirror holds plain files');
    const restic = spawnSync('restic', ['-r', path.join(dir, 'backups', 'vault'), '--password-file', path.join(dir, 'password'), 'check', '--read-data'], { encoding: 'utf8', env: { ...process.env, RESTIC_CACHE_DIR: path.join(dir, 'rc') } });
    assert.equal(restic.status, 0, restic.stderr);
    assert.match(restic.stdout, /no errors were found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
