import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readdir } from 'node:fs/promises';
import { findMount, isMountPoint, isReadWrite, parseMountinfo } from './mountinfo.ts';
import { parseBlkidExport, parseLsblkJson, systemProbe } from './probe.ts';
import { cleanupTestDrives, createTestDrive, makeScratchDir } from './test-drive.ts';

after(cleanupTestDrives);

test('parseBlkidExport decodes backslash escapes and splits devices', () => {
  const text = [
    'DEVNAME=/dev/sdb1',
    'LABEL=BU\\ 2025\\ \\"MEDIA\\"',
    'UUID=0f3c4a8e-1111-2222-3333-444455556666',
    'BLOCK_SIZE=4096',
    'TYPE=ext4',
    'PARTUUID=abcd-01',
    '',
    'DEVNAME=/dev/sdc',
    'PTUUID=abcd',
    'PTTYPE=dos',
    'DEVNAME=/dev/sdc1',
    'UUID=ABCD-1234',
    'TYPE=vfat',
    'not a field',
    '',
    'UUID=orphan-without-devname',
    '',
  ].join('\n');
  const e = parseBlkidExport(text);
  assert.equal(e.length, 3);
  assert.equal(e[0]?.label, 'BU 2025 "MEDIA"');
  assert.equal(e[0]?.uuid, '0f3c4a8e-1111-2222-3333-444455556666');
  assert.equal(e[0]?.type, 'ext4');
  assert.equal(e[0]?.fields['PARTUUID'], 'abcd-01');
  assert.equal(e[1]?.device, '/dev/sdc');
  assert.equal(e[1]?.label, undefined);
  assert.deepEqual([e[2]?.device, e[2]?.uuid, e[2]?.type], ['/dev/sdc1', 'ABCD-1234', 'vfat']);
  assert.deepEqual(parseBlkidExport(''), []);
});

test('parseLsblkJson flattens partitions under their disk and reads old-style "0"/"1" flags', () => {
  const json = JSON.stringify({
    blockdevices: [
      {
        name: 'sdb', path: '/dev/sdb', label: null, uuid: null, fstype: null, mountpoint: null,
        rm: true, hotplug: true, tran: 'usb', size: 1000204886016,
        children: [{ name: 'sdb1', path: '/dev/sdb1', label: 'BU-2025-MEDIA', uuid: 'u-1', fstype: 'ext4', mountpoint: '/mnt/usb-backup', rm: true, hotplug: true, tran: null, size: 1000203837440 }],
      },
      { name: 'sda', label: null, rm: '0', hotplug: '0', tran: 'sata', size: '500107862016' },
    ],
  });
  const e = parseLsblkJson(json);
  assert.deepEqual(e.map((x) => x.path), ['/dev/sdb', '/dev/sdb1', '/dev/sda']);
  assert.equal(e[1]?.parent, '/dev/sdb');
  assert.equal(e[1]?.label, 'BU-2025-MEDIA');
  assert.equal(e[1]?.mountpoint, '/mnt/usb-backup');
  assert.equal(e[0]?.transport, 'usb');
  assert.equal(e[0]?.removable, true);
  assert.equal(e[2]?.removable, false);
  assert.equal(e[2]?.sizeBytes, 500107862016);
  assert.throws(() => parseLsblkJson('not json'), /lsblk/);
});

test('systemProbe.blkid finds a freshly attached loop drive by label and UUID, including a label with a space and a quote', async () => {
  const label = `BU T"${Math.random().toString(36).slice(2, 10)}`;
  const d = await createTestDrive({ label });
  const probe = systemProbe();
  const found = (await probe.blkid()).find((b) => b.device === d.device);
  assert.equal(found?.label, label);
  assert.equal(found?.uuid, d.uuid);
  assert.equal(found?.type, 'ext4');
  await d.cleanup();
  const gone = (await probe.blkid()).find((b) => b.uuid === d.uuid);
  assert.equal(gone, undefined, 'a detached drive is not reported from a stale cache');
});

test('systemProbe.lsblk lists the loop device; label and UUID may be empty without udev', async () => {
  const d = await createTestDrive();
  const entry = (await systemProbe().lsblk()).find((b) => b.path === d.device);
  assert.ok(entry, `lsblk lists ${d.device}`);
  assert.equal(entry.sizeBytes, 32 * 1024 * 1024);
  assert.equal(entry.transport, undefined);
  await d.cleanup();
});

test('systemProbe mounts, reports and unmounts a real drive; statfs measures it', async () => {
  const d = await createTestDrive();
  const probe = systemProbe();
  const dir = join(d.workDir, 'mnt with space');
  await (await import('node:fs/promises')).mkdir(dir);
  await probe.mount(d.device, dir);
  let mounts = parseMountinfo(await probe.mountinfo());
  assert.equal(isMountPoint(dir, mounts), true);
  assert.equal(findMount(dir, mounts)?.source, d.device);
  assert.equal(isReadWrite(findMount(dir, mounts)!), true);
  const s = await probe.statfs(dir);
  assert.ok(s.total > 20 * 1024 * 1024 && s.total <= 32 * 1024 * 1024, `total ${s.total}`);
  assert.ok(s.free > 0 && s.free < s.total);
  await probe.sync();
  await probe.umount(dir);
  mounts = parseMountinfo(await probe.mountinfo());
  assert.equal(isMountPoint(dir, mounts), false);
  assert.deepEqual(await readdir(dir), []);
  await probe.mount(d.device, dir, { readOnly: true, options: ['nosuid', 'nodev'] });
  const ro = findMount(dir, parseMountinfo(await probe.mountinfo()));
  assert.equal(ro !== undefined && isReadWrite(ro), false);
  assert.ok(ro?.options.includes('nosuid'));
  await probe.umount(dir);
  await d.cleanup();
});

test('systemProbe.mount fails with the tool\'s own reason', async () => {
  const dir = await makeScratchDir();
  await assert.rejects(systemProbe().mount('/dev/lifeboat-no-such-device', dir), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'IO');
    assert.match(e.message, /mount/);
    return true;
  });
});

test('systemProbe.powerOff without udisksctl reports done: false with a note', async () => {
  const r = await systemProbe().powerOff('/dev/loop-none');
  assert.equal(r.done, false);
  assert.match(r.note ?? '', /not powered off/);
});

test('systemProbe.statfs of a missing path is NOT_FOUND', async () => {
  await assert.rejects(systemProbe().statfs('/nonexistent/lifeboat'), { code: 'NOT_FOUND' });
});
