/**
 * Source guards through the CLI: a source that looks empty or unmounted, and a dump command that
 * fails, are FAILED cells with a reason, and nothing is stored for them (an empty directory or a
 * half dump must never become the newest snapshot). The other cells of the run still go ahead.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanupTestDrives, mountTmpfs } from '../../src/ops/devices/test-drive.ts';
import { cell, lifeboat, requireEnvironment, restic, resticSnapshots, runLines, scratch, statusJson, type CellLine } from './harness.ts';

describe('source guards', () => {
  let dir: string;
  let passwordFile: string;
  let config: string;
  let repoRoot: string;
  let cells: CellLine[];
  let code: number | null;

  before(async () => {
    requireEnvironment();
    ({ dir, passwordFile } = await scratch());
    repoRoot = path.join(dir, 'repo');
    await fsp.mkdir(path.join(dir, 'empty-share'));
    await fsp.mkdir(path.join(dir, 'plain-dir'));
    await fsp.writeFile(path.join(dir, 'plain-dir', 'file.txt'), 'on the root disk\n');
    const share = path.join(dir, 'share');
    await mountTmpfs(share);
    await fsp.writeFile(path.join(share, 'doc.txt'), 'on the share\n');
    config = path.join(dir, 'lifeboat.yaml');
    await fsp.writeFile(
      config,
      `state_dir: ${dir}/state
destinations:
  repo:
    kind: local
    path: ${repoRoot}
    password_file: ${passwordFile}
sources:
  empty-share:
    paths: [${dir}/empty-share]
    min_files: 1
    priority: medium
    frequency: daily
    destinations: [repo]
  unmounted-share:
    paths: [${dir}/plain-dir]
    must_be_mountpoint: true
    priority: medium
    frequency: daily
    destinations: [repo]
  mounted-share:
    paths: [${share}]
    must_be_mountpoint: true
    min_files: 1
    priority: medium
    frequency: daily
    destinations: [repo]
  broken-dump:
    command: "printf 'CREATE TABLE half'; echo 'pg_dump: connection refused' >&2; exit 3"
    filename: broken.sql
    priority: medium
    frequency: daily
    destinations: [repo]
`,
    );
    const e = await lifeboat(config, ['drive', 'enroll', 'repo']);
    assert.equal(e.code, 0, e.stderr);
    const r = await lifeboat(config, ['run', '--json']);
    code = r.code;
    ({ cells } = runLines(r.stdout));
  });

  after(async () => {
    await cleanupTestDrives();
  });

  it('the run exits 1 when a due cell fails, and still stores the good source', () => {
    assert.equal(code, 1);
    assert.equal(cell(cells, 'mounted-share', 'repo').outcome, 'success');
    assert.match(cell(cells, 'mounted-share', 'repo').snapshot!, /^[0-9a-f]{64}$/);
  });

  it('min_files: an empty directory is FAILED, naming min_files, and no snapshot is made', async () => {
    const c = cell(cells, 'empty-share', 'repo');
    assert.equal(c.outcome, 'failed');
    assert.equal(c.snapshot, undefined);
    assert.match(c.error!, /source empty-share holds 0 files, fewer than min_files 1: refusing to store it as if it were empty/);
    assert.deepEqual(await resticSnapshots(repoRoot, passwordFile, 'source:empty-share'), []);
  });

  it('must_be_mountpoint: a plain directory is FAILED and no snapshot is made', async () => {
    const c = cell(cells, 'unmounted-share', 'repo');
    assert.equal(c.outcome, 'failed');
    assert.match(c.error!, new RegExp(`${dir}/plain-dir is not a mount point \\(must_be_mountpoint\\)`));
    assert.deepEqual(await resticSnapshots(repoRoot, passwordFile, 'source:unmounted-share'), []);
  });

  it('a command that exits non-zero is FAILED with its exit code and stderr, and no snapshot is stored', async () => {
    const c = cell(cells, 'broken-dump', 'repo');
    assert.equal(c.outcome, 'failed');
    assert.equal(c.snapshot, undefined);
    assert.match(c.error!, /The command of source broken-dump failed \(exit code 3\): pg_dump: connection refused/);
    assert.deepEqual(await resticSnapshots(repoRoot, passwordFile, 'source:broken-dump'), []);
    const all = await resticSnapshots(repoRoot, passwordFile);
    assert.deepEqual(all.map((s) => s.tags), [['source:mounted-share']]);
    // What the half dump may have written is unreferenced, not damage.
    const check = await restic(repoRoot, passwordFile, ['check']);
    assert.equal(check.code, 0, check.stdout + check.stderr);
  });

  it('status shows the refused cells FAILED with their reason, and exits 1', async () => {
    const s = await statusJson(config);
    assert.equal(s.code, 1);
    for (const name of ['empty-share', 'unmounted-share', 'broken-dump']) {
      const c = cell(s.cells, name, 'repo');
      assert.equal(c.state, 'FAILED', name);
      assert.equal(c.last_success, null, name);
      assert.ok(c.last_error, name);
    }
    assert.match(cell(s.cells, 'empty-share', 'repo').last_error!, /min_files/);
    assert.equal(cell(s.cells, 'mounted-share', 'repo').state, 'OK');
  });
});
