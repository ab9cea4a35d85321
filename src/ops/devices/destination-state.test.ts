import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { checkDestination, type Destination } from './destination-state.ts';
import { findMount, isMountPoint, parseMountinfo } from './mountinfo.ts';
import { systemProbe } from './probe.ts';
import { runCommand } from './run-command.ts';
import {
  bindMount,
  cleanupTestDrives,
  createTestDrive,
  makeScratchDir,
  mountTmpfs,
  randomLabel,
  type TestDrive,
} from './test-drive.ts';

const probe = systemProbe();
let media: TestDrive; // the destination's own drive
let other: TestDrive; // another labelled drive

before(async () => {
  [media, other] = await Promise.all([createTestDrive(), createTestDrive()]);
});
after(cleanupTestDrives);

async function usbDest(extra: Partial<Destination> = {}): Promise<{ dest: Destination; mnt: string }> {
  const mnt = join(await makeScratchDir(), 'usb-backup');
  await mkdir(mnt);
  return { dest: { name: 'media', kind: 'usb', label: media.label, mountpoint: mnt, root: join(mnt, 'lifeboat'), ...extra }, mnt };
}

const umount = (dir: string) => runCommand('umount', ['--', dir]);

test('usb: a drive that is not plugged in is absent', async () => {
  const { dest } = await usbDest({ label: randomLabel() });
  const s = await checkDestination(dest, probe);
  assert.equal(s.state, 'absent');
  assert.equal(s.state === 'absent' && s.why, `${dest.label} is not plugged in`);
  const byUuid = await checkDestination({ ...dest, label: undefined, uuid: randomUUID() } as Destination, probe);
  assert.equal(byUuid.state, 'absent');
  assert.match(byUuid.state === 'absent' ? byUuid.why : '', /^The drive with UUID .* is not plugged in$/);
});

test('usb: a plugged-in drive whose mountpoint is not mounted is not-mounted, and nothing is written there', async () => {
  const { dest, mnt } = await usbDest();
  const s = await checkDestination(dest, probe);
  assert.equal(s.state, 'not-mounted');
  if (s.state !== 'not-mounted') return;
  assert.equal(s.device, media.device);
  assert.equal(s.why, `${media.label} is plugged in (${media.device}), but ${mnt} is not a mount point: nothing will be written there`);
  assert.deepEqual(await readdir(mnt), []);
});

test('usb: a missing mountpoint is not-mounted and is not created by the check', async () => {
  const { dest, mnt } = await usbDest();
  const gone = join(mnt, 'absent-dir');
  const s = await checkDestination({ ...dest, mountpoint: gone, root: join(gone, 'repo') }, probe);
  assert.equal(s.state, 'not-mounted');
  assert.match(s.state === 'not-mounted' ? s.why : '', /does not exist/);
  assert.deepEqual(await readdir(mnt), []);
});

test('usb: the drive mounted somewhere else is not-mounted, naming where it is', async () => {
  const { dest, mnt } = await usbDest();
  const elsewhere = join(media.workDir, 'elsewhere');
  await media.mount(elsewhere);
  try {
    const s = await checkDestination(dest, probe);
    assert.equal(s.state, 'not-mounted');
    assert.equal(s.state === 'not-mounted' && s.why, `${media.label} is mounted at ${elsewhere}, not at ${mnt}: nothing will be written there`);
    assert.deepEqual(await readdir(mnt), []);
  } finally {
    await umount(elsewhere);
  }
});

test('usb: a different labelled drive mounted at the mountpoint is wrong-drive, by name', async () => {
  const { dest, mnt } = await usbDest();
  await other.mount(mnt);
  try {
    const s = await checkDestination(dest, probe);
    assert.equal(s.state, 'wrong-drive');
    if (s.state !== 'wrong-drive') return;
    assert.deepEqual(s.found, { label: other.label, uuid: other.uuid });
    assert.equal(s.why, `${mnt} holds drive ${other.label} (${other.device}), not ${media.label}: refusing to write to it`);
  } finally {
    await umount(mnt);
  }
});

test('usb: right label with another UUID (or the reverse) is wrong-drive', async () => {
  const { dest } = await usbDest();
  const s = await checkDestination({ ...dest, uuid: randomUUID() }, probe);
  assert.equal(s.state, 'wrong-drive');
  if (s.state === 'wrong-drive') {
    assert.deepEqual(s.found, { label: media.label, uuid: media.uuid });
    assert.match(s.why, /different drive with the same label/);
  }
  const r = await checkDestination({ ...dest, label: randomLabel(), uuid: media.uuid }, probe);
  assert.equal(r.state, 'wrong-drive');
  assert.match(r.state === 'wrong-drive' ? r.why : '', new RegExp(`labelled ${media.label}, not`));
});

test('usb: a tmpfs at the mountpoint is not the drive: not-mounted', async () => {
  const { dest, mnt } = await usbDest();
  await mountTmpfs(mnt);
  try {
    const s = await checkDestination(dest, probe);
    assert.equal(s.state, 'not-mounted');
    assert.match(s.state === 'not-mounted' ? s.why : '', /is a mount of tmpfs \(tmpfs\), not of/);
  } finally {
    await umount(mnt);
  }
});

test('usb: the drive mounted read-only is read-only', async () => {
  const { dest, mnt } = await usbDest();
  await media.mount(mnt, { readOnly: true });
  try {
    const s = await checkDestination(dest, probe);
    assert.equal(s.state, 'read-only');
    assert.equal(s.state === 'read-only' && s.why, `${media.label} is mounted read-only at ${mnt}: nothing can be written to it`);
  } finally {
    await umount(mnt);
  }
});

