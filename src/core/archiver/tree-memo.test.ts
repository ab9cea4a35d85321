import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomKey } from '../crypto/crypto.ts';
import { hashId, type IndexId, type TreeId } from '../ids.ts';
import { scanFingerprint, TreeMemo } from './tree-memo.ts';

const id = (s: string): string => hashId(Buffer.from(s));
const entry = { name: Buffer.from('a.txt'), entry: { raw: new Uint8Array(120).fill(7), uid: 0, gid: 0 } };
const fp = (dir: string, e = entry): Buffer => scanFingerprint(Buffer.from(dir), [e]);

function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeboat-memo-'));
  return f(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('a saved memo gives back what was kept, and only to the same repository key, host and paths', () =>
  withDir(async (dir) => {
    const key = randomKey();
    const base = { dir, key, repoId: id('repo'), host: 'h', paths: ['/srv'], salt: 'UTC', indexIds: [id('i1') as IndexId] };
    const m = await TreeMemo.open(base);
    const d = m.digest(fp('/srv'));
    assert.equal(m.get(d), undefined);
    m.keep(d, { tree: id('t') as TreeId, subdirs: [id('s1') as TreeId, id('s2') as TreeId] });
    await m.save([id('i1') as IndexId, id('i2') as IndexId]);
    const file = readdirSync(dir, { recursive: true }).map(String).find((f) => f.includes('trees-'))!;
    assert.equal(statSync(path.join(dir, file)).mode & 0o777, 0o600, 'the memo is readable by its owner only');

    const again = await TreeMemo.open({ ...base, indexIds: [id('i2') as IndexId, id('i1') as IndexId, id('i3') as IndexId] });
    assert.equal(again.dropped, undefined);
    assert.deepEqual(again.get(again.digest(fp('/srv'))), { tree: id('t'), subdirs: [id('s1'), id('s2')] });
    assert.equal(again.get(again.digest(fp('/srv', { ...entry, entry: { ...entry.entry, uid: 4242 } }))), undefined);
    assert.equal(again.get(again.digest(fp('/srv2'))), undefined);

    const otherSalt = await TreeMemo.open({ ...base, salt: 'Europe/Berlin', indexIds: [id('i1') as IndexId, id('i2') as IndexId] });
    assert.equal(otherSalt.get(otherSalt.digest(fp('/srv'))), undefined, 'a salt change must miss');
    const otherPaths = await TreeMemo.open({ ...base, paths: ['/srv', '/etc'], indexIds: [id('i1') as IndexId, id('i2') as IndexId] });
    assert.equal(otherPaths.get(otherPaths.digest(fp('/srv'))), undefined, 'another path set has its own file');
    const otherKey = await TreeMemo.open({ ...base, key: randomKey(), repoId: id('repo'), indexIds: [id('i1') as IndexId, id('i2') as IndexId] });
    assert.equal(otherKey.get(otherKey.digest(fp('/srv'))), undefined);
  }));

test('a memo is dropped when an index file it was written against is gone, or when its file is damaged', () =>
  withDir(async (dir) => {
    const key = randomKey();
    const base = { dir, key, repoId: id('repo'), host: 'h', paths: ['/srv'], salt: '', indexIds: [] as IndexId[] };
    const m = await TreeMemo.open(base);
    m.keep(m.digest(fp('/srv')), { tree: id('t') as TreeId, subdirs: [] });
    await m.save([id('i1') as IndexId, id('i2') as IndexId]);
    const gone = await TreeMemo.open({ ...base, indexIds: [id('i1') as IndexId] });
    assert.match(gone.dropped ?? '', /index .* is gone/);
    assert.equal(gone.get(gone.digest(fp('/srv'))), undefined);

    const file = path.join(dir, readdirSync(dir, { recursive: true }).map(String).find((f) => f.includes('trees-'))!);
    const good = readFileSync(file);
    const indexIds = [id('i1') as IndexId, id('i2') as IndexId];
    for (const [what, bytes] of [
      ['flipped bit', Buffer.from(good).fill(good[40]! ^ 1, 40, 41)],
      ['truncated', good.subarray(0, good.length - 5)],
      ['empty', Buffer.alloc(0)],
      ['not a memo', Buffer.from('hello world, this is not a tree memo at all, no no no no no no no no')],
    ] as const) {
      writeFileSync(file, bytes);
      const bad = await TreeMemo.open({ ...base, indexIds });
      assert.ok(bad.dropped, `${what}: should be dropped`);
      assert.equal(bad.get(bad.digest(fp('/srv'))), undefined, what);
    }
  }));
