import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LifeboatError } from '../errors.ts';
import {
  POSIX_ACL_ACCESS,
  POSIX_ACL_DEFAULT,
  gidForName,
  groupName,
  isCarriedXattr,
  makeDevice,
  makeFifo,
  makeSocket,
  parseIdTable,
  readXattrs,
  setTimesNs,
  toTimespec,
  uidForName,
  userName,
  writeXattrs,
} from './metadata.ts';
import { loadPosix, lremovexattr, lsetxattr, makedev } from './posix.ts';

/**
 * A fresh directory on a filesystem that takes user.* xattrs and POSIX ACLs. Fails, never skips,
 * when none does: both are part of what a backup must carry.
 */
function xattrCapableDir(): string {
  loadPosix(); // a missing addon is its own failure, not a missing filesystem feature
  const tried: string[] = [];
  for (const base of [os.tmpdir(), '/dev/shm', process.cwd()]) {
    let dir: string | undefined;
    try {
      dir = fs.mkdtempSync(path.join(base, 'lifeboat-metadata-'));
      lsetxattr(dir, { name: 'user.lifeboat.probe', value: Buffer.from('1') });
      lremovexattr(dir, 'user.lifeboat.probe');
      execFileSync('setfacl', ['-m', 'u:nobody:r', dir], { stdio: 'pipe' });
      execFileSync('setfacl', ['-b', dir], { stdio: 'pipe' });
      return dir;
    } catch (err) {
      tried.push(`${base}: ${(err as Error).message}`);
      if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  throw new Error(`no directory here supports user xattrs and ACLs:\n${tried.join('\n')}`);
}

function getfacl(p: string): string {
  return execFileSync('getfacl', ['--omit-header', '--numeric', p], { encoding: 'utf8' });
}

let dir = '';
before(() => {
  dir = xattrCapableDir();
});
after(() => {
  if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
});

function freshFile(name: string, mode = 0o644): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, name);
  fs.chmodSync(file, mode);
  return file;
}

