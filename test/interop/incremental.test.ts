/**
 * Incremental backups are safe and cheap: with a parent snapshot, a file whose size, mtime,
 * ctime and inode are unchanged is taken from the parent without being read, and the change
 * detection works across programs, because lifeboat's nodes carry exactly the metadata restic
 * 0.14 compares (restic-format.md §6.2) and lifeboat reads restic's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { EDGE_TREE_TOOLS, buildEdgeTree, compareTrees, type EdgeTree } from './edge-tree.ts';
import { Sandbox, requireTools, summaryOf } from './tools.ts';

/** Bytes a backup of the unchanged edge tree may add: new tree blobs only (atimes moved). */
const TREES_ONLY = 64 << 10;

describe('incremental backups', () => {
  let sb: Sandbox;
  let tree: EdgeTree;
  let repo: string;
  const snapshots: string[] = [];

  const ourBackup = (): Record<string, number | string> => {
    const s = summaryOf(sb.lifeboat('repo', 'backup', '--json', '--repo', repo, tree.root).stdout);
    assert.equal(s.errors, 0);
    snapshots.push(String(s.snapshot_id));
    return s;
  };

  before(() => {
    requireTools('restic', ...EDGE_TREE_TOOLS);
    sb = new Sandbox('incremental');
    tree = buildEdgeTree(sb.path('src'), { seed: 'incremental' });
    repo = sb.path('repo');
    sb.lifeboat('repo', 'init', '--repo', repo);
    const first = ourBackup();
    assert.equal(first.files_new, tree.regularFiles);
    assert.equal(first.parent, undefined);
  });

  after(() => sb?.dispose());

  test('a second backup of the unchanged tree reads no file and adds no data blob', () => {
    const s = ourBackup();
    assert.equal(s.parent, snapshots[0]);
    assert.equal(s.files_unmodified, tree.regularFiles);
    assert.equal(s.files_new, 0);
    assert.equal(s.files_changed, 0);
    assert.equal(s.data_blobs, 0);
    assert.ok(Number(s.data_added) < TREES_ONLY, `added ${s.data_added} bytes for an unchanged tree`);
  });

  test('after one file changes, only that file is read again', () => {
    writeFileSync(path.join(tree.root, tree.mutableFile), 'version 2\n'); // same size, new mtime
    const s = ourBackup();
    assert.equal(s.parent, snapshots[snapshots.length - 2], 'the parent must be the latest snapshot of these paths');
    assert.equal(s.files_changed, 1);
    assert.equal(s.files_unmodified, tree.regularFiles - 1);
    assert.equal(s.files_new, 0);
    assert.equal(s.data_blobs, 1);
  });

  test('restic, backing up after lifeboat, finds every file unmodified in lifeboat\'s snapshot', () => {
    const s = summaryOf(sb.restic('-r', repo, 'backup', '--json', tree.root).stdout);
    // restic 0.14's summary gives a short snapshot id and no parent: read both from the snapshot.
    const snap = JSON.parse(sb.restic('-r', repo, 'cat', 'snapshot', String(s.snapshot_id)).stdout) as { parent?: string };
    const full = (JSON.parse(sb.restic('-r', repo, 'snapshots', '--json').stdout) as { id: string }[]).find((x) => x.id.startsWith(String(s.snapshot_id)))!.id;
    snapshots.push(full);
    assert.equal(snap.parent, snapshots[snapshots.length - 2], 'restic should take lifeboat\'s latest snapshot as its parent');
    assert.equal(s.files_unmodified, tree.regularFiles);
    assert.equal(s.files_new, 0);
    assert.equal(s.files_changed, 0);
    assert.equal(s.data_blobs, 0);
  });

  test('lifeboat, backing up after restic, finds every file unmodified in restic\'s snapshot', () => {
    const s = ourBackup();
    assert.equal(s.parent, snapshots[snapshots.length - 2], 'lifeboat should take restic\'s latest snapshot as its parent');
    assert.equal(s.files_unmodified, tree.regularFiles);
    assert.equal(s.files_changed, 0);
    assert.equal(s.data_blobs, 0);
  });

  test('the last snapshot, built from parents of both programs, restores identically', () => {
    const target = sb.path('restored');
    sb.lifeboat('repo', 'restore', snapshots[snapshots.length - 1]!, '--repo', repo, '--target', target);
    assert.deepEqual(compareTrees(tree.root, path.join(target, tree.root), { ignoreSymlinkXattrs: true }), []);
  });
});