test('usb: the drive mounted at its mountpoint is ready, with label, UUID and device', async () => {
  const { dest, mnt } = await usbDest({ uuid: media.uuid.toUpperCase() });
  await media.mount(mnt);
  try {
    assert.deepEqual(await checkDestination(dest, probe), {
      state: 'ready',
      root: join(mnt, 'lifeboat'),
      mountPoint: mnt,
      device: media.device,
      label: media.label,
      uuid: media.uuid,
    });
  } finally {
    await umount(mnt);
  }
});

test('usb: the last of stacked mounts decides (drive over tmpfs is ready, tmpfs over drive is not)', async () => {
  const { dest, mnt } = await usbDest();
  await mountTmpfs(mnt);
  await media.mount(mnt);
  try {
    assert.equal((await checkDestination(dest, probe)).state, 'ready');
    await mountTmpfs(mnt);
    assert.equal((await checkDestination(dest, probe)).state, 'not-mounted');
  } finally {
    for (let i = 0; i < 3; i++) await umount(mnt);
  }
});

test('usb: a root that is a symlink from the drive back to the root disk is refused', async () => {
  const { dest, mnt } = await usbDest();
  const onRootDisk = await makeScratchDir();
  await media.mount(mnt);
  try {
    await symlink(onRootDisk, join(mnt, 'lifeboat'));
    const s = await checkDestination(dest, probe);
    assert.equal(s.state, 'not-mounted');
    assert.match(s.state === 'not-mounted' ? s.why : '', new RegExp(`resolves to ${onRootDisk}, which is on the root filesystem`));
  } finally {
    await runCommand('rm', ['-f', join(mnt, 'lifeboat')]);
    await umount(mnt);
  }
});

test('usb: a destination without label and UUID, or with root outside the mountpoint, is a usage error', async () => {
  const { dest } = await usbDest();
  await assert.rejects(checkDestination({ ...dest, label: undefined } as Destination, probe), { code: 'USAGE' });
  await assert.rejects(checkDestination({ ...dest, root: '/var/backups' }, probe), { code: 'USAGE' });
});

test('nas: a plain directory on the root filesystem is not-mounted', async () => {
  const dir = await makeScratchDir();
  const s = await checkDestination({ name: 'nas', kind: 'nas', path: dir, root: join(dir, 'repo') }, probe);
  assert.equal(s.state, 'not-mounted');
  assert.match(s.state === 'not-mounted' ? s.why : '', /is on the root filesystem/);
  const m = await checkDestination({ name: 'nas', kind: 'nas', mountpoint: dir, root: join(dir, 'repo') }, probe);
  assert.equal(m.state, 'not-mounted');
  assert.equal(m.state === 'not-mounted' && m.why, `${dir} is not a mount point: the share of 'nas' is not mounted, nothing will be written there`);
  assert.deepEqual(await readdir(dir), []);
});

test('nas: a tmpfs mount is ready; read-only it is read-only', async () => {
  const dir = join(await makeScratchDir(), 'nas');
  await mountTmpfs(dir);
  try {
    const dest: Destination = { name: 'nas', kind: 'nas', mountpoint: dir, root: join(dir, 'backups', 'repo') };
    assert.deepEqual(await checkDestination(dest, probe), { state: 'ready', root: join(dir, 'backups', 'repo'), mountPoint: dir, device: 'tmpfs' });
    const byPath = await checkDestination({ name: 'nas', kind: 'nas', path: join(dir, 'backups'), root: join(dir, 'backups') }, probe);
    assert.equal(byPath.state, 'ready');
    await runCommand('mount', ['-o', 'remount,ro', dir]);
    assert.equal((await checkDestination(dest, probe)).state, 'read-only');
  } finally {
    await umount(dir);
  }
});

test('nas: a bind mount is recognised as a mount; bound from a share it is ready, bound from the root disk it is not', async () => {
  const scratch = await makeScratchDir();
  const share = join(scratch, 'share');
  await mountTmpfs(share);
  await mkdir(join(share, 'exports'));
  const bound = join(scratch, 'bound');
  await bindMount(join(share, 'exports'), bound);
  const fromRoot = join(scratch, 'from-root');
  await bindMount(await makeScratchDir(), fromRoot);
  try {
    const table = parseMountinfo(await probe.mountinfo());
    assert.equal(isMountPoint(bound, table), true);
    assert.equal(isMountPoint(fromRoot, table), true, 'same device as its parent directory, still a mount');
    assert.equal(findMount(join(fromRoot, 'x'), table)?.mountPoint, fromRoot);
    const a = await checkDestination({ name: 'nas', kind: 'nas', mountpoint: bound, root: join(bound, 'repo') }, probe);
    assert.equal(a.state, 'ready');
    const b = await checkDestination({ name: 'nas', kind: 'nas', mountpoint: fromRoot, root: join(fromRoot, 'repo') }, probe);
    assert.equal(b.state, 'not-mounted');
    assert.match(b.state === 'not-mounted' ? b.why : '', /bind mount of the root filesystem/);
  } finally {
    await umount(fromRoot);
    await umount(bound);
    await umount(share);
  }
});

test('local: ready when the parent of root exists, absent when it does not', async () => {
  const dir = await makeScratchDir();
  const ok = await checkDestination({ name: 'local', kind: 'local', root: join(dir, 'repo') }, probe);
  assert.equal(ok.state, 'ready');
  assert.equal(ok.state === 'ready' && ok.mountPoint, '/');
  const missing = await checkDestination({ name: 'local', kind: 'local', root: join(dir, 'no', 'repo') }, probe);
  assert.equal(missing.state, 'absent');
  assert.deepEqual(await readdir(dir), []);
});
