/**
 * Destinations that cannot be fooled, through the CLI. A USB drive that is not mounted is
 * ABSENT (skipped: neither failure nor success; the run exits 0 when another cell took a copy,
 * 13 when every cell was skipped) and nothing is written into its empty mountpoint directory on
 * the root disk; another drive mounted at the mountpoint, or a drive whose marker names another
 * destination or repository, is refused by name (FAILED, DEVICE_UNAVAILABLE, exit 13) and left
 * untouched.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanupTestDrives, createTestDrive, type TestDrive } from '../../src/ops/devices/test-drive.ts';
import { cell, isMounted, lifeboat, listTree, plugIn, requireEnvironment, resticSnapshots, runLines, scratch, statusJson, umount, unplug, writeTree } from './harness.ts';

describe('USB destination guards', () => {
  let a: TestDrive; // the drive of destination usb
  let b: TestDrive; // the drive of destination usb2
  let c: TestDrive; // a drive lifeboat does not know
  let dir: string;
  let passwordFile: string;
  let config: string;
  let mp: string;
  let mp2: string;
  let firstSuccess: string;

  const snapshotCount = async (root: string): Promise<number> => (await resticSnapshots(root, passwordFile)).length;

  before(async () => {
    requireEnvironment();
    ({ dir, passwordFile } = await scratch());
    [a, b, c] = await Promise.all([createTestDrive(), createTestDrive(), createTestDrive()]);
    mp = path.join(dir, 'mnt', 'usb');
    mp2 = path.join(dir, 'mnt', 'usb2');
    await a.mount(mp);
    await b.mount(mp2);
    await writeTree(path.join(dir, 'data'), { 'a.txt': 'alpha\n', 'sub/b.txt': 'beta\n' });
    config = path.join(dir, 'lifeboat.yaml');
    await fsp.writeFile(
      config,
      `state_dir: ${dir}/state
destinations:
  usb:
    kind: usb
    label: ${a.label}
    mountpoint: ${mp}
    password_file: ${passwordFile}
  usb2:
    kind: usb
    label: ${b.label}
    mountpoint: ${mp2}
    password_file: ${passwordFile}
sources:
  data:
    paths: [${dir}/data]
    priority: medium
    frequency: daily
    destinations: [usb, usb2]
`,
    );
    for (const d of ['usb', 'usb2']) {
      const r = await lifeboat(config, ['drive', 'enroll', d]);
      assert.equal(r.code, 0, r.stderr);
    }
    const r = await lifeboat(config, ['run', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const s = await statusJson(config);
    firstSuccess = cell(s.cells, 'data', 'usb').last_success!;
    assert.ok(firstSuccess);
  });

  after(async () => {
    await cleanupTestDrives();
  });

  it('an unmounted drive is ABSENT, the run exits 0, and its empty mountpoint stays empty', async () => {
    await umount(mp);
    assert.deepEqual(await fsp.readdir(mp), [], 'the mountpoint directory is left behind, empty');

    const r = await lifeboat(config, ['run', '--json']);
    assert.equal(r.code, 0, `absent cells do not fail the run:\n${r.stdout}${r.stderr}`);
    const { cells, summary } = runLines(r.stdout);
    assert.equal(cell(cells, 'data', 'usb').outcome, 'absent');
    assert.match(cell(cells, 'data', 'usb').error!, new RegExp(`${a.label} is plugged in \\(.*\\), but ${mp} is not a mount point: nothing will be written there`));
    assert.equal(cell(cells, 'data', 'usb2').outcome, 'success');
    assert.deepEqual({ absent: summary.absent, failed: summary.failed, succeeded: summary.succeeded }, { absent: 1, failed: 0, succeeded: 1 });
    assert.deepEqual(await fsp.readdir(mp), [], 'nothing was written onto the root disk under the mountpoint');

    // Only the absent cell selected: nothing was backed up, which is worth an exit code (13).
    const text = await lifeboat(config, ['run', '--destination', 'usb']);
    assert.equal(text.code, 13);
    assert.match(text.stdout, /^ABSENT +data -> usb: .* \(skipped\)$/m);
    assert.deepEqual(await fsp.readdir(mp), []);

    // Enrolling mounts the drive itself (nothing goes onto the root disk), adopts what is
    // enrolled there, and leaves the drive unmounted as it found it.
    const e = await lifeboat(config, ['drive', 'enroll', 'usb']);
    assert.equal(e.code, 0, e.stdout + e.stderr);
    assert.match(e.stdout, /: repository [0-9a-f]{10} adopted$/m);
    assert.equal(await isMounted(mp), false, 'enroll unmounts what it mounted');
    assert.deepEqual(await fsp.readdir(mp), []);

    const shown = await lifeboat(config, ['status']);
    assert.match(shown.stdout, /^ABSENT +data +usb .* not mounted, seen \d{4}-\d\d-\d\d$/m, 'the DRIVE column says not mounted, not absent');
    assert.match(shown.stdout, new RegExp(`^usb: ${a.label} is plugged in \\(.*\\), but ${mp} is not a mount point: nothing will be written there$`, 'm'), 'the reason is shown');

    const s = await statusJson(config);
    assert.equal(s.code, 0, 'ABSENT alone does not make status fail');
    const st = cell(s.cells, 'data', 'usb');
    assert.equal(st.state, 'ABSENT');
    assert.equal(st.destination_present, false);
    assert.match(st.destination_why!, /is not a mount point/);
    assert.equal(st.last_success, firstSuccess, 'the last success comes from the state store while the drive is away');
    assert.equal(cell(s.cells, 'data', 'usb2').state, 'OK');
  });

  it('an unplugged drive is ABSENT too, and an unknown drive at its mountpoint is not written', async () => {
    await unplug(a);
    await c.mount(mp);
    const before = await listTree(mp);
    const r = await lifeboat(config, ['run', '--destination', 'usb', '--json']);
    assert.equal(r.code, 13, r.stdout + r.stderr);
    const got = cell(runLines(r.stdout).cells, 'data', 'usb');
    assert.equal(got.outcome, 'absent');
    assert.match(got.error!, new RegExp(`${a.label} is not plugged in`));
    assert.deepEqual(await listTree(mp), before, 'the other drive is untouched');
    await umount(mp);
    await plugIn(a);
    await a.mount(mp);
  });

  it('another drive mounted at the mountpoint is refused by name: FAILED, exit 13, nothing written', async () => {
    await umount(mp);
    await c.mount(mp);
    const before = await listTree(mp);
    const r = await lifeboat(config, ['run', '--destination', 'usb', '--json']);
    assert.equal(r.code, 13, r.stdout + r.stderr);
    const got = cell(runLines(r.stdout).cells, 'data', 'usb');
    assert.equal(got.outcome, 'failed');
    assert.equal(got.code, 'DEVICE_UNAVAILABLE');
    assert.match(got.error!, new RegExp(`${mp} holds drive ${c.label} \\(.*\\), not ${a.label}: refusing to write to it`));
    assert.deepEqual(await listTree(mp), before, 'the wrong drive is untouched');

    // The drive in its place is no absence: status agrees with the run and exits 1.
    const s = await statusJson(config);
    assert.equal(s.code, 1);
    const st = cell(s.cells, 'data', 'usb');
    assert.equal(st.state, 'FAILED');
    assert.equal(st.destination_present, false);
    assert.match(st.destination_why!, new RegExp(`holds drive ${c.label}`));
    assert.match(st.last_error!, /refusing to write/);
    await umount(mp);
    await a.mount(mp);
  });

  it('a drive whose marker names another destination is refused by name', async () => {
    const marker = path.join(mp, 'lifeboat', '.lifeboat-drive.json');
    const own = await fsp.readFile(marker, 'utf8');
    const before = await snapshotCount(path.join(mp, 'lifeboat'));
    // The lifeboat directory of usb2's drive copied onto this drive brings usb2's marker along.
    await fsp.copyFile(path.join(mp2, 'lifeboat', '.lifeboat-drive.json'), marker);
    try {
      const r = await lifeboat(config, ['run', '--destination', 'usb', '--json']);
      assert.equal(r.code, 13, r.stdout + r.stderr);
      const got = cell(runLines(r.stdout).cells, 'data', 'usb');
      assert.equal(got.outcome, 'failed');
      assert.match(got.error!, new RegExp(`${a.label} is enrolled for destination 'usb2', not 'usb': refusing to write to it`));
      assert.equal(await snapshotCount(path.join(mp, 'lifeboat')), before);
    } finally {
      await fsp.writeFile(marker, own);
    }
  });

  it('a drive whose marker names another repository is refused by name', async () => {
    const marker = path.join(mp, 'lifeboat', '.lifeboat-drive.json');
    const own = await fsp.readFile(marker, 'utf8');
    const other = (JSON.parse(await fsp.readFile(path.join(mp2, 'lifeboat', '.lifeboat-drive.json'), 'utf8')) as { repository_id: string }).repository_id;
    const before = await snapshotCount(path.join(mp, 'lifeboat'));
    await fsp.writeFile(marker, JSON.stringify({ ...(JSON.parse(own) as object), repository_id: other }));
    try {
      const r = await lifeboat(config, ['run', '--destination', 'usb', '--json']);
      assert.equal(r.code, 13, r.stdout + r.stderr);
      const got = cell(runLines(r.stdout).cells, 'data', 'usb');
      assert.equal(got.outcome, 'failed');
      assert.match(got.error!, new RegExp(`the repository on usb \\([0-9a-f]{10}\\) is not the one enrolled \\(${other.slice(0, 10)}\\): refusing to write`));
      assert.equal(await snapshotCount(path.join(mp, 'lifeboat')), before);
    } finally {
      await fsp.writeFile(marker, own);
    }
    // With its own marker back, the same drive is written again.
    const r = await lifeboat(config, ['run', '--destination', 'usb', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(cell(runLines(r.stdout).cells, 'data', 'usb').outcome, 'success');
    assert.equal(await snapshotCount(path.join(mp, 'lifeboat')), before + 1);
  });
});
