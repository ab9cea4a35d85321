import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { mirrorSource, mirrorStream } from './mirror.ts';
import { compilePatterns } from '../../core/filter/index.ts';

test('a mirror keeps every replaced and deleted file in a dated version folder (real rsync)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-mirror-'));
  try {
    const src = path.join(dir, 'share');
    const root = path.join(dir, 'drive');
    mkdirSync(path.join(src, 'docs'), { recursive: true });
    mkdirSync(root);
    writeFileSync(path.join(src, 'docs', 'a.txt'), 'version one');
    writeFileSync(path.join(src, 'b.txt'), 'keep me');
    writeFileSync(path.join(src, 'junk.tmp'), 'excluded');
    const exclude = compilePatterns(['*.tmp']);
    const r1 = await mirrorSource({ root, name: 'samba-share', paths: [src], exclude, now: new Date('2026-01-01T00:00:00Z') });
    const cur = path.join(root, 'current', 'samba-share', 'share');
    assert.equal(readFileSync(path.join(cur, 'docs', 'a.txt'), 'utf8'), 'version one');
    assert.equal(existsSync(path.join(cur, 'junk.tmp')), false, 'excluded by a restic-syntax pattern');
    assert.equal(r1.versionsDir, undefined, 'nothing replaced on the first run');

    // Same size, same second: only a nanosecond mtime comparison notices this edit.
    const t = new Date();
    utimesSync(path.join(src, 'docs', 'a.txt'), t, t);
    writeFileSync(path.join(src, 'docs', 'a.txt'), 'version two');
    rmSync(path.join(src, 'b.txt'));
    const r2 = await mirrorSource({ root, name: 'samba-share', paths: [src], exclude, now: new Date('2026-01-02T00:00:00Z') });
    assert.equal(readFileSync(path.join(cur, 'docs', 'a.txt'), 'utf8'), 'version two');
    assert.equal(existsSync(path.join(cur, 'b.txt')), false, 'deleted at the source, gone from current');
    assert.ok(r2.versionsDir);
    const old = path.join(r2.versionsDir, 'share');
    assert.equal(readFileSync(path.join(old, 'docs', 'a.txt'), 'utf8'), 'version one', 'replaced file kept');
    assert.equal(readFileSync(path.join(old, 'b.txt'), 'utf8'), 'keep me', 'deleted file kept');
    assert.deepEqual(readdirSync(path.join(root, 'versions')), ['20260102T000000Z']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a command output stored in a mirror keeps the previous dump as a version', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-mirror-'));
  try {
    const one = async function* () {
      yield Buffer.from('dump 1');
    };
    const two = async function* () {
      yield Buffer.from('dump 2');
    };
    await mirrorStream({ root: dir, name: 'pg', filename: 'postgres.sql', stream: one(), now: new Date('2026-01-01T00:00:00Z') });
    const r = await mirrorStream({ root: dir, name: 'pg', filename: 'postgres.sql', stream: two(), now: new Date('2026-01-02T00:00:00Z') });
    assert.equal(readFileSync(path.join(dir, 'current', 'pg', 'postgres.sql'), 'utf8'), 'dump 2');
    assert.equal(readFileSync(path.join(r.versionsDir!, 'postgres.sql'), 'utf8'), 'dump 1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
