import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Destination } from './destination-state.ts';
import { isMountPoint, parseMountinfo } from './mountinfo.ts';
import { systemProbe, type DeviceProbe } from './probe.ts';
import { runCommand } from './run-command.ts';
import { findAttachedDrives, listAttachedDrives, mountDrive, releaseDrive } from './usb.ts';
import { cleanupTestDrives, createTestDrive, makeScratchDir, mountTmpfs, type TestDrive } from './test-drive.ts';

after(cleanupTestDrives);
const probe = systemProbe();
// One drive shared by the tests below the first; each test leaves it unmounted.
let d: TestDrive;
before(async () => {
  d = await createTestDrive();
});

async function mountedAnywhere(device: string): Promise<string[]> {
  return parseMountinfo(await probe.mountinfo()).filter((m) => m.source === device).map((m) => m.mountPoint);
}

test('findAttachedDrives finds a plugged-in drive by label through blkid, and by UUID', async () => {
  const own = await createTestDrive();
  const mnt = join(own.workDir, 'mnt');
  const byLabel: Destination = { name: 'media', kind: 'usb', label: own.label, mountpoint: mnt, root: join(mnt, 'repo') };
  const byUuid: Destination = { ...byLabel, name: 'media-uuid', label: undefined, uuid: own.uuid } as Destination;
  const both: Destination = { ...byLabel, name: 'media-both', uuid: own.uuid };
  const clone: Destination = { ...byLabel, name: 'clone', uuid: randomUUID() };
  const nas: Destination = { name: 'nas', kind: 'nas', label: own.label, root: '/srv/nas' };
  const matches = await findAttachedDrives(probe, [byLabel, byUuid, both, clone, nas]);
  assert.deepEqual(
    matches.map((m) => [m.destination.name, m.matchedBy, m.drive.device]),
    [
      ['media', 'label', own.device],
      ['media-uuid', 'uuid', own.device],
      ['media-both', 'label+uuid', own.device],
    ],
  );
  const drive = matches[0]!.drive;
  assert.equal(drive.label, own.label);
  assert.equal(drive.uuid, own.uuid);
  assert.equal(drive.fsType, 'ext4');
  assert.equal(drive.sizeBytes, 32 * 1024 * 1024, 'size comes from lsblk');
  assert.equal(drive.removable, false, 'a loop device is not removable');
  assert.deepEqual(drive.mountPoints, []);
  await own.cleanup();
  assert.deepEqual(await findAttachedDrives(probe, [byLabel]), [], 'an unplugged drive is found no more');
});

test('mountDrive creates the missing mountpoint, mounts the drive and verifies it is ready; releaseDrive makes it safe to unplug', async () => {
  const mnt = join(await makeScratchDir(), 'usb-backup');
  const dest: Destination = { name: 'media', kind: 'usb', label: d.label, mountpoint: mnt, root: join(mnt, 'lifeboat') };
  const [match] = await findAttachedDrives(probe, [dest]);
  assert.ok(match);

  const m = await mountDrive(match, probe);
  assert.equal(m.mounted, true);
  assert.equal(m.state.state, 'ready');
  assert.deepEqual(m.notes, [`created the mountpoint ${mnt}`]);
  assert.deepEqual(await mountedAnywhere(d.device), [mnt]);

  const again = await mountDrive(match, probe);
  assert.equal(again.mounted, false, 'a drive already in place is not mounted twice');
  assert.equal(again.state.state, 'ready');
  assert.deepEqual(await mountedAnywhere(d.device), [mnt]);

  await writeFile(join(mnt, 'written-while-mounted'), 'x');
  const r = await releaseDrive(match, probe);
  assert.equal(r.safe, true);
  assert.equal(r.message, `${d.label}: safe to unplug`);
  assert.equal(r.poweredOff, false, 'no udisksctl here');
  assert.ok(r.notes.includes(`unmounted ${mnt}`));
  assert.ok(r.notes.some((n) => /not powered off/.test(n)), r.notes.join(' | '));
  assert.deepEqual(await mountedAnywhere(d.device), []);
  assert.deepEqual(await readdir(mnt), [], 'the file went to the drive, not the mountpoint');
});

