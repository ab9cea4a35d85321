import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  isErrno,
  lgetxattr,
  llistxattr,
  loadPosix,
  lremovexattr,
  lsetxattr,
  major,
  makedev,
  minor,
  mknod,
  packageRoot,
  utimensat,
} from './posix.ts';

/**
 * A fresh directory on a filesystem that takes user.* xattrs. Fails, never skips, when none
 * does: xattrs are part of what a backup must carry, so a machine without them cannot vouch.
 */
function xattrCapableDir(): string {
  loadPosix(); // a missing addon is its own failure, not a missing filesystem feature
  const tried: string[] = [];
  for (const base of [os.tmpdir(), '/dev/shm', process.cwd()]) {
    let dir: string | undefined;
    try {
      dir = fs.mkdtempSync(path.join(base, 'lifeboat-posix-'));
      lsetxattr(dir, { name: 'user.lifeboat.probe', value: Buffer.from('1') });
      lremovexattr(dir, 'user.lifeboat.probe');
      return dir;
    } catch (err) {
      tried.push(`${base}: ${(err as Error).message}`);
      if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  throw new Error(`no directory here supports user xattrs:\n${tried.join('\n')}`);
}

function assertErrno(fn: () => unknown, code: string, syscall: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isErrno(err, code), `expected ${code}, got ${String(err)}`);
    assert.equal(err.syscall, syscall);
    assert.equal(typeof err.errno, 'number');
    assert.ok(err.errno < 0, 'errno is negated, as in Node fs errors');
    assert.match(err.message, new RegExp(`^${code}: .*, ${syscall}`));
    return true;
  });
}

let dir = '';
before(() => {
  dir = xattrCapableDir();
});
after(() => {
  if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
});

describe('loading', () => {
  test('packageRoot finds the directory holding package.json from src/ and below', () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const root = packageRoot(here);
    assert.ok(root !== undefined);
    assert.ok(fs.existsSync(path.join(root, 'package.json')));
    assert.ok(fs.existsSync(path.join(root, 'binding.gyp')));
  });

  test('loadPosix loads the built addon once and returns the same binding', () => {
    const a = loadPosix();
    assert.equal(a, loadPosix());
    for (const fn of ['utimensat', 'llistxattr', 'lgetxattr', 'lsetxattr', 'lremovexattr', 'mknod']) {
      assert.equal(typeof (a as unknown as Record<string, unknown>)[fn], 'function', fn);
    }
  });
});

describe('utimensat', () => {
  test('sets atime and mtime to the nanosecond on a file', () => {
    const file = path.join(dir, 'times');
    fs.writeFileSync(file, 'x');
    utimensat(file, {
      atime: { sec: 1_600_000_000n, nsec: 1 },
      mtime: { sec: 1_700_000_000n, nsec: 123_456_789 },
    });
    const st = fs.lstatSync(file, { bigint: true });
    assert.equal(st.atimeNs, 1_600_000_000_000_000_001n);
    assert.equal(st.mtimeNs, 1_700_000_000_123_456_789n);
  });

  test('with noFollow sets the symlink itself and leaves its target alone', () => {
    const target = path.join(dir, 'link-target');
    const link = path.join(dir, 'link');
    fs.writeFileSync(target, 'x');
    fs.symlinkSync('link-target', link);
    const before = fs.statSync(target, { bigint: true }).mtimeNs;
    const t = { sec: 1_234_567_890n, nsec: 987_654_321 };
    utimensat(link, { atime: t, mtime: t }, { noFollow: true });
    assert.equal(fs.lstatSync(link, { bigint: true }).mtimeNs, 1_234_567_890_987_654_321n);
    assert.equal(fs.statSync(target, { bigint: true }).mtimeNs, before);

    utimensat(link, { atime: t, mtime: { sec: 42n, nsec: 7 } });
    assert.equal(fs.statSync(target, { bigint: true }).mtimeNs, 42_000_000_007n, 'follows by default');
  });

  test('rejects nanoseconds outside [0, 999999999] before the kernel sees them', () => {
    const file = path.join(dir, 'times');
    const t = { sec: 1n, nsec: 0 };
    assert.throws(() => utimensat(file, { atime: t, mtime: { sec: 1n, nsec: 1_000_000_000 } }), RangeError);
    assert.throws(() => utimensat(file, { atime: { sec: 1n, nsec: -1 }, mtime: t }), RangeError);
  });

  test('throws ENOENT with code, syscall and path for a missing file', () => {
    const missing = path.join(dir, 'missing');
    const t = { sec: 1n, nsec: 0 };
    assertErrno(() => utimensat(missing, { atime: t, mtime: t }), 'ENOENT', 'utimensat');
    try {
      utimensat(missing, { atime: t, mtime: t });
    } catch (err) {
      assert.equal((err as { path?: unknown }).path, missing);
    }
  });
});