describe('readXattrs and writeXattrs', () => {
  test('user attributes round-trip between two files', () => {
    const a = freshFile('user-a');
    const b = freshFile('user-b');
    const list = [
      { name: 'user.mime_type', value: Buffer.from('text/plain') },
      { name: 'user.binary', value: Buffer.from([0, 0xff, 0x80, 0]) },
      { name: 'user.empty', value: Buffer.alloc(0) },
    ];
    assert.deepEqual(writeXattrs(a, list), []);
    const read = readXattrs(a);
    const byName = (x: { name: string }, y: { name: string }) => x.name.localeCompare(y.name);
    assert.deepEqual([...read].sort(byName), [...list].sort(byName));
    assert.deepEqual(writeXattrs(b, read), []);
    assert.deepEqual(readXattrs(b).sort(byName), [...list].sort(byName));
  });

  test('a file without attributes reads as []', () => {
    assert.deepEqual(readXattrs(freshFile('plain')), []);
  });

  test('an access ACL set by setfacl reads as system.posix_acl_access and writes back equal', () => {
    const a = freshFile('acl-a', 0o640);
    const b = freshFile('acl-b', 0o600);
    execFileSync('setfacl', ['-m', 'u:nobody:rw-,g:daemon:r--,m::rw-', a]);
    const read = readXattrs(a);
    assert.ok(read.some((e) => e.name === POSIX_ACL_ACCESS), JSON.stringify(read.map((e) => e.name)));
    assert.notEqual(getfacl(b), getfacl(a));
    assert.deepEqual(writeXattrs(b, read), []);
    assert.equal(getfacl(b), getfacl(a));
    assert.equal(fs.statSync(b).mode, fs.statSync(a).mode, 'the ACL carries the permission bits');
  });

  test('a default ACL on a directory reads as system.posix_acl_default and writes back equal', () => {
    const a = path.join(dir, 'acl-dir-a');
    const b = path.join(dir, 'acl-dir-b');
    fs.mkdirSync(a);
    fs.mkdirSync(b);
    execFileSync('setfacl', ['-m', 'u:nobody:rwx', '-d', '-m', 'u:nobody:r-x,g:daemon:rwx', a]);
    const names = readXattrs(a).map((e) => e.name).sort();
    assert.deepEqual(names, [POSIX_ACL_ACCESS, POSIX_ACL_DEFAULT]);
    assert.deepEqual(writeXattrs(b, readXattrs(a)), []);
    assert.equal(getfacl(b), getfacl(a));
  });

  test('each refused attribute is a finding and the others are still written', () => {
    const file = freshFile('partial');
    const findings = writeXattrs(file, [
      { name: 'user.first', value: Buffer.from('1') },
      { name: 'nonesuch.namespace', value: Buffer.from('2') },
      { name: 'user.huge', value: Buffer.alloc(70_000) },
      { name: 'user.last', value: Buffer.from('3') },
    ]);
    assert.deepEqual(
      findings.map(({ kind, name, reason, code, path: p }) => ({ kind, name, reason, code, p })),
      [
        { kind: 'xattr-not-written', name: 'nonesuch.namespace', reason: 'unsupported', code: 'ENOTSUP', p: file },
        { kind: 'xattr-not-written', name: 'user.huge', reason: 'too-large', code: 'E2BIG', p: file },
      ],
    );
    assert.ok(findings.every((f) => f.message.length > 0));
    assert.deepEqual(readXattrs(file).map((e) => e.name).sort(), ['user.first', 'user.last']);
  });

  test('user attributes on a symlink are findings with reason denied, not throws', () => {
    const link = path.join(dir, 'xattr-link');
    fs.symlinkSync('plain', link);
    const findings = writeXattrs(link, [{ name: 'user.a', value: Buffer.from('1') }]);
    assert.equal(findings.length, 1);
    assert.equal(findings[0]?.reason, 'denied');
    assert.equal(findings[0]?.code, 'EPERM');
    assert.deepEqual(readXattrs(link).filter((e) => e.name.startsWith('user.')), []);
  });

  test('a filesystem without user xattrs gives findings with reason unsupported', () => {
    const findings = writeXattrs('/proc/self/status', [{ name: 'user.a', value: Buffer.from('1') }]);
    assert.deepEqual(findings.map((f) => f.reason), ['unsupported']);
  });

  test('exact removes carried attributes that the list lacks', () => {
    const file = freshFile('exact');
    execFileSync('setfacl', ['-m', 'u:nobody:r', file]);
    assert.deepEqual(
      writeXattrs(file, [
        { name: 'user.stale', value: Buffer.from('old') },
        { name: 'user.keep', value: Buffer.from('old') },
      ]),
      [],
    );
    assert.deepEqual(writeXattrs(file, [{ name: 'user.keep', value: Buffer.from('new') }], { exact: true }), []);
    assert.deepEqual(readXattrs(file), [{ name: 'user.keep', value: Buffer.from('new') }]);
    assert.doesNotMatch(getfacl(file), /user:65534/, 'the ACL went too');
  });

  test('a missing file throws NOT_FOUND from readXattrs', () => {
    assert.throws(() => readXattrs(path.join(dir, 'missing')), (err: unknown) => {
      assert.ok(err instanceof LifeboatError);
      assert.equal(err.code, 'NOT_FOUND');
      return true;
    });
  });

  test('a path with a 0xff byte reads and writes', () => {
    const name = Buffer.concat([Buffer.from(`${dir}/x-`), Buffer.from([0xff])]);
    fs.writeFileSync(name, '');
    assert.deepEqual(writeXattrs(name, [{ name: 'user.k', value: Buffer.from('v') }]), []);
    assert.deepEqual(readXattrs(name), [{ name: 'user.k', value: Buffer.from('v') }]);
  });

  test('isCarriedXattr keeps every namespace but system.*, except the two POSIX ACLs', () => {
    for (const name of ['user.a', 'trusted.b', 'security.capability', 'security.selinux', POSIX_ACL_ACCESS, POSIX_ACL_DEFAULT]) {
      assert.ok(isCarriedXattr(name), name);
    }
    for (const name of ['system.nfs4_acl', 'system.sockprotoname', 'system.data']) {
      assert.ok(!isCarriedXattr(name), name);
    }
  });
});

