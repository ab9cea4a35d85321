/**
 * A lost NAS share, through the CLI, with a tmpfs as the share (a repository and a mirror on
 * it). Unmounted, enroll is DEVICE_UNAVAILABLE (exit 13) and status names the reason. Replaced by
 * a fresh empty filesystem, run and status say the enrolled repository is not there (not "never
 * enrolled", and the mirror is not "OK ... here"); enroll refuses to start a new repository until
 * `--replace --yes`, after which the new repository starts without the lost one's runs and drills.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCommand } from '../../src/ops/devices/run-command.ts';
import { cleanupTestDrives } from '../../src/ops/devices/test-drive.ts';
import { cell, lifeboat, listTree, requireEnvironment, runLines, scratch, statusJson, umount, writeTree } from './harness.ts';

/** A fresh, empty "share" at `dir` (the free-space check wants more than mountTmpfs's 8 MiB). */
const mountShare = (dir: string) => runCommand('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', dir]);

describe('a NAS share replaced by an empty one', () => {
  let dir: string;
  let passwordFile: string;
  let config: string;
  let share: string;
  let lostId: string;

  before(async () => {
    requireEnvironment();
    ({ dir, passwordFile } = await scratch());
    share = path.join(dir, 'mnt', 'nas');
    await fsp.mkdir(share, { recursive: true });
    await writeTree(path.join(dir, 'data'), { 'ledger.csv': 'date,amount\n2026-01-01,10\n' });
    config = path.join(dir, 'lifeboat.yaml');
    await fsp.writeFile(
      config,
      `state_dir: ${dir}/state
destinations:
  nas:
    kind: nas
    mountpoint: ${share}
    path: ${share}/lifeboat
    password_file: ${passwordFile}
  nas-mirror:
    kind: nas
    mountpoint: ${share}
    path: ${share}/mirror
    format: mirror
sources:
  data:
    paths: [${dir}/data]
    priority: medium
    frequency: daily
    destinations: [nas, nas-mirror]
`,
    );
  });

  after(async () => {
    await cleanupTestDrives();
  });

  it('with the share not mounted, enroll is DEVICE_UNAVAILABLE (exit 13) and status shows why', async () => {
    const e = await lifeboat(config, ['drive', 'enroll', 'nas']);
    assert.equal(e.code, 13, e.stdout + e.stderr);
    assert.match(e.stderr, /^lifeboat: Cannot enroll nas: .* is not a mount point: the share of 'nas' is not mounted, nothing will be written there \[DEVICE_UNAVAILABLE\]$/m);
    assert.deepEqual(await fsp.readdir(share), []);
    const text = await lifeboat(config, ['status']);
    // A share that should always be there and is not mounted is a failure (issue 16 item 13), not NEVER.
    assert.match(text.stdout, /^FAILED +data +nas .* not mounted, seen never$/m);
    assert.match(text.stdout, /^nas: .* is not a mount point: the share of 'nas' is not mounted/m);
  });

  it('mounted, both are enrolled, backed up and drilled; the enroll reminds to keep the password off the server', async () => {
    await mountShare(share);
    const e = await lifeboat(config, ['drive', 'enroll', 'nas']);
    assert.equal(e.code, 0, e.stdout + e.stderr);
    assert.match(e.stdout, new RegExp(`^remember: keep the repository password \\(${passwordFile}\\) somewhere off this server too`, 'm'));
    lostId = /repository ([0-9a-f]{10}) created/.exec(e.stdout)![1]!;
    const m = await lifeboat(config, ['drive', 'enroll', 'nas-mirror']);
    assert.equal(m.code, 0, m.stdout + m.stderr);
    assert.doesNotMatch(m.stdout, /remember:/, 'a mirror has no password');
    const r = await lifeboat(config, ['run', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const d = await lifeboat(config, ['drill', '--destination', 'nas']);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    const s = await statusJson(config);
    assert.equal(cell(s.cells, 'data', 'nas').state, 'OK');
    assert.notEqual(cell(s.cells, 'data', 'nas').last_drill, null);
    assert.equal(cell(s.cells, 'data', 'nas-mirror').state, 'OK');
  });

  it('an empty filesystem in its place: run says the enrolled repository and mirror are not there, and writes nothing', async () => {
    await umount(share);
    await mountShare(share);
    const r = await lifeboat(config, ['run', '--json']);
    assert.equal(r.code, 10, r.stdout + r.stderr); // NO_REPOSITORY for both cells: the enrolled copies are gone
    const { cells } = runLines(r.stdout);
    const nas = cell(cells, 'data', 'nas');
    assert.equal(nas.outcome, 'failed');
    assert.match(nas.error!, new RegExp(`^The repository enrolled for 'nas' \\(id ${lostId}\\) is not there: ${share}/lifeboat does not exist \\(the share is empty or was replaced\\)`));
    assert.doesNotMatch(nas.error!, /never enrolled/);
    assert.match(cell(cells, 'data', 'nas-mirror').error!, /^The mirror enrolled for 'nas-mirror' is not there: /);
    assert.deepEqual(await listTree(share), [], 'nothing is created on the empty share');
  });

  it('status shows both MISSING (no "OK ... here"), with the reason and a REPOSITORY_MISSING finding, and exits 1', async () => {
    const s = await statusJson(config);
    assert.equal(s.code, 1);
    for (const d of ['nas', 'nas-mirror']) {
      const c = cell(s.cells, 'data', d);
      assert.equal(c.state, 'MISSING', d);
      assert.equal(c.destination_present, false, d);
    }
    assert.ok(s.warnings.some((w) => w.code === 'REPOSITORY_MISSING' && w.message.includes(`(id ${lostId})`)), JSON.stringify(s.warnings));
    const text = await lifeboat(config, ['status']);
    assert.match(text.stdout, /^MISSING +data +nas-mirror .* REPOSITORY MISSING$/m);
    assert.doesNotMatch(text.stdout, /^OK .* here$/m);
  });

  it('enroll will not start a new repository in its place without --replace; with it, the new one has no runs or drills of the lost one', async () => {
    const e = await lifeboat(config, ['drive', 'enroll', 'nas']);
    assert.equal(e.code, 1, e.stdout + e.stderr);
    assert.match(e.stderr, new RegExp(`^lifeboat: Cannot enroll nas: the repository enrolled for 'nas' \\(id ${lostId}\\) is not there, and enrolling would create a new one \\[POLICY_REFUSED\\]$`, 'm'));
    assert.match(e.stderr, /hint: .*lifeboat drive enroll nas --replace/);
    assert.deepEqual(await listTree(share), []);

    const r = await lifeboat(config, ['drive', 'enroll', 'nas', '--replace', '--yes']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^replaced the enrolment of nas \\(repository ${lostId}\\): it is refused from now on$`, 'm'));
    const s = await statusJson(config);
    const c = cell(s.cells, 'data', 'nas');
    assert.equal(c.state, 'NEVER');
    assert.equal(c.last_success, null);
    assert.equal(c.last_drill, null, 'the lost repository drill is not shown for the new one');
    assert.equal(c.snapshots, 0);
    assert.equal(cell(s.cells, 'data', 'nas-mirror').state, 'MISSING', 'the mirror is still missing until it is re-enrolled too');

    // The lost repository's last success does not make the new one "not due".
    const due = await lifeboat(config, ['run', '--due', '--json']);
    const { cells } = runLines(due.stdout);
    assert.equal(cell(cells, 'data', 'nas').outcome, 'success', due.stdout + due.stderr);
    assert.equal(cell((await statusJson(config)).cells, 'data', 'nas').state, 'OK');
  });
});