describe('xattrs', () => {
  test('lsetxattr, llistxattr and lgetxattr round-trip binary values, empty ones included', () => {
    const file = path.join(dir, 'xattrs');
    fs.writeFileSync(file, '');
    const binary = Buffer.from([0, 1, 2, 0xff, 0, 0x80]);
    lsetxattr(file, { name: 'user.binary', value: binary });
    lsetxattr(file, { name: 'user.empty', value: Buffer.alloc(0) });
    lsetxattr(file, { name: Buffer.from('user.raw-name'), value: new Uint8Array([65]) });
    const names = llistxattr(file).map((n) => n.toString());
    assert.deepEqual([...names].sort(), ['user.binary', 'user.empty', 'user.raw-name']);
    assert.ok(llistxattr(file).every((n) => Buffer.isBuffer(n)));
    assert.deepEqual(lgetxattr(file, 'user.binary'), binary);
    assert.deepEqual(lgetxattr(file, 'user.empty'), Buffer.alloc(0));
    assert.deepEqual(lgetxattr(file, 'user.raw-name'), Buffer.from('A'));
  });

  test('a value of kilobytes survives the size probe', () => {
    const file = path.join(dir, 'xattrs-large');
    fs.writeFileSync(file, '');
    const value = Buffer.alloc(3000, 7);
    lsetxattr(file, { name: 'user.large', value });
    assert.deepEqual(lgetxattr(file, 'user.large'), value);
  });

  test('create and replace flags fail with EEXIST and ENODATA', () => {
    const file = path.join(dir, 'xattrs-flags');
    fs.writeFileSync(file, '');
    assertErrno(() => lsetxattr(file, { name: 'user.a', value: Buffer.from('1') }, { replace: true }), 'ENODATA', 'lsetxattr');
    lsetxattr(file, { name: 'user.a', value: Buffer.from('1') }, { create: true });
    assertErrno(() => lsetxattr(file, { name: 'user.a', value: Buffer.from('2') }, { create: true }), 'EEXIST', 'lsetxattr');
    lsetxattr(file, { name: 'user.a', value: Buffer.from('3') }, { replace: true });
    assert.deepEqual(lgetxattr(file, 'user.a'), Buffer.from('3'));
  });

  test('a missing attribute is ENODATA, removal removes, a missing file is ENOENT', () => {
    const file = path.join(dir, 'xattrs-missing');
    fs.writeFileSync(file, '');
    assertErrno(() => lgetxattr(file, 'user.nope'), 'ENODATA', 'lgetxattr');
    lsetxattr(file, { name: 'user.gone', value: Buffer.from('x') });
    lremovexattr(file, 'user.gone');
    assert.deepEqual(llistxattr(file), []);
    assertErrno(() => lremovexattr(file, 'user.gone'), 'ENODATA', 'lremovexattr');
    assertErrno(() => llistxattr(path.join(dir, 'missing')), 'ENOENT', 'llistxattr');
  });

  test('acts on a symlink itself: Linux refuses user.* there with EPERM', () => {
    const link = path.join(dir, 'xattr-link');
    fs.symlinkSync('xattrs', link);
    assertErrno(() => lsetxattr(link, { name: 'user.a', value: Buffer.from('1') }), 'EPERM', 'lsetxattr');
    assert.deepEqual(llistxattr(link).filter((n) => n.toString().startsWith('user.')), []);
  });

  test('a filesystem without user xattrs answers ENOTSUP', () => {
    assertErrno(() => lsetxattr('/proc/self/status', { name: 'user.a', value: Buffer.from('1') }), 'ENOTSUP', 'lsetxattr');
  });
});

