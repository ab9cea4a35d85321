/**
 * Both programs take turns on one repository (restic-format.md §9.2, §11 A6): restic's
 * forget --prune repacks and deletes packs the other program wrote and rewrites the index, and
 * the other program must carry on from there, incremental backups included, with both checkers
 * clean and restores identical.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EDGE_TREE_TOOLS, buildEdgeTree, compareTrees, seededBytes, type EdgeTree } from './edge-tree.ts';
import { Sandbox, requireTools, summaryOf } from './tools.ts';

interface SnapshotJson {
  readonly id: string;
  readonly paths: string[];
}

/** Replaces the random file's bytes (old chunks become garbage once their snapshot is gone)
 *  and touches the small file, so the next backup has both new and unchanged content. */
function change(tree: EdgeTree, round: number): void {
  writeFileSync(path.join(tree.root, 'random.bin'), seededBytes(`mixed-use/random/${round}`, 2 << 20));
  appendFileSync(path.join(tree.root, tree.mutableFile), `round ${round}\n`);
}

describe('lifeboat and restic 0.14 taking turns on one repository', () => {
  let sb: Sandbox;

  before(() => {
    requireTools('restic', ...EDGE_TREE_TOOLS);
    sb = new Sandbox('mixed-use');
  });

  after(() => sb?.dispose());

  test('lifeboat backs up twice, restic forget --keep-last 1 --prune, lifeboat backs up again; both checks pass', () => {
    const tree = buildEdgeTree(sb.path('src-lifeboat-first'), { seed: 'mixed-use/a' });
    const repo = sb.path('repo-lifeboat-first');
    sb.lifeboat('repo', 'init', '--repo', repo);
    const first = summaryOf(sb.lifeboat('repo', 'backup', '--json', '--repo', repo, tree.root).stdout);
    assert.equal(first.errors, 0);
    change(tree, 1);
    const second = summaryOf(sb.lifeboat('repo', 'backup', '--json', '--repo', repo, tree.root).stdout);
    assert.equal(second.parent, first.snapshot_id);
    assert.equal(second.files_changed, 2);

    const prune = sb.restic('-r', repo, 'forget', '--keep-last', '1', '--prune');
    assert.match(prune.stdout, /remove 1 snapshots/);
    const left = JSON.parse(sb.restic('-r', repo, 'snapshots', '--json').stdout) as SnapshotJson[];
    assert.deepEqual(left.map((s) => s.id), [second.snapshot_id]);

    change(tree, 2);
    const third = summaryOf(sb.lifeboat('repo', 'backup', '--json', '--repo', repo, tree.root).stdout);
    assert.equal(third.errors, 0);
    assert.equal(third.parent, second.snapshot_id);
    assert.equal(third.files_changed, 2);
    assert.equal(third.files_unmodified, tree.regularFiles - 2);

    const ours = JSON.parse(sb.lifeboat('repo', 'check', '--read-data', '--json', '--repo', repo).stdout.trim().split('\n').pop()!) as { ok: boolean; errors: unknown[] };
    assert.deepEqual(ours.errors, []);
    assert.equal(ours.ok, true);
    assert.match(sb.restic('-r', repo, 'check', '--read-data').stdout, /no errors were found/);

    const target = sb.path('restored-a');
    sb.restic('-r', repo, 'restore', 'latest', '--target', target);
    assert.deepEqual(compareTrees(tree.root, path.join(target, tree.root), { ignoreSparseness: true, ignoreSockets: true, ignoreSymlinkXattrs: true }), []);
  });

  test('restic backs up twice, lifeboat backs up, restic forget --keep-last 1 --prune; lifeboat restores its snapshot identically', () => {
    const tree = buildEdgeTree(sb.path('src-restic-first'), { seed: 'mixed-use/b' });
    const repo = sb.path('repo-restic-first');
    sb.restic('-r', repo, 'init');
    sb.restic('-r', repo, 'backup', tree.root);
    change(tree, 1);
    const resticSecond = summaryOf(sb.restic('-r', repo, 'backup', '--json', tree.root).stdout);
    change(tree, 2);
    const ours = summaryOf(sb.lifeboat('repo', 'backup', '--json', '--repo', repo, tree.root).stdout);
    assert.equal(ours.errors, 0);
    // restic 0.14's --json summary gives the short id.
    assert.ok(String(ours.parent).startsWith(String(resticSecond.snapshot_id)), `lifeboat took ${ours.parent} as parent, not restic's latest ${resticSecond.snapshot_id}`);
    assert.equal(ours.files_changed, 2);
    assert.equal(ours.files_unmodified, tree.regularFiles - 2);

    const prune = sb.restic('-r', repo, 'forget', '--keep-last', '1', '--prune');
    assert.match(prune.stdout, /remove 2 snapshots/);
    const left = JSON.parse(sb.restic('-r', repo, 'snapshots', '--json').stdout) as SnapshotJson[];
    assert.deepEqual(left.map((s) => s.id), [ours.snapshot_id]);

    const target = sb.path('restored-b');
    sb.lifeboat('repo', 'restore', 'latest', '--repo', repo, '--target', target);
    assert.deepEqual(compareTrees(tree.root, path.join(target, tree.root), { ignoreSymlinkXattrs: true }), []);
    assert.match(sb.restic('-r', repo, 'check', '--read-data').stdout, /no errors were found/);
  });
});
