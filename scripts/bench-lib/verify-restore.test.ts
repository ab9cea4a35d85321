import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, utimesSync, cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { verifyRestore } from './verify-restore.ts';

function fixture(): { src: string; dst: string; done: () => void } {
  const root = mkdtempSync(path.join(tmpdir(), 'verify-restore-'));
  const src = path.join(root, 'src');
  mkdirSync(path.join(src, 'a/b'), { recursive: true });
  writeFileSync(path.join(src, 'a/b/f.txt'), 'hello');
  writeFileSync(path.join(src, 'g.bin'), Buffer.alloc(3 * 1024 * 1024 + 5, 7));
  utimesSync(path.join(src, 'g.bin'), 1_700_000_000, 1_700_000_000);
  const dst = path.join(root, 'dst');
  cpSync(src, dst, { recursive: true, preserveTimestamps: true });
  return { src, dst, done: () => rmSync(root, { recursive: true, force: true }) };
}

test('verifyRestore accepts an identical tree and counts its files and bytes', async () => {
  const f = fixture();
  try {
    const v = await verifyRestore(f.src, f.dst);
    assert.deepEqual(v, { files: 2, bytes: 5 + 3 * 1024 * 1024 + 5, problemCount: 0, problems: [] });
  } finally {
    f.done();
  }
});

test('verifyRestore finds missing files, extra files and changed content beyond the first MiB', async () => {
  const f = fixture();
  try {
    rmSync(path.join(f.dst, 'a/b/f.txt'));
    writeFileSync(path.join(f.dst, 'extra'), 'x');
    const big = Buffer.alloc(3 * 1024 * 1024 + 5, 7);
    big[big.length - 1] = 8;
    writeFileSync(path.join(f.dst, 'g.bin'), big);
    utimesSync(path.join(f.dst, 'g.bin'), 1_700_000_000, 1_700_000_000);
    const v = await verifyRestore(f.src, f.dst);
    assert.equal(v.problemCount, 3);
    assert.deepEqual(v.problems, ['a/b/f.txt: missing', 'extra: not in the source', 'g.bin: content differs']);
  } finally {
    f.done();
  }
});
