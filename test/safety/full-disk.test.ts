/**
 * A destination that fills up (a small USB drive): a 24 MiB ext4 loop device holds the
 * repository and ~40 MB of random data is backed up into it. The run must stop with one clear
 * NO_SPACE line (exit 1), release its lock and leave no temp files; the repository must still
 * pass restic 0.14's check; and once the drive has room again (other data on it is deleted) the
 * next backup must complete and restore exactly.
 * Mounts and loop devices are always removed in `after`, also when a test fails.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp, statfsSync } from 'node:fs';
import * as path from 'node:path';
import {
  assertCleanError,
  assertExit,
  assertSameTree,
  describeRun,
  killStragglers,
  lifeboat,
  makeTree,
  repoFiles,
  requireTools,
  restic,
  run,
  tempDir,
} from './harness.ts';

const LABEL = 'BU-TEST-FULL';
const FILLER = 6 << 20; // leaves less room than one 16 MiB pack
let work: string;
let image: string;
let mnt: string;
let loop: string | undefined;
let mounted = false;
let repo: string;

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

async function sh(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  assertExit(r, 0, `${cmd} ${args.join(' ')}`);
  return r.stdout.trim();
}

before(async () => {
  requireTools('restic', 'mkfs.ext4', 'losetup', 'mount', 'umount');
  work = await tempDir('full-disk');
  image = path.join(work, 'drive.img');
  mnt = path.join(work, 'mnt');
  await fsp.mkdir(mnt);
  await fsp.writeFile(image, '');
  await fsp.truncate(image, 24 << 20);
  await sh('mkfs.ext4', ['-q', '-F', '-L', LABEL, '-m', '0', image]);
  loop = await sh('losetup', ['-f', '--show', image]);
  assert.match(loop, /^\/dev\/loop\d+$/);
  await sh('mount', [loop, mnt]);
  mounted = true;
  repo = path.join(mnt, 'repo');
});

after(async () => {
  await killStragglers();
  if (mounted) {
    const r = await run('umount', [mnt]);
    if (r.code !== 0) await run('umount', ['-l', mnt]);
    mounted = false;
  }
  if (loop) {
    await run('losetup', ['-d', loop]);
    loop = undefined;
  }
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

describe('a destination that runs out of space', () => {
  test('lifeboat repo init on the drive; a ~40 MB backup stops with NO_SPACE (exit 1), releases its lock and leaves no temp files', async () => {
    assertExit(await lifeboat(['repo', 'init', '--repo', repo]), 0, 'init on the loop device');
    // Other data on the drive, deleted later to make room.
    await fsp.writeFile(path.join(mnt, 'other-data.bin'), Buffer.alloc(FILLER, 7));
    const big = path.join(work, 'big');
    const { bytes } = await makeTree(big, 'full-disk-big', 40 << 20);
    assert.ok(bytes > 2 * freeBytes(mnt) * 0.9, `fixture: ${bytes} B of source against ${freeBytes(mnt)} B free`);

    const r = await lifeboat(['repo', 'backup', '--repo', repo, big], { timeoutMs: 180_000 });
    assertExit(r, 1, 'backup onto a full drive');
    const line = assertCleanError(r, 'NO_SPACE');
    assert.match(line, /no space left on device/);
    assert.ok(line.includes(mnt), `the message names the destination: ${line}`);
    assert.match(r.stderr, /hint: .*free space/);

    assert.deepEqual(await repoFiles(repo, 'locks'), [], 'the lock was released although the drive is full');
    const temps = [...(await repoFiles(repo, 'data')), ...(await repoFiles(repo, 'index')), ...(await repoFiles(repo, 'snapshots'))].filter((f) => f.name.includes('-tmp-'));
    assert.deepEqual(temps.map((f) => f.name), [], 'no temp files are left behind');
    assert.deepEqual(await repoFiles(repo, 'snapshots'), [], 'no snapshot of a failed run');
  });

  test('the repository on the full drive still passes restic check --read-data, with no unlock', async () => {
    const c = await restic(repo, ['check', '--read-data']);
    assertExit(c, 0, 'restic check on the full drive');
    assert.match(c.stdout, /no errors were found/);
    const own = await lifeboat(['repo', 'check', '--read-data', '--repo', repo]);
    assertExit(own, 0, 'lifeboat check on the full drive');
  });

  test('once the drive has room again, the next backup completes without manual steps and restores exactly; restic prune and check accept the repository', async () => {
    const full = freeBytes(mnt);
    // The operator deletes other data from the drive.
    await fsp.rm(path.join(mnt, 'other-data.bin'));
    assert.ok(freeBytes(mnt) >= full + FILLER, `space was freed (${full} -> ${freeBytes(mnt)} B free)`);

    const small = path.join(work, 'small');
    await makeTree(small, 'full-disk-small', 3 << 20);
    const r = await lifeboat(['repo', 'backup', '--repo', repo, small], { timeoutMs: 180_000 });
    assertExit(r, 0, 'backup after space was freed');
    const c = await restic(repo, ['check', '--read-data']);
    assertExit(c, 0, `restic check after the successful backup\n${describeRun(c)}`);
    const target = path.join(work, 'restored');
    assertExit(await lifeboat(['repo', 'restore', 'latest', '--repo', repo, '--target', target]), 0, 'restore');
    await assertSameTree(small, path.join(target, small));

    // Whatever the failed run left (packs in no index, if any finished) is restic prune's to reclaim.
    const p = await restic(repo, ['prune']);
    assertExit(p, 0, 'restic prune');
    assertExit(await restic(repo, ['check', '--read-data']), 0, 'restic check after prune');
  });
});
