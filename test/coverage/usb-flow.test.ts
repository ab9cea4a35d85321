/**
 * The USB plug-in flow through the CLI: `lifeboat usb` finds an enrolled drive that is attached
 * but not mounted by its label (blkid), mounts it at the configured mountpoint (creating that
 * directory), backs up every cell of its destination (plugging a drive in by hand means "back it
 * up now"; `--due`, for the automatic trigger, runs only due cells and says what it skipped),
 * unmounts it and says it is safe to unplug.
 */
import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanupTestDrives, createTestDrive, type TestDrive } from '../../src/ops/devices/test-drive.ts';
import { isMounted, lifeboat, requireEnvironment, resticSnapshots, scratch, spawnLifeboat, umount, unplug, untilExists, writeTree, writeUsbCellConfig, enroll } from './harness.ts';

describe('lifeboat usb', () => {
  let drive: TestDrive;
  let dir: string;
  let passwordFile: string;
  let config: string;
  let mp: string;

  /** Whether the drive's loop device is mounted anywhere. */
  const driveMounted = async (): Promise<boolean> => (await fsp.readFile('/proc/self/mountinfo', 'utf8')).split('\n').some((l) => l.split(' - ')[1]?.split(' ')[1] === drive.device);

  before(async () => {
    requireEnvironment();
    ({ dir, passwordFile } = await scratch());
    drive = await createTestDrive();
    mp = path.join(dir, 'mnt', drive.label);
    await writeTree(path.join(dir, 'data'), { 'ledger.csv': 'date,amount\n2025-01-01,10\n', 'photos/cat.jpg': 'not really a jpeg\n' });
    config = await writeUsbCellConfig({ dir, passwordFile, destination: 'usb', label: drive.label, mountpoint: mp, source: 'data', paths: [`${dir}/data`], priority: 'medium', frequency: 'daily' });
    // Enrolled once, by hand, as the operator would; then unmounted and its mountpoint removed.
    await drive.mount(mp);
    await enroll(config, 'usb');
    await umount(mp);
    await fsp.rmdir(mp);
  });

  after(async () => {
    await cleanupTestDrives();
  });

  it('finds the drive by label, mounts it, backs up its cells, unmounts it: safe to unplug', async () => {
    assert.equal(await driveMounted(), false);
    const r = await lifeboat(config, ['usb']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^note: created the mountpoint ${mp}$`, 'm'));
    assert.match(r.stdout, /^OK +data -> usb: 2 files, .*snapshot [0-9a-f]{8}/m);
    assert.match(r.stdout, new RegExp(`^${drive.label}: safe to unplug$`, 'm'));
    assert.equal(await isMounted(mp), false, 'the mountpoint is unmounted afterwards');
    assert.equal(await driveMounted(), false, 'the drive is mounted nowhere afterwards');
    assert.deepEqual(await fsp.readdir(mp), [], 'the mountpoint is left empty');

    await drive.mount(mp);
    try {
      const snaps = await resticSnapshots(path.join(mp, 'lifeboat'), passwordFile);
      assert.equal(snaps.length, 1);
      assert.deepEqual(snaps[0]!.tags, ['source:data']);
      assert.deepEqual(snaps[0]!.paths, [path.join(dir, 'data')]);
    } finally {
      await umount(mp);
    }
  });

  it('with --due (the automatic trigger) right after, nothing is due: no snapshot, unmounted again; --json prints only JSON', async () => {
    const r = await lifeboat(config, ['usb', '--due', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => {
        assert.doesNotThrow(() => JSON.parse(l), `not JSON: ${l}`);
        return JSON.parse(l) as Record<string, unknown>;
      });
    assert.ok(lines.some((l) => l.type === 'cell' && l.source === 'data' && l.outcome === 'not-due'));
    assert.ok(lines.some((l) => l.type === 'summary' && l.not_due === 1));
    assert.deepEqual(lines.filter((l) => l.type === 'skipped').map((l) => [l.destination, l.not_due]), [['usb', 1]], 'what was skipped is said');
    assert.deepEqual(
      lines.filter((l) => l.type === 'release').map((l) => [l.destination, l.safe, l.message]),
      [['usb', true, `${drive.label}: safe to unplug`]],
    );
    assert.equal(await driveMounted(), false);

    await drive.mount(mp);
    try {
      assert.equal((await resticSnapshots(path.join(mp, 'lifeboat'), passwordFile)).length, 1);
    } finally {
      await umount(mp);
    }
  });

  it('plugged in by hand right after, every cell is backed up now; --due says what it skips and how to force it', async () => {
    const r = await lifeboat(config, ['usb']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^OK +data -> usb: /m);
    assert.doesNotMatch(r.stdout, /not due/);
    assert.match(r.stdout, new RegExp(`^${drive.label}: safe to unplug$`, 'm'));
    assert.equal(await driveMounted(), false);

    const due = await lifeboat(config, ['usb', '--due']);
    assert.equal(due.code, 0, due.stdout + due.stderr);
    assert.match(due.stdout, /^- +data -> usb: not due$/m);
    assert.match(due.stdout, /^usb: 1 cell not due, skipped; `lifeboat usb` without --due backs it up now$/m);
    assert.equal(await driveMounted(), false);

    await drive.mount(mp);
    try {
      assert.equal((await resticSnapshots(path.join(mp, 'lifeboat'), passwordFile)).length, 2, 'the run by hand made a second snapshot, --due none');
    } finally {
      await umount(mp);
    }
  });

  it('a run that cannot start at all still hands the drive back unmounted', async () => {
    // An unusable state directory (here a plain file) makes the run throw before any cell.
    const broken = path.join(dir, 'broken.yaml');
    await fsp.writeFile(path.join(dir, 'not-a-dir'), '');
    await fsp.writeFile(broken, (await fsp.readFile(config, 'utf8')).replace(/^state_dir: .*$/m, `state_dir: ${dir}/not-a-dir`));
    const r = await lifeboat(broken, ['usb']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^lifeboat: /);
    assert.match(r.stdout, new RegExp(`^${drive.label}: safe to unplug$`, 'm'));
    assert.equal(await driveMounted(), false, 'the drive is not left mounted');
  });

  it('SIGINT during lifeboat usb: exit 130, the cell INTERRUPTED (not FAILED), and the drive is still handed back unmounted', async () => {
    const started = path.join(dir, 'dump-started');
    const slow = path.join(dir, 'slow.yaml');
    await fsp.writeFile(
      slow,
      `${(await fsp.readFile(config, 'utf8')).replace(/^state_dir: .*$/m, `state_dir: ${dir}/slow-state`)}  slow-dump:
    command: [sh, -c, 'head -c 2000000 /dev/urandom; touch ${started}; exec sleep 60']
    filename: dump.sql
    priority: low
    frequency: daily
    destinations: [usb]
`,
    );
    const r = await spawnLifeboat(slow, ['usb'], (child) => {
      void untilExists(started).then(() => setTimeout(() => child.kill('SIGINT'), 300));
    });
    assert.equal(r.code, 130, r.stdout + r.stderr);
    assert.match(r.stdout, /^INTERRUPTED slow-dump -> usb: interrupted after /m);
    assert.doesNotMatch(r.stdout + r.stderr, /FAILED|operation was aborted/);
    assert.match(r.stdout, new RegExp(`^${drive.label}: safe to unplug$`, 'm'));
    assert.equal(await driveMounted(), false, 'the drive is not left mounted');
  });

  it('with the drive unplugged, says no enrolled drive is attached and mounts nothing', async () => {
    await unplug(drive);
    const r = await lifeboat(config, ['usb']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^no enrolled drive attached \\(looking for ${drive.label}\\)$`, 'm'));
    assert.equal(await isMounted(mp), false);
    assert.ok(existsSync(mp));
  });
});

