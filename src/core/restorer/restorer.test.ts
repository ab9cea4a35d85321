/**
 * A hostile snapshot: trees naming "..", "a/b", "", a NUL byte, duplicate names (a symlink
 * shadowing a directory among them), and a directory whose path at the target is already a
 * symlink to somewhere else. Restore must write nothing outside its target, refuse exactly
 * those nodes by name and restore the rest; for a local repository (workers write the files)
 * and for one without local paths (this thread loads the blobs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { LocalBackend } from '../backend/index.ts';
import type { Backend } from '../backend/index.ts';
import { Repository } from '../repository/repository.ts';
import type { Id } from '../ids.ts';
import { restore, type RestoreEvent } from './restorer.ts';

const T = '2020-01-02T03:04:05.123456789Z';

function fileNode(name: string, content: { id: string; size: number }[]): object {
  const size = content.reduce((n, c) => n + c.size, 0);
  return { name, type: 'file', mode: 0o644, mtime: T, atime: T, ctime: T, uid: process.getuid!(), gid: process.getgid!(), inode: 0, size, links: 1, content: content.map((c) => c.id) };
}

function dirNode(name: string, subtree: string): object {
  return { name, type: 'dir', mode: 0o20000000755, mtime: T, atime: T, ctime: T, uid: process.getuid!(), gid: process.getgid!(), subtree };
}

function linkNode(name: string, target: string): object {
  return { name, type: 'symlink', mode: 0o1000000777, mtime: T, atime: T, ctime: T, uid: process.getuid!(), gid: process.getgid!(), linktarget: target };
}

/** Every entry below dir, as relative paths. */
function entries(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      out.push(path.relative(dir, path.join(d, e.name)));
      if (e.isDirectory()) walk(path.join(d, e.name));
    }
  };
  walk(dir);
  return out.sort();
}

for (const local of [true, false]) {
  test(`a hostile snapshot restores nothing outside the target and refuses exactly its bad nodes by name (${local ? 'local repository, workers write' : 'no local paths, blobs loaded here'})`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-hostile-'));
    try {
      const outside = path.join(dir, 'outside');
      mkdirSync(outside);
      const repo = await Repository.init(new LocalBackend(path.join(dir, 'r')), 'pw', { kdf: { N: 1024, r: 8, p: 1 } });
      await repo.loadIndex();
      const saver = repo.blobSaver();
      const blob = async (type: 'data' | 'tree', bytes: Buffer): Promise<{ id: string; size: number }> => {
        const id = createHash('sha256').update(bytes).digest('hex');
        await saver.save(type, id as Id, new Uint8Array(bytes));
        return { id, size: bytes.length };
      };
      const good = await blob('data', Buffer.from('restored as it should be\n'));
      const evil = await blob('data', Buffer.from('must never land outside the target\n'.repeat(1000)));
      const tree = (nodes: object[]): Promise<{ id: string }> => blob('tree', Buffer.from(JSON.stringify({ nodes }) + '\n'));
      const inner = await tree([fileNode('inner', [evil])]);
      const root = await tree([
        fileNode('..', [evil]),
        dirNode('..', inner.id),
        fileNode('a/b', [evil]),
        dirNode('', inner.id),
        fileNode('nul\0name', [evil]),
        fileNode('dup', [good]),
        dirNode('dup', inner.id),
        linkNode('esc', outside),
        dirNode('esc', inner.id),
        dirNode('pre', inner.id),
        fileNode('good', [good]),
      ]);
      const snapId = await repo.saveSnapshot({ time: T, tree: root.id as Id, paths: ['/srv'], hostname: 'h' });
      const snapshot = await repo.loadSnapshot(snapId);

      let backend: Backend = repo.backend;
      if (!local) {
        const real = repo.backend;
        // The same store without localPath: the restorer must load blobs through the backend.
        backend = { location: real.location, exists: () => real.exists(), create: () => real.create(), save: (...a) => real.save(...a), load: (...a) => real.load(...a), stat: (...a) => real.stat(...a), remove: (...a) => real.remove(...a), list: (t) => real.list(t), close: () => real.close() };
      }
      const reader = await Repository.open(backend, { password: 'pw' });
      await reader.loadIndex();

      // The target sits inside `outside`: a ".." that got through would write there.
      const target = path.join(outside, 'target');
      mkdirSync(target);
      const elsewhere = path.join(dir, 'elsewhere');
      mkdirSync(elsewhere);
      symlinkSync(elsewhere, path.join(target, 'pre'));
      const events: RestoreEvent[] = [];
      const summary = await restore(reader, { snapshot, target, verify: true, onEvent: (e) => events.push(e) });
      await reader.close();
      await repo.close();

      assert.deepEqual(entries(outside).filter((p) => !p.startsWith('target')), [], 'nothing was written beside the target');
      assert.deepEqual(entries(elsewhere), [], 'nothing was written through the symlink that was at the target');
      const refused = summary.errors.map((e) => `${e.path}: ${e.message}`).sort();
      assert.deepEqual(refused, [
        '/"": refused node: empty name',
        '/"..": refused node: name is ".."',
        '/"..": refused node: name is ".."',
        '/"a/b": refused node: name contains "/"',
        '/"nul\\u0000name": refused node: name contains a NUL byte',
        '/dup: refused node: duplicate name in its directory',
        '/esc: refused node: duplicate name in its directory',
      ]);
      assert.deepEqual(entries(target), ['dup', 'esc', 'good', 'pre', 'pre/inner']);
      assert.equal(readFileSync(path.join(target, 'good'), 'utf8'), 'restored as it should be\n');
      assert.equal(readFileSync(path.join(target, 'dup'), 'utf8'), 'restored as it should be\n');
      assert.ok(lstatSync(path.join(target, 'pre')).isDirectory(), 'the symlink already at the target was replaced by a real directory');
      assert.equal(readFileSync(path.join(target, 'pre', 'inner')).length, evil.size);
      assert.equal(readlinkSync(path.join(target, 'esc')), outside, 'a symlink is restored as a symlink, never followed');
      assert.equal(summary.verifiedFiles, 3);
      assert.equal(summary.bytes, 2 * good.size + evil.size);
      const last = events.filter((e) => e.type === 'progress').at(-1);
      assert.ok(last && last.type === 'progress');
      assert.equal(last.totalFiles, 3, 'the totals count exactly the files the restore writes');
      assert.equal(last.totalBytes, summary.bytes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
