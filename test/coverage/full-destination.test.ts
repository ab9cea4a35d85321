/**
 * A nearly full drive (a 40 MiB ext4 loop device). A run that adds little must still complete:
 * 24 MiB that neither compresses nor deduplicates is backed up once, every file is then touched
 * (new mtimes, same content: what a run interrupted after writing its data, or a restore, leaves),
 * and the next run adds only trees although the old estimate ("bytes of files changed since the
 * last success", plus a pack) is far above what is free. A run that really does not fit (a new
 * 20 MiB file) fails cleanly: NO_SPACE, no snapshot, a repository restic still checks.
 */
import assert from 'node:assert/strict';
import { promises as fsp, statfsSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanupTestDrives, createTestDrive, type TestDrive } from '../../src/ops/devices/test-drive.ts';
import { cell, enroll, lifeboat, requireEnvironment, restic, resticSnapshots, runLines, scratch, seededBytes, statusJson, writeUsbCellConfig } from './harness.ts';

describe('a destination with little room', () => {
  let drive: TestDrive;
  let dir: string;
  let passwordFile: string;
  let config: string;
  let root: string;
  let media: string;
  let mp: string;

  const free = (): number => {
    const s = statfsSync(mp);
    return s.bavail * s.bsize;
  };

  before(async () => {
    requireEnvironment();
    ({ dir, passwordFile } = await scratch());
    drive = await createTestDrive({ sizeMiB: 40 });
    mp = path.join(dir, 'mnt', 'small');
    await drive.mount(mp);
    root = path.join(mp, 'lifeboat');
    media = path.join(dir, 'media');
    await fsp.mkdir(media);
    for (let i = 0; i < 3; i++) await fsp.writeFile(path.join(media, `clip-${i}.mkv`), seededBytes(1000 + i, 8 << 20));
    config = await writeUsbCellConfig({ dir, passwordFile, destination: 'small', label: drive.label, mountpoint: mp, source: 'media', paths: [media], priority: 'low', frequency: 'weekly' });
    await enroll(config, 'small');
    const first = await lifeboat(config, ['run', '--json']);
    assert.equal(first.code, 0, first.stdout + first.stderr);
  });

  after(async () => {
    await cleanupTestDrives();
  });

  it('a run that adds little completes on a nearly full drive, although every file changed its mtime', async () => {
    const later = new Date(Date.now() + 60_000);
    for (const f of await fsp.readdir(media)) await fsp.utimes(path.join(media, f), later, later);
    const room = free();
    // What the old pre-check wanted: the changed files in full, 1% and a 16 MiB pack.
    assert.ok(24 * 1.01 * (1 << 20) + (16 << 20) > room, `fixture: the old estimate refuses with ${room} B free`);

    const r = await lifeboat(config, ['run', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const c = cell(runLines(r.stdout).cells, 'media', 'small');
    assert.equal(c.outcome, 'success');
    assert.equal(c.files, 3);
    assert.equal(c.files_written, 3, 'three files with a new mtime were read again');
    assert.ok(c.bytes_added < 1 << 20, `deduplication: only trees were added (${c.bytes_added} B)`);
    assert.equal((await resticSnapshots(root, passwordFile)).length, 2);
  });

  it('a run that really does not fit fails with NO_SPACE, writes no snapshot, and leaves a repository restic checks', async () => {
    await fsp.writeFile(path.join(media, 'new-clip.mkv'), seededBytes(2000, 20 << 20));
    assert.ok(free() < 20 << 20, `fixture: ${free()} B free for 20 MiB`);
    const r = await lifeboat(config, ['run', '--json']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const c = cell(runLines(r.stdout).cells, 'media', 'small');
    assert.deepEqual([c.outcome, c.code, c.snapshot], ['failed', 'NO_SPACE', undefined]);
    assert.match(c.error!, /no space left on device/);
    assert.match(c.hint!, /free space on small; `lifeboat forget --prune --destination small` removes what this run left there/);

    assert.equal((await resticSnapshots(root, passwordFile)).length, 2, 'no snapshot of the failed run');
    const check = await restic(root, passwordFile, ['check']);
    assert.equal(check.code, 0, check.stdout + check.stderr);

    const s = cell((await statusJson(config)).cells, 'media', 'small');
    assert.deepEqual([s.state, s.last_code], ['FAILED', 'NO_SPACE']);
    assert.match(s.last_error!, /no space left on device/);
  });
});
