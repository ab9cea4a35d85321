import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Prescan, scanDir } from './dir-scan.ts';

function tree(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-scan-'));
  writeFileSync(path.join(dir, 'b.txt'), 'bee');
  writeFileSync(path.join(dir, 'A.txt'), 'a');
  mkdirSync(path.join(dir, 'sub'));
  writeFileSync(path.join(dir, 'sub', 'deep'), 'x'.repeat(5000));
  symlinkSync('nowhere', path.join(dir, 'dangling'));
  writeFileSync(Buffer.concat([Buffer.from(dir + '/'), Buffer.from([0xff, 0x41])]), '');
  return dir;
}

test('scanDir lists names in byte order with the same fields lstat gives', () => {
  const dir = tree();
  try {
    const entries = scanDir(Buffer.from(dir));
    const names = entries.map((e) => e.name);
    assert.deepEqual(names.map((n) => n.toString('latin1')), ['A.txt', 'b.txt', 'dangling', 'sub', '\xffA']);
    for (const e of entries) {
      assert.ok(!(e.entry instanceof Error));
      const st = lstatSync(Buffer.concat([Buffer.from(dir + '/'), e.name]), { bigint: true });
      const { st: got, xattrBytes } = e.entry;
      for (const k of ['mode', 'uid', 'gid', 'size', 'ino', 'dev', 'nlink', 'rdev', 'mtimeNs', 'ctimeNs', 'atimeNs'] as const) {
        assert.equal(got[k], st[k], `${e.name.toString('latin1')}: ${k}`);
      }
      assert.ok(xattrBytes >= 0);
    }
    assert.throws(() => scanDir(Buffer.from(path.join(dir, 'b.txt'))), (e: NodeJS.ErrnoException) => e.code === 'ENOTDIR');
    assert.throws(() => scanDir(Buffer.from(path.join(dir, 'missing'))), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a prescan reads directories ahead, skips excluded ones, and hands each out once', async () => {
  const dir = tree();
  try {
    const p = new Prescan([dir], (abs) => abs.endsWith('/sub'), true);
    await new Promise((r) => setTimeout(r, 200));
    p.stop();
    const top = p.take(Buffer.from(dir));
    assert.deepEqual(top?.included.map((e) => e.name.toString('latin1')), scanDir(Buffer.from(dir)).map((e) => e.name.toString('latin1')).filter((n) => n !== 'sub'));
    assert.ok(top?.readable && top.fingerprint?.length === 32);
    assert.equal(p.take(Buffer.from(dir)), undefined, 'taken once');
    assert.equal(p.take(Buffer.from(path.join(dir, 'sub'))), undefined, 'excluded');
    const q = new Prescan([dir], undefined, false);
    let sub;
    for (let i = 0; i < 200 && !sub; i++) {
      await new Promise((r) => setTimeout(r, 10));
      sub = q.take(Buffer.from(path.join(dir, 'sub')));
    }
    assert.deepEqual(sub?.included.map((e) => e.name.toString()), ['deep']);
    assert.equal(sub?.fingerprint, undefined, 'no fingerprints asked for');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