describe('Buffer paths', () => {
  test('a name with a 0xff byte works for every call', () => {
    const name = Buffer.concat([Buffer.from(`${dir}/bad-`), Buffer.from([0xff, 0xfe]), Buffer.from('-name')]);
    fs.writeFileSync(name, 'x');
    lsetxattr(name, { name: 'user.k', value: Buffer.from('v') });
    assert.deepEqual(llistxattr(name).map(String), ['user.k']);
    assert.deepEqual(lgetxattr(name, 'user.k'), Buffer.from('v'));
    utimensat(name, { atime: { sec: 5n, nsec: 5 }, mtime: { sec: 6n, nsec: 6 } }, { noFollow: true });
    assert.equal(fs.lstatSync(name, { bigint: true }).mtimeNs, 6_000_000_006n);

    const fifo = Buffer.concat([Buffer.from(`${dir}/fifo-`), Buffer.from([0xff])]);
    mknod(fifo, { mode: fs.constants.S_IFIFO | 0o600 });
    assert.ok(fs.lstatSync(fifo).isFIFO());
    const listed = fs.readdirSync(dir, { encoding: 'buffer' });
    assert.ok(listed.some((n) => n.equals(Buffer.from([0x66, 0x69, 0x66, 0x6f, 0x2d, 0xff]))));
  });

  test('an error for a Buffer path carries that Buffer as its path', () => {
    const missing = Buffer.concat([Buffer.from(`${dir}/no-`), Buffer.from([0xff])]);
    assert.throws(() => llistxattr(missing), (err: unknown) => {
      assert.ok(isErrno(err, 'ENOENT'));
      assert.ok(Buffer.isBuffer(err.path) && err.path.equals(missing));
      return true;
    });
  });

  test('a NUL byte in a path is refused, not truncated', () => {
    assert.throws(() => llistxattr(`${dir}/a\0b`), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => llistxattr(Buffer.from('/tmp\0x')), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => llistxattr(42 as unknown as string), { code: 'ERR_INVALID_ARG_TYPE' });
  });
});

describe('mknod', () => {
  test('creates a FIFO', () => {
    const fifo = path.join(dir, 'fifo');
    mknod(fifo, { mode: fs.constants.S_IFIFO | 0o600 });
    const st = fs.lstatSync(fifo);
    assert.ok(st.isFIFO());
    assert.equal(st.mode & 0o7777, 0o600);
  });

  test('creates a character device with the device number of /dev/null', () => {
    const nul = fs.statSync('/dev/null', { bigint: true });
    const dev = path.join(dir, 'null');
    mknod(dev, { mode: fs.constants.S_IFCHR | 0o600, rdev: nul.rdev });
    const st = fs.lstatSync(dev, { bigint: true });
    assert.ok(st.isCharacterDevice());
    assert.equal(st.rdev, nul.rdev);
    assert.equal(major(st.rdev), 1);
    assert.equal(minor(st.rdev), 3);
  });

  test('creates a block device from makedev(major, minor), numbers past 8 bits included', () => {
    const dev = path.join(dir, 'block');
    const rdev = makedev(4000, 300_000);
    mknod(dev, { mode: fs.constants.S_IFBLK | 0o600, rdev });
    const st = fs.lstatSync(dev, { bigint: true });
    assert.ok(st.isBlockDevice());
    assert.equal(st.rdev, rdev);
    assert.equal(major(st.rdev), 4000);
    assert.equal(minor(Number(st.rdev)), 300_000, 'accepts the number form of rdev too');
  });

  test('an existing name is EEXIST', () => {
    assertErrno(() => mknod(path.join(dir, 'fifo'), { mode: fs.constants.S_IFIFO | 0o600 }), 'EEXIST', 'mknod');
  });
});
