/**
 * The tree memo (src/core/archiver/tree-memo.ts) makes an unchanged directory cost a digest
 * instead of a parent-tree comparison and a re-encoding, and it must never change what a backup
 * stores. Each step below backs up the same tree twice, first with the memo and then with
 * --no-cache (full comparison against the parent, as restic does), and requires the same tree
 * id for the source both times. The mutations are the ones a stale memo would get wrong.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EDGE_TREE_TOOLS, buildEdgeTree, type EdgeTree } from './edge-tree.ts';
import { LIFEBOAT, Sandbox, ndjson, requireTools, summaryOf } from './tools.ts';

type Summary = Record<string, number | string>;

describe('the tree memo', () => {
  let sb: Sandbox;
  let tree: EdgeTree;
  let repo: string;

  /**
   * The tree id a snapshot holds for the sandbox directory (the source's parent, a directory
   * the backup only passes through), followed from the snapshot's root tree. The levels above it
   * (/, /tmp) change with whatever else runs on the machine; this one changes only with the source.
   */
  const sandboxTree = (snapshotId: string): string => {
    let id = (JSON.parse(sb.lifeboat('repo', 'cat', '--repo', repo, 'snapshot', snapshotId).stdout) as { tree: string }).tree;
    for (const name of sb.dir.split('/').filter(Boolean)) {
      const t = JSON.parse(sb.lifeboat('repo', 'cat', '--repo', repo, 'blob', id).stdout) as { nodes: { name: string; subtree?: string }[] };
      const n = t.nodes.find((x) => x.name === name);
      assert.ok(n?.subtree, `no directory ${name} on the way to ${sb.dir}`);
      id = n.subtree;
    }
    return id;
  };

  const backup = (...args: string[]): Summary => {
    const s = summaryOf(sb.lifeboat('repo', 'backup', '--json', '--repo', repo, ...args, tree.root).stdout);
    assert.equal(s.errors, 0);
    return s;
  };

  /**
   * Backs up with the memo, then without; both must store the same tree for the source. (The
   * test never lists the source itself: a first readdir or readlink moves an atime, which the
   * next backup would rightly store.)
   */
  const twin = (...args: string[]): Summary => {
    const withMemo = backup(...args);
    const without = backup('--no-cache', ...args);
    assert.equal(without.dirs_reused, 0, '--no-cache must not use the memo');
    assert.equal(withMemo.dirs, without.dirs);
    assert.equal(sandboxTree(String(withMemo.snapshot_id)), sandboxTree(String(without.snapshot_id)), 'the memo changed what was stored');
    return withMemo;
  };

  before(() => {
    requireTools('restic', ...EDGE_TREE_TOOLS);
    sb = new Sandbox('tree-memo');
    tree = buildEdgeTree(sb.path('src'), { seed: 'tree-memo' });
    repo = sb.path('repo');
    sb.lifeboat('repo', 'init', '--repo', repo);
    // A first backup reads every symlink, and readlink moves a symlink's atime once (relatime).
    backup('--no-cache');
  });

  after(() => sb?.dispose());

  test('the first backup, with an empty memo, stores what a backup without one stores, and fills the memo', () => {
    const s = twin();
    assert.equal(s.dirs_reused, 0);
    const files = readdirSync(sb.env.LIFEBOAT_CACHE_DIR!, { recursive: true }).map(String);
    assert.ok(files.some((f) => /trees-[0-9a-f]+$/.test(f)), `no memo file in ${files.join(', ')}`);
  });

  test('an unchanged tree is taken from the memo, every directory of it, with no file read', () => {
    const s = twin();
    assert.equal(s.dirs_reused, s.dirs);
    assert.equal(s.files_unmodified, tree.regularFiles);
    assert.equal(s.files_new + s.files_changed, 0);
    assert.equal(s.data_blobs, 0);
  });

  test('a file rewritten 16 directories deep (same size): that file is read, its 17 ancestors are written anew, the rest reused', () => {
    const leaf = path.join(tree.root, 'deep/d01/d02/d03/d04/d05/d06/d07/d08/d09/d10/d11/d12/d13/d14/d15/d16/leaf.txt');
    writeFileSync(leaf, 'LEAF\n');
    const s = twin();
    assert.equal(s.files_changed, 1);
    assert.equal(s.dirs_reused, Number(s.dirs) - 18); // the source root, deep, d01..d16
  });

  test('a file put back as it was two backups ago adds no data blob: the cached index knows it', () => {
    const file = path.join(tree.root, tree.mutableFile);
    const first = readFileSync(file);
    writeFileSync(file, Buffer.concat([first, Buffer.from(' and more')]));
    assert.equal(twin().data_blobs, 1);
    writeFileSync(file, first);
    const back = twin();
    assert.equal(back.files_changed, 1);
    assert.equal(back.data_blobs, 0);
    const files = readdirSync(sb.env.LIFEBOAT_CACHE_DIR!, { recursive: true }).map(String);
    assert.ok(files.some((f) => f.endsWith('/index')), `no index cache in ${files.join(', ')}`);
  });

  test('a mode change and an xattr change alone, with every name as it was, are seen', () => {
    chmodSync(path.join(tree.root, tree.mutableFile), 0o640);
    sb.exec('setfattr', ['-n', 'user.memo', '-v', 'set', path.join(tree.root, 'deep/d01/d02/d03/d04/d05/d06/d07/d08/d09/d10/d11/d12/d13/d14/d15/d16/leaf.txt')]);
    const s = twin();
    assert.equal(s.files_changed, 2);
    assert.equal(s.dirs_reused, Number(s.dirs) - 18);
  });

  test('the source root\'s own mode changes, nothing below it: every directory below is reused, the source\'s node is new', () => {
    const before = twin();
    chmodSync(tree.root, 0o700);
    const s = twin();
    assert.equal(s.dirs_reused, s.dirs);
    assert.notEqual(sandboxTree(String(s.snapshot_id)), sandboxTree(String(before.snapshot_id)));
  });

  test('files added, removed and renamed, a directory renamed, a mode and an xattr changed: all seen', () => {
    writeFileSync(path.join(tree.root, 'added.txt'), 'new\n');
    rmSync(path.join(tree.root, tree.mutableFile));
    renameSync(path.join(tree.root, 'deep/d01/d02'), path.join(tree.root, 'deep/d01/d02-renamed'));
    const some = path.join(tree.root, 'deep/d01/d02-renamed/d03/d04');
    mkdirSync(path.join(some, 'new-dir'));
    chmodSync(path.join(tree.root, 'deep/d01/d02-renamed/d03/d04/d05/d06/d07/d08/d09/d10/d11/d12/d13/d14/d15/d16/leaf.txt'), 0o600);
    sb.exec('setfattr', ['-n', 'user.memo', '-v', 'changed', path.join(tree.root, 'added.txt')]);
    const s = twin();
    assert.equal(s.files_new, 2, 'added.txt, and leaf.txt under the renamed directory');
    assert.ok(Number(s.dirs_reused) > 0 && Number(s.dirs_reused) < Number(s.dirs));
  });

  test('an exclude pattern given or dropped changes which trees can be reused', () => {
    const excluded = twin('--exclude', '*.txt');
    assert.ok(Number(excluded.dirs_reused) < Number(excluded.dirs), 'a new exclude must not reuse trees remembered without it');
    const ls = ndjson(sb.lifeboat('repo', 'ls', '--json', '--repo', repo, String(excluded.snapshot_id)).stdout).map((d) => String(d.path));
    assert.ok(!ls.some((p) => p.endsWith('.txt')), 'excluded files were stored');
    const again = twin();
    assert.ok(Number(again.dirs_reused) < Number(again.dirs));
  });

  test('another time zone writes every time anew instead of reusing trees with the old offsets', () => {
    const before = twin();
    const zone = sb.env.TZ;
    sb.env.TZ = 'Asia/Kathmandu';
    try {
      const moved = twin();
      assert.equal(moved.dirs_reused, 0);
      assert.notEqual(sandboxTree(String(moved.snapshot_id)), sandboxTree(String(before.snapshot_id)));
    } finally {
      sb.env.TZ = zone;
    }
    twin();
  });

  test('a directory that cannot be read is reported on every run, never remembered as complete', () => {
    // Deeper than PATH_MAX: the walk cannot read the last directories by their absolute paths.
    sb.exec('sh', ['-c', 'mkdir "$1" && cd "$1" && for i in $(seq 17); do mkdir "$2" && cd "$2" || exit 1; done', 'sh', path.join(tree.root, 'too-deep'), 'n'.repeat(250)]);
    for (let run = 0; run < 3; run++) {
      const r = sb.exec(LIFEBOAT, ['repo', 'backup', '--json', '--repo', repo, tree.root]);
      assert.equal(r.status, 3, `run ${run}: ${r.stderr}`);
      const errors = ndjson(r.stdout).filter((d) => d.message_type === 'error');
      assert.equal(errors.length, 1, `run ${run}: ${r.stdout}`);
      assert.match(String(errors[0]!.error), /ENAMETOOLONG/);
    }
    sb.exec('rm', ['-rf', path.join(tree.root, 'too-deep')]);
    twin();
  });

  test('after restic forget --prune rewrites the index, the memo is dropped, and the backup is still right', () => {
    sb.restic('-r', repo, 'forget', '--keep-last', '2', '--prune');
    const s = twin();
    assert.equal(s.dirs_reused, 0);
    const next = twin();
    assert.equal(next.dirs_reused, next.dirs);
  });

  test('a damaged memo file is ignored: the backup reuses nothing and is right', () => {
    const dir = sb.env.LIFEBOAT_CACHE_DIR!;
    const file = readdirSync(dir, { recursive: true }).map(String).find((f) => /trees-[0-9a-f]+$/.test(f))!;
    const bytes = readFileSync(path.join(dir, file));
    bytes[bytes.length >> 1] ^= 0x40;
    writeFileSync(path.join(dir, file), bytes);
    const s = twin();
    assert.equal(s.dirs_reused, 0);
    const next = twin();
    assert.equal(next.dirs_reused, next.dirs);
  });

  test('restic check --read-data accepts the repository the memo runs wrote', () => {
    sb.restic('-r', repo, 'check', '--read-data');
  });
});
