/**
 * A destination too small for the run: an 8 MiB drive and a 30 MiB source. The free-space
 * estimate refuses the cell before anything is written (FAILED with a sentence saying how much is
 * free and how much the run may write), and the repository on the drive is untouched: restic
 * still opens and checks it.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanupTestDrives, createTestDrive, type TestDrive } from '../../src/ops/devices/test-drive.ts';
import { cell, lifeboat, listTree, requireEnvironment, restic, resticSnapshots, runLines, scratch, seededBytes, statusJson, writeUsbCellConfig, enroll } from './harness.ts';

describe('a destination without room for the run', () => {
  let drive: TestDrive;
  let dir: string;
  let passwordFile: string;
  let config: string;
  let root: string;

  before(async () => {
    requireEnvironment();
    ({ dir, passwordFile } = await scratch());
    drive = await createTestDrive({ sizeMiB: 8 });
    const mp = path.join(dir, 'mnt', 'small');
    await drive.mount(mp);
    root = path.join(mp, 'lifeboat');
    const media = path.join(dir, 'media');
    await fsp.mkdir(media);
    // 30 MiB that neither compresses nor deduplicates.
    for (let i = 0; i < 3; i++) await fsp.writeFile(path.join(media, `clip-${i}.mkv`), seededBytes(1000 + i, 10 << 20));
    config = await writeUsbCellConfig({ dir, passwordFile, destination: 'small', label: drive.label, mountpoint: mp, source: 'media', paths: [media], priority: 'low', frequency: 'weekly' });
    await enroll(config, 'small');
  });

  after(async () => {
    await cleanupTestDrives();
  });

  it('refuses the cell before writing: FAILED with a space message, exit 1, repository untouched', async () => {
    const before = await listTree(root);
    const r = await lifeboat(config, ['run', '--json']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const c = cell(runLines(r.stdout).cells, 'media', 'small');
    assert.equal(c.outcome, 'failed');
    assert.equal(c.snapshot, undefined);
    assert.match(c.error!, new RegExp(`^Only \\d+\\.\\d MiB free at ${root}, but this run may write about (\\d+\\.\\d) MiB: free space there or make the run smaller$`));
    const mayWrite = Number(/write about (\d+\.\d) MiB/.exec(c.error!)![1]);
    assert.ok(mayWrite >= 30, `the estimate covers the 30 MiB source: ${c.error}`);
    assert.deepEqual(await listTree(root), before, 'not a byte was written to the repository');

    assert.deepEqual(await resticSnapshots(root, passwordFile), []);
    const check = await restic(root, passwordFile, ['check']);
    assert.equal(check.code, 0, check.stdout + check.stderr);

    const s = cell((await statusJson(config)).cells, 'media', 'small');
    assert.equal(s.state, 'FAILED');
    assert.match(s.last_error!, /free at .* but this run may write about/);
  });
});
