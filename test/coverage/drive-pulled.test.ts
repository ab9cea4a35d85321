/**
 * A drive pulled mid-run: the USB drive's filesystem disappears while a backup writes to it
 * (a lazy unmount: the kernel detaches it at once, as when the cable goes). The run must fail
 * with a clear error, write nothing onto the root disk under the now empty mountpoint, and the
 * next run with the drive back must complete and leave a repository restic accepts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanupTestDrives, createTestDrive, type TestDrive } from '../../src/ops/devices/test-drive.ts';
import { LIFEBOAT, cell, cleanEnv, lifeboat, listTree, mountDevice, requireEnvironment, restic, resticSnapshots, runLines, scratch, seededBytes, writeUsbCellConfig, enroll } from './harness.ts';

describe('a drive pulled in the middle of a run', () => {
  let drive: TestDrive;
  let dir: string;
  let passwordFile: string;
  let config: string;
  let mp: string;
  let root: string;

  before(async () => {
    requireEnvironment();
    ({ dir, passwordFile } = await scratch());
    drive = await createTestDrive({ sizeMiB: 256 });
    mp = path.join(dir, 'mnt', 'usb');
    await drive.mount(mp);
    root = path.join(mp, 'lifeboat');
    const media = path.join(dir, 'media');
    await fsp.mkdir(media);
    for (let i = 0; i < 8; i++) await fsp.writeFile(path.join(media, `clip-${i}.mkv`), seededBytes(500 + i, 10 << 20));
    config = await writeUsbCellConfig({ dir, passwordFile, destination: 'usb', label: drive.label, mountpoint: mp, source: 'media', paths: [media], priority: 'low', frequency: 'weekly' });
    await enroll(config, 'usb');
  });

  after(async () => {
    await cleanupTestDrives();
  });

  it('fails clearly, writes nothing under the empty mountpoint, and the next run completes', async () => {
    const child = spawn(LIFEBOAT, ['run', '--json', '--config', config], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const closed = new Promise<number | null>((r) => child.on('close', r));
    // Pull the drive once the first pack is on it: the run is then surely writing.
    const deadline = Date.now() + 60_000;
    let pulled = false;
    while (!pulled && Date.now() < deadline && child.exitCode === null) {
      const packs = existsSync(path.join(root, 'data')) ? (await listTree(path.join(root, 'data'))).filter((p) => /[0-9a-f]{64}$/.test(p)) : [];
      if (packs.length > 0) {
        const u = spawn('umount', ['-l', '--', mp]);
        assert.equal(await new Promise((r) => u.on('close', r)), 0);
        pulled = true;
      } else await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(pulled, `the drive was pulled while the run was writing (run output: ${stdout}${stderr})`);
    const code = await closed;
    assert.equal(code, 1, stdout + stderr);
    const c = cell(runLines(stdout).cells, 'media', 'usb');
    assert.equal(c.outcome, 'failed');
    assert.match(c.error!, /ENOENT|not found|does not exist|no such|Cannot/i);
    assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
    // The mountpoint is a plain directory on the root disk again: nothing may have landed there.
    assert.deepEqual(await fsp.readdir(mp), [], 'nothing was written onto the root disk');

    // The drive comes back; the next run completes without any manual repair.
    await mountDevice(drive.device, mp);
    const again = await lifeboat(config, ['run', '--json']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.equal(cell(runLines(again.stdout).cells, 'media', 'usb').outcome, 'success');
    assert.equal((await resticSnapshots(root, passwordFile)).length, 1);
    const check = await restic(root, passwordFile, ['check', '--read-data']);
    assert.equal(check.code, 0, check.stdout + check.stderr);
  });
});