describe('setTimesNs', () => {
  test('sets atime and mtime to the nanosecond', () => {
    const file = freshFile('times');
    setTimesNs(file, 1_111_111_111_222_222_222n, 1_700_000_000_123_456_789n);
    const st = fs.lstatSync(file, { bigint: true });
    assert.equal(st.atimeNs, 1_111_111_111_222_222_222n);
    assert.equal(st.mtimeNs, 1_700_000_000_123_456_789n);
  });

  test('sets times before 1970', () => {
    const file = freshFile('times-old');
    setTimesNs(file, -1n, -86_400_123_456_789n);
    const st = fs.lstatSync(file, { bigint: true });
    assert.equal(st.atimeNs, -1n);
    assert.equal(st.mtimeNs, -86_400_123_456_789n);
  });

  test('with noFollow sets the symlink, not its target', () => {
    const target = freshFile('times-target');
    const link = path.join(dir, 'times-link');
    fs.symlinkSync('times-target', link);
    const targetBefore = fs.statSync(target, { bigint: true }).mtimeNs;
    setTimesNs(link, 1n, 999_999_999_999_999_999n, { noFollow: true });
    assert.equal(fs.lstatSync(link, { bigint: true }).mtimeNs, 999_999_999_999_999_999n);
    assert.equal(fs.statSync(target, { bigint: true }).mtimeNs, targetBefore);
  });

  test('a missing file throws NOT_FOUND', () => {
    assert.throws(() => setTimesNs(path.join(dir, 'missing'), 0n, 0n), { name: 'LifeboatError', code: 'NOT_FOUND' });
  });

  test('toTimespec floors, so nanoseconds stay in [0, 1e9)', () => {
    assert.deepEqual(toTimespec(1_500_000_000_000_000_001n), { sec: 1_500_000_000n, nsec: 1 });
    assert.deepEqual(toTimespec(0n), { sec: 0n, nsec: 0 });
    assert.deepEqual(toTimespec(-1n), { sec: -1n, nsec: 999_999_999 });
    assert.deepEqual(toTimespec(-1_000_000_000n), { sec: -1n, nsec: 0 });
  });
});

describe('special files', () => {
  test('makeFifo creates a FIFO with the given mode', () => {
    const fifo = path.join(dir, 'fifo');
    makeFifo(fifo, { mode: 0o600 });
    const st = fs.lstatSync(fifo);
    assert.ok(st.isFIFO());
    assert.equal(st.mode & 0o7777, 0o600);
  });

  test('makeFifo over an existing name throws with the EEXIST as cause', () => {
    assert.throws(() => makeFifo(path.join(dir, 'fifo')), (err: unknown) => {
      assert.ok(err instanceof LifeboatError);
      assert.equal((err.cause as { code?: string }).code, 'EEXIST');
      return true;
    });
  });

  test('makeSocket creates a socket node', () => {
    const sock = path.join(dir, 'sock');
    makeSocket(sock);
    assert.ok(fs.lstatSync(sock).isSocket());
  });

  test('makeDevice creates a character device equal to /dev/null', () => {
    const nul = fs.statSync('/dev/null', { bigint: true });
    const dev = path.join(dir, 'null');
    makeDevice(dev, { type: 'char', rdev: nul.rdev, mode: 0o600 });
    const st = fs.lstatSync(dev, { bigint: true });
    assert.ok(st.isCharacterDevice());
    assert.equal(st.rdev, nul.rdev);
    assert.equal(st.mode & 0o7777n, 0o600n);
  });

  test('makeDevice creates a block device from a number rdev', () => {
    const dev = path.join(dir, 'loop200');
    makeDevice(dev, { type: 'block', rdev: Number(makedev(7, 200)) });
    const st = fs.lstatSync(dev, { bigint: true });
    assert.ok(st.isBlockDevice());
    assert.equal(st.rdev, makedev(7, 200));
  });
});

describe('user and group names', () => {
  test('parseIdTable maps both ways; the first line wins; junk lines are skipped', () => {
    const table = parseIdTable(
      [
        '# comment',
        'root:x:0:0:root:/root:/bin/bash',
        'toor:x:0:0::/root:/bin/sh',
        'backup:x:34:34:backup:/var/backups:/usr/sbin/nologin',
        'backup:x:99:99::/:/bin/false',
        '+nis::::::',
        'broken:x:notanumber:1::/:',
        'short',
        '',
      ].join('\n'),
    );
    assert.equal(table.nameOf.get(0), 'root');
    assert.equal(table.idOf.get('toor'), 0);
    assert.equal(table.idOf.get('backup'), 34);
    assert.equal(table.nameOf.get(99), 'backup');
    assert.equal(table.idOf.get('+nis'), undefined);
    assert.equal(table.idOf.get('broken'), undefined);
    assert.equal(table.idOf.size, 3);
  });

  test('the lookups read /etc/passwd and /etc/group', () => {
    assert.equal(userName(0), 'root');
    assert.equal(groupName(0), 'root');
    assert.equal(uidForName('root'), 0);
    assert.equal(gidForName('root'), 0);
    assert.equal(userName(4_000_000_000), undefined);
    assert.equal(groupName(4_000_000_000), undefined);
    assert.equal(uidForName('no-such-user-lifeboat'), undefined);
    assert.equal(gidForName('no-such-group-lifeboat'), undefined);
  });
});