describe('drive enroll on a plugged-in drive that is not mounted', () => {
  let drive: TestDrive;
  let dir: string;
  let passwordFile: string;
  let config: string;
  let mp: string;

  before(async () => {
    requireEnvironment();
    ({ dir, passwordFile } = await scratch());
    drive = await createTestDrive();
    mp = path.join(dir, 'mnt', drive.label);
    await fsp.mkdir(path.dirname(mp)); // the mountpoint's parent, as /mnt is
    await writeTree(path.join(dir, 'data'), { 'ledger.csv': 'date,amount\n' });
    config = await writeUsbCellConfig({ dir, passwordFile, destination: 'usb', label: drive.label, mountpoint: mp, source: 'data', paths: [`${dir}/data`], priority: 'medium', frequency: 'daily' });
  });

  after(async () => {
    await cleanupTestDrives();
  });

  it('mounts it at its mountpoint by label, enrolls it, unmounts it again and reminds to keep the password off the server', async () => {
    const r = await lifeboat(config, ['drive', 'enroll', 'usb']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^note: created the mountpoint ${mp}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^enrolled usb at ${mp}/lifeboat \\(drive ${drive.label}\\): repository [0-9a-f]{10} created$`, 'm'));
    assert.match(r.stdout, /^remember: keep the repository password \(.*\) somewhere off this server too: without it, nobody can read the backups on usb$/m);
    assert.doesNotMatch(r.stdout + r.stderr, /coverage suite password/, 'the password itself is never printed');
    assert.equal(await isMounted(mp), false, 'left unmounted, as it was found');
    assert.doesNotMatch(r.stdout, /powered off/, 'and not powered off: enroll only unmounts what it mounted');

    const u = await lifeboat(config, ['usb']);
    assert.equal(u.code, 0, u.stdout + u.stderr);
    assert.match(u.stdout, /^OK +data -> usb: /m);
  });
});
