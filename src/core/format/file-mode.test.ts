import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  chmodBitsFromFileMode,
  fileModeFromStat,
  fileModeTypeBits,
  GoMode,
  NODE_TYPES,
  nodeTypeFromFileMode,
  nodeTypeFromStat,
  RESTIC_MODE_MASK,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFREG,
  S_IFSOCK,
  statModeFromFileMode,
} from './file-mode.ts';

test('fileModeFromStat gives the values restic 0.14 was observed to write', () => {
  assert.equal(fileModeFromStat(S_IFDIR | 0o755), 2147484141);
  assert.equal(fileModeFromStat(S_IFREG | 0o644), 420);
  assert.equal(fileModeFromStat(S_IFLNK | 0o777), 134218239);
  assert.equal(fileModeFromStat(S_IFIFO | 0o644), 33554852);
  assert.equal(fileModeFromStat(S_IFREG | 0o4755), 8389101);
  assert.equal(fileModeFromStat(S_IFDIR | 0o1777), 2148532735);
});

test('fileModeFromStat maps every file type and flag to its Go bit', () => {
  assert.equal(fileModeFromStat(S_IFBLK | 0o660), (GoMode.Device | 0o660) >>> 0);
  assert.equal(fileModeFromStat(S_IFCHR | 0o666), (GoMode.Device | GoMode.CharDevice | 0o666) >>> 0);
  assert.equal(fileModeFromStat(S_IFSOCK | 0o755), (GoMode.Socket | 0o755) >>> 0);
  assert.equal(fileModeFromStat(S_IFREG | 0o2755), (GoMode.Setgid | 0o755) >>> 0);
  assert.equal(fileModeFromStat(S_IFDIR | 0o7777), (GoMode.Dir | GoMode.Setuid | GoMode.Setgid | GoMode.Sticky | 0o777) >>> 0);
  for (const st of [S_IFDIR | 0o7777, S_IFCHR | 0o7777]) assert.ok(fileModeFromStat(st) > 0, 'never a negative int32');
});

test('statModeFromFileMode is the inverse for every type and flag combination', () => {
  for (const type of [S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFSOCK, S_IFBLK, S_IFCHR]) {
    for (let bits = 0; bits <= 0o7777; bits += 0o111) {
      const st = type | bits;
      assert.equal(statModeFromFileMode(fileModeFromStat(st)), st, st.toString(8));
    }
  }
  assert.equal(chmodBitsFromFileMode(8389101), 0o4755);
  assert.equal(chmodBitsFromFileMode(2148532735), 0o1777);
});

test('node types follow restic nodeTypeFromFileInfo', () => {
  assert.equal(nodeTypeFromStat(S_IFREG | 0o644), 'file');
  assert.equal(nodeTypeFromStat(S_IFDIR | 0o755), 'dir');
  assert.equal(nodeTypeFromStat(S_IFLNK | 0o777), 'symlink');
  assert.equal(nodeTypeFromStat(S_IFBLK | 0o600), 'dev');
  assert.equal(nodeTypeFromStat(S_IFCHR | 0o600), 'chardev');
  assert.equal(nodeTypeFromStat(S_IFIFO | 0o600), 'fifo');
  assert.equal(nodeTypeFromStat(S_IFSOCK | 0o600), 'socket');
  assert.equal(nodeTypeFromFileMode((GoMode.Dir | GoMode.Symlink) >>> 0), undefined);
  for (const t of NODE_TYPES) assert.equal(nodeTypeFromFileMode(fileModeTypeBits(t) | 0o644), t);
  assert.equal(RESTIC_MODE_MASK, 0x8ff801ff, 'perm | type | setuid | setgid | sticky');
});

test('fileModeFromStat agrees with real lstat results', () => {
  const d = mkdtempSync(join(tmpdir(), 'lifeboat-mode-'));
  try {
    writeFileSync(join(d, 'f'), '');
    chmodSync(join(d, 'f'), 0o4750);
    mkdirSync(join(d, 'sticky'));
    chmodSync(join(d, 'sticky'), 0o1777);
    symlinkSync('f', join(d, 'l'));
    execFileSync('mkfifo', ['-m', '0644', join(d, 'p')]);
    assert.equal(fileModeFromStat(lstatSync(join(d, 'f')).mode), (GoMode.Setuid | 0o750) >>> 0);
    assert.equal(fileModeFromStat(lstatSync(join(d, 'sticky')).mode), 2148532735);
    assert.equal(fileModeFromStat(lstatSync(join(d, 'l')).mode), 134218239);
    assert.equal(fileModeFromStat(lstatSync(join(d, 'p')).mode), 33554852);
    assert.equal(nodeTypeFromStat(lstatSync('/dev/null').mode), 'chardev');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