test('mountDrive refuses to mount over something else mounted at the mountpoint', async () => {
  const mnt = join(await makeScratchDir(), 'usb-backup');
  await mountTmpfs(mnt);
  const dest: Destination = { name: 'media', kind: 'usb', label: d.label, mountpoint: mnt, root: join(mnt, 'lifeboat') };
  const [match] = await findAttachedDrives(probe, [dest]);
  const m = await mountDrive(match!, probe);
  assert.equal(m.mounted, false);
  assert.equal(m.state.state, 'not-mounted');
  assert.match(m.notes.join(' '), /was not mounted: .* is a mount of tmpfs/);
  assert.deepEqual(await mountedAnywhere(d.device), []);
  await runCommand('umount', ['--', mnt]);
});

test('mountDrive warns about files hidden under the mountpoint', async () => {
  const mnt = join(await makeScratchDir(), 'usb-backup');
  await mkdir(mnt);
  await writeFile(join(mnt, 'stray.tmp'), 'written while the drive was away');
  const [match] = await findAttachedDrives(probe, [{ name: 'media', kind: 'usb', label: d.label, mountpoint: mnt, root: mnt }]);
  const m = await mountDrive(match!, probe);
  assert.equal(m.state.state, 'ready');
  assert.match(m.notes.join(' '), /1 entry in .* will be hidden by the mount/);
  const r = await releaseDrive(match!, probe);
  assert.equal(r.safe, true);
  assert.deepEqual(await readdir(mnt), ['stray.tmp']);
});

test('releaseDrive does not call a drive safe while it is still mounted elsewhere', async () => {
  const mnt = join(await makeScratchDir(), 'usb-backup');
  const desktop = join(await makeScratchDir(), 'media-desktop');
  const [match] = await findAttachedDrives(probe, [{ name: 'media', kind: 'usb', label: d.label, mountpoint: mnt, root: mnt }]);
  await mountDrive(match!, probe);
  await d.mount(desktop);
  const r = await releaseDrive(match!, probe);
  assert.equal(r.safe, false);
  assert.equal(r.poweredOff, false);
  assert.equal(r.message, `${d.label}: not safe to unplug, still mounted at ${desktop}`);
  assert.equal(isMountPoint(mnt, parseMountinfo(await probe.mountinfo())), false, 'our own mount is gone');
  await runCommand('umount', ['--', desktop]);
});

// Thin seam for what cannot exist on this machine: a USB bridge that lsblk reports as such, and
// udisksctl powering the drive off. Everything else is the real probe.
test('a USB-attached drive reports transport and hotplug from its disk, and a successful power-off', async () => {
  const real = systemProbe();
  const usbBridge: DeviceProbe = {
    ...real,
    lsblk: async () => [
      { name: 'sdz', path: '/dev/sdz', removable: true, hotplug: true, transport: 'usb', sizeBytes: 32 * 1024 * 1024 },
      { name: d.device.slice(5), path: d.device, parent: '/dev/sdz', removable: false, hotplug: true, sizeBytes: 32 * 1024 * 1024 },
    ],
    powerOff: async () => ({ done: true }),
  };
  const mnt = join(await makeScratchDir(), 'usb');
  const [match] = await findAttachedDrives(usbBridge, [{ name: 'media', kind: 'usb', label: d.label, mountpoint: mnt, root: mnt }]);
  assert.equal(match?.drive.transport, 'usb');
  assert.equal(match?.drive.removable, true);
  assert.equal(match?.drive.hotplug, true);
  await mountDrive(match!, usbBridge);
  const r = await releaseDrive(match!, usbBridge);
  assert.deepEqual([r.safe, r.poweredOff, r.message], [true, true, `${d.label}: safe to unplug`]);
});

test('listAttachedDrives lists every labelled drive once, with where it is mounted', async () => {
  const mnt = join(await makeScratchDir(), 'm');
  await d.mount(mnt);
  const all = await listAttachedDrives(probe);
  await runCommand('umount', ['--', mnt]);
  const mine = all.filter((x) => x.label === d.label);
  assert.equal(mine.length, 1);
  assert.deepEqual(mine[0]?.mountPoints, [mnt]);
  assert.ok(all.every((x) => x.label !== undefined || x.uuid !== undefined));
});
