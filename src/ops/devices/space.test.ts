import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { checkSpace, formatBytes, freeBytes } from './space.ts';
import { systemProbe } from './probe.ts';
import { runCommand } from './run-command.ts';
import { cleanupTestDrives, makeScratchDir, mountTmpfs } from './test-drive.ts';

after(cleanupTestDrives);

test('freeBytes measures a real 8 MiB tmpfs, and agrees with the probe', async () => {
  const dir = join(await makeScratchDir(), 'fs');
  await mountTmpfs(dir);
  try {
    const free = await freeBytes(dir);
    assert.equal(free, 8 * 1024 * 1024);
    assert.equal(await freeBytes(dir, { probe: systemProbe() }), free);
  } finally {
    await runCommand('umount', ['--', dir]);
  }
});

test('checkSpace passes when the estimate fits and explains when it does not', async () => {
  const dir = join(await makeScratchDir(), 'fs');
  await mountTmpfs(dir);
  try {
    assert.deepEqual(await checkSpace(dir, 1024 * 1024), { ok: true, path: dir, free: 8 * 1024 * 1024, needed: 1024 * 1024 });
    const r = await checkSpace(dir, 20 * 1024 * 1024);
    assert.equal(r.ok, false);
    assert.equal(
      r.ok === false && r.why,
      `Only 8.0 MiB free at ${dir}, but this run may write about 20.0 MiB: free space there or make the run smaller`,
    );
    assert.equal((await checkSpace(dir, 7 * 1024 * 1024, { reserve: 2 * 1024 * 1024 })).ok, false);
  } finally {
    await runCommand('umount', ['--', dir]);
  }
});

test('checkSpace refuses a nonsense estimate and a missing path', async () => {
  await assert.rejects(checkSpace('/tmp', -1), { code: 'USAGE' });
  await assert.rejects(checkSpace('/nonexistent/lifeboat', 1), { code: 'NOT_FOUND' });
});

test('formatBytes uses binary units', () => {
  assert.deepEqual([formatBytes(512), formatBytes(1536), formatBytes(3 * 1024 ** 3)], ['512 B', '1.5 KiB', '3.0 GiB']);
});
