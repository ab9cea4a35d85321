/**
 * restic 0.14 writes, lifeboat reads (restic-format.md §11 B): for repositories restic made in
 * format v2 (compression auto and off) and v1, lifeboat's CLI must restore the edge tree
 * identically, pass its own check --read-data, and list the same paths as restic ls.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { EDGE_TREE_TOOLS, buildEdgeTree, compareTrees, type EdgeTree } from './edge-tree.ts';
import { Sandbox, lsPaths, requireTools } from './tools.ts';

interface Variant {
  readonly name: string;
  readonly init: readonly string[];
  readonly backup: readonly string[];
  readonly version: number;
}

const VARIANTS: readonly Variant[] = [
  { name: 'format v2, compression auto', init: [], backup: [], version: 2 },
  { name: 'format v2, backup --compression off', init: [], backup: ['--compression', 'off'], version: 2 },
  { name: 'format v1 (init --repository-version 1)', init: ['--repository-version', '1'], backup: [], version: 1 },
];

describe('repositories written by restic 0.14, read by lifeboat', () => {
  let sb: Sandbox;
  let tree: EdgeTree;

  before(() => {
    requireTools('restic', ...EDGE_TREE_TOOLS);
    sb = new Sandbox('restic-by-ours');
    tree = buildEdgeTree(sb.path('src'));
  });

  after(() => sb?.dispose());

  for (const [i, v] of VARIANTS.entries()) {
    describe(v.name, () => {
      let repo: string;

      before(() => {
        repo = sb.path(`repo-${i}`);
        sb.restic('-r', repo, 'init', ...v.init);
        const config = JSON.parse(sb.restic('-r', repo, 'cat', 'config').stdout) as { version: number };
        assert.equal(config.version, v.version);
        sb.restic('-r', repo, 'backup', ...v.backup, tree.root);
      });

      test('lifeboat repo restore recreates the source tree identically, sparse file included', () => {
        const target = sb.path(`restored-${i}`);
        const r = sb.lifeboat('repo', 'restore', 'latest', '--repo', repo, '--target', target);
        assert.doesNotMatch(r.stderr, /error/i);
        // Only what restic 0.14's backup leaves out is tolerated: symlink xattrs and sockets.
        assert.deepEqual(compareTrees(tree.root, path.join(target, tree.root), { ignoreSockets: true, ignoreSymlinkXattrs: true }), []);
      });

      test('lifeboat repo check --read-data finds no errors', () => {
        const r = sb.lifeboat('repo', 'check', '--read-data', '--json', '--repo', repo);
        const s = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok: boolean; errors: unknown[]; packs_read: number; packs: number };
        assert.deepEqual(s.errors, []);
        assert.equal(s.ok, true);
        assert.ok(s.packs > 0 && s.packs_read === s.packs, `read ${s.packs_read} of ${s.packs} packs`);
      });

      test('lifeboat repo ls lists exactly the paths restic ls lists', () => {
        const theirs = lsPaths(sb.restic('-r', repo, 'ls', '--json', 'latest').stdout);
        const ours = lsPaths(sb.lifeboat('repo', 'ls', '--json', '--repo', repo, 'latest').stdout);
        assert.ok(theirs.length > tree.paths.length);
        assert.deepEqual(ours, theirs);
      });
    });
  }

});
