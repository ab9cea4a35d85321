import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeMountinfoPath, findMount, isMountPoint, isReadWrite, parseMountinfo } from './mountinfo.ts';

// A mount table as a server with a USB drive, a NAS automount and a bind mount would show it.
const FIXTURE = [
  '26 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard',
  '21 26 0:20 / /proc rw,relatime - proc proc rw',
  '50 26 8:17 / /mnt/usb\\040backup rw,nosuid,nodev shared:30 master:2 - ext4 /dev/sdb1 rw',
  // automount stacked under the real share at the same mount point: the last entry wins
  '60 26 0:44 / /mnt/nas rw,relatime shared:40 - autofs systemd-1 rw,fd=50,pgrp=1',
  '61 60 0:45 / /mnt/nas rw,relatime shared:41 - nfs4 nas:/export/backup rw,vers=4.2',
  // bind mount of a subdirectory of the root filesystem
  '70 26 254:0 /srv/data /srv/bind rw,relatime shared:1 - ext4 /dev/vda rw,discard',
  // read-only superblock under a rw mount
  '80 26 8:33 / /mnt/ro-super rw,relatime - ext4 /dev/sdc1 ro,errors=remount-ro',
  // /mnt/over/inner mounted first, then a tmpfs over /mnt/over hides it
  '90 26 8:49 / /mnt/over/inner rw - ext4 /dev/sdd1 rw',
  '91 26 0:50 / /mnt/over rw - tmpfs tmpfs rw',
  'garbage line that is not mountinfo',
  '',
].join('\n');

test('parseMountinfo reads every field and decodes octal escapes', () => {
  const e = parseMountinfo(FIXTURE);
  assert.equal(e.length, 9, 'the garbage line is skipped');
  const usb = e.find((m) => m.id === 50);
  assert.deepEqual(usb, {
    id: 50,
    parent: 26,
    majorMinor: '8:17',
    root: '/',
    mountPoint: '/mnt/usb backup',
    options: ['rw', 'nosuid', 'nodev'],
    fsType: 'ext4',
    source: '/dev/sdb1',
    superOptions: ['rw'],
  });
  assert.equal(e.find((m) => m.id === 70)?.root, '/srv/data');
});

test('decodeMountinfoPath decodes space, tab, newline and backslash', () => {
  assert.equal(decodeMountinfoPath('/a\\040b\\011c\\012d\\134e'), '/a b\tc\nd\\e');
});

test('findMount takes the deepest mount on the way to the path', () => {
  const e = parseMountinfo(FIXTURE);
  assert.equal(findMount('/mnt/usb backup/repo/data', e)?.id, 50);
  assert.equal(findMount('/mnt/usb backup', e)?.id, 50);
  assert.equal(findMount('/mnt/usb', e)?.id, 26, 'a prefix of a name is not a parent directory');
  assert.equal(findMount('/var/lib', e)?.mountPoint, '/');
});

test('findMount lets the last of stacked mounts win (automount under the real share)', () => {
  const e = parseMountinfo(FIXTURE);
  const m = findMount('/mnt/nas/lifeboat', e);
  assert.equal(m?.fsType, 'nfs4');
  assert.equal(m?.source, 'nas:/export/backup');
});

test('findMount sees a mount over a parent directory hide the older mount below it', () => {
  const e = parseMountinfo(FIXTURE);
  assert.equal(findMount('/mnt/over/inner/x', e)?.fsType, 'tmpfs');
  assert.equal(isMountPoint('/mnt/over/inner', e), false);
});

test('findMount falls back to longest prefix, last entry wins, when the table has no tree', () => {
  const e = parseMountinfo(
    ['1 0 0:1 / / rw - ext4 a rw', '5 99 0:5 / /x rw - tmpfs first rw', '6 98 0:6 / /x rw - tmpfs second rw'].join('\n'),
  );
  assert.equal(findMount('/x/y', e)?.source, 'second');
});

test('isMountPoint recognises a bind mount, which st_dev comparison would miss', () => {
  const e = parseMountinfo(FIXTURE);
  assert.equal(isMountPoint('/srv/bind', e), true);
  assert.equal(isMountPoint('/srv/bind/', e), true);
  assert.equal(isMountPoint('/srv/bind/sub', e), false);
  assert.equal(isMountPoint('/srv', e), false);
  assert.equal(isMountPoint('/', e), true);
});

test('isReadWrite refuses ro in the mount options or in the superblock options', () => {
  const e = parseMountinfo(FIXTURE);
  assert.equal(isReadWrite(findMount('/mnt/usb backup', e)!), true);
  assert.equal(isReadWrite(findMount('/mnt/ro-super', e)!), false);
  const [ro] = parseMountinfo('1 0 0:1 / / ro,relatime - ext4 /dev/vda rw');
  assert.equal(isReadWrite(ro!), false);
});

test('parseMountinfo reads the real /proc/self/mountinfo', () => {
  const e = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  assert.ok(e.length > 0);
  assert.ok(e.every((m) => m.mountPoint.startsWith('/') && m.fsType !== '' && Number.isInteger(m.id)));
  assert.equal(findMount('/', e)?.mountPoint, '/');
  assert.equal(findMount('/proc/self/mountinfo', e)?.fsType, 'proc');
  assert.equal(isMountPoint('/proc', e), true);
});

test('findMount rejects a relative path', () => {
  assert.throws(() => findMount('mnt/usb', []), TypeError);
});
