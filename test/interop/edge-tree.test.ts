/**
 * The fixture and the comparator that every interop test relies on are checked here against
 * independent tools, so a green interop run means something: buildEdgeTree really builds each
 * promised edge case (stat, getfacl, getfattr), an `rsync -aAXHS` copy compares identical, and
 * compareTrees notices each kind of difference it claims to compare.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync, copyFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { setTimesNs } from '../../src/core/fs/metadata.ts';
import { EDGE_TREE_TOOLS, FOREIGN_GID, FOREIGN_UID, HIGH_ID, ODD_NAMES, ODD_TIMES, SPARSE_SIZE, buildEdgeTree, compareTrees, isSparse, type EdgeTree } from './edge-tree.ts';
import { Sandbox, requireTools } from './tools.ts';

describe('the edge-case fixture and compareTrees', () => {
  let sb: Sandbox;
  let tree: EdgeTree;

  before(() => {
    requireTools('rsync', 'getfacl', ...EDGE_TREE_TOOLS);
    sb = new Sandbox('edge-tree');
    tree = buildEdgeTree(sb.path('src'));
  });

  after(() => sb?.dispose());

  test('buildEdgeTree builds every promised edge case', () => {
    const at = (rel: string) => path.join(tree.root, rel);
    const st = (rel: string) => lstatSync(at(rel), { bigint: true });
    assert.equal(st('empty').size, 0n);
    assert.equal(st('one-byte').size, 1n);
    assert.deepEqual(readdirSync(at('names')).filter((n) => n !== 'dir with space').sort(), [...ODD_NAMES].sort());
    assert.ok(ODD_NAMES.some((n) => Buffer.byteLength(n) === 250));
    assert.ok(ODD_NAMES.includes('caf\u00e9 (NFC)') && ODD_NAMES.includes('cafe\u0301 (NFD)'));
    assert.equal(tree.paths.filter((p) => p.startsWith('deep/') && st(p).isDirectory()).reduce((m, p) => Math.max(m, p.split('/').length - 1), 0), 16);
    assert.deepEqual(readdirSync(at('empty-dir')), []);
    assert.ok(st('links/dangling').isSymbolicLink());
    assert.equal(st('hardlinks/first').ino, st('hardlinks/sub/second').ino);
    assert.equal(st('sparse.img').size, BigInt(SPARSE_SIZE));
    assert.ok(isSparse(st('sparse.img')), 'the sparse file is fully allocated: the filesystem lacks holes?');
    assert.equal(st('perms/setuid').mode & 0o7777n, 0o4755n);
    assert.equal(st('perms/setgid-dir').mode & 0o7777n, 0o2775n);
    assert.equal(st('perms/sticky-dir').mode & 0o7777n, 0o1777n);
    assert.ok(st('special/fifo').isFIFO());
    assert.ok(st('special/socket').isSocket());
    assert.ok(st('special/chardev').isCharacterDevice());
    assert.ok(st('special/blockdev').isBlockDevice());
    assert.equal(st('foreign/file').uid, BigInt(FOREIGN_UID));
    assert.equal(st('foreign/link').gid, BigInt(FOREIGN_GID));
    assert.match(execFileSync('getfacl', ['-p', at('acl/file-acl')], { encoding: 'utf8' }), new RegExp(`user:${FOREIGN_UID}:rw-`));
    assert.match(execFileSync('getfacl', ['-p', at('acl/default-acl-dir')], { encoding: 'utf8' }), new RegExp(`default:user:${FOREIGN_UID}:rwx`));
    assert.match(execFileSync('getfattr', ['-d', at('xattr/file')], { encoding: 'utf8' }), /user\.lifeboat\.text="hello world"/);
    assert.equal(st('foreign/high-ids').uid, BigInt(HIGH_ID));
    for (const [rel, ns] of Object.entries(ODD_TIMES)) assert.equal(st(rel).mtimeNs, ns, rel);
    for (const rel of tree.paths.filter((p) => !(p in ODD_TIMES))) {
      const m = st(rel).mtimeNs;
      assert.equal(new Date(Number(m / 1_000_000n)).getUTCFullYear(), 2001, `${rel} mtime`);
      assert.notEqual(m % 1_000_000n, 0n, `${rel} mtime has no sub-millisecond part`);
    }
  });

  test('an rsync -aAXHS copy compares identical', () => {
    const copy = sb.path('rsync-copy');
    execFileSync('rsync', ['-aAXHS', '--numeric-ids', tree.root + '/', copy + '/']);
    assert.deepEqual(compareTrees(tree.root, copy), []);
  });

  test('compareTrees reports each kind of difference', () => {
    const copy = sb.path('mutated');
    execFileSync('rsync', ['-aAXHS', '--numeric-ids', tree.root + '/', copy + '/']);
    const at = (rel: string) => path.join(copy, rel);
    const keepTimes = (rel: string, fn: () => void) => {
      const s = lstatSync(at(rel), { bigint: true });
      fn();
      setTimesNs(at(rel), s.atimeNs, s.mtimeNs, { noFollow: true });
    };
    const p = path.dirname(at('one-byte'));
    // Content of the same size, mode bits, owner, a nanosecond of mtime on a dir and a symlink.
    keepTimes('one-byte', () => writeFileSync(at('one-byte'), 'y'));
    chmodSync(at('perms/setuid'), 0o755);
    chownSync(at('perms/sticky-dir'), FOREIGN_UID, 0);
    const d = lstatSync(at('deep/d01'), { bigint: true });
    setTimesNs(at('deep/d01'), d.atimeNs, d.mtimeNs + 1n, { noFollow: true });
    const l = lstatSync(at('links/to-file'), { bigint: true });
    setTimesNs(at('links/to-file'), l.atimeNs, l.mtimeNs + 1n, { noFollow: true });
    // A symlink target, an xattr value, an ACL entry.
    keepTimes('links', () => {
      unlinkSync(at('links/dangling'));
      symlinkSync('../elsewhere', at('links/dangling'));
    });
    keepTimes('xattr/file', () => execFileSync('setfattr', ['-n', 'user.lifeboat.text', '-v', 'changed', at('xattr/file')]));
    keepTimes('acl/file-acl', () => execFileSync('setfacl', ['-m', `u:${FOREIGN_UID}:r--`, at('acl/file-acl')]));
    // A broken hard link (same content, own inode) and a filled-in sparse file.
    keepTimes('hardlinks/sub', () => {
      copyFileSync(at('hardlinks/sub/second'), at('hardlinks/sub/tmp'));
      renameSync(at('hardlinks/sub/tmp'), at('hardlinks/sub/second'));
    });
    const s = lstatSync(at('sparse.img'), { bigint: true });
    execFileSync('cp', ['--sparse=never', '--preserve=all', at('sparse.img'), at('sparse.tmp')]);
    renameSync(at('sparse.tmp'), at('sparse.img'));
    setTimesNs(at('sparse.img'), s.atimeNs, s.mtimeNs, { noFollow: true });
    // A missing entry and an extra one.
    keepTimes('empty-dir', () => writeFileSync(at('empty-dir/extra'), ''));
    keepTimes('names', () => rmSync(at('names/tab\there')));
    keepTimes('special', () => rmSync(at('special/socket')));
    setTimesNs(p, lstatSync(tree.root, { bigint: true }).atimeNs, lstatSync(tree.root, { bigint: true }).mtimeNs, { noFollow: true });

    const diffs = compareTrees(tree.root, copy);
    const expect = [
      'one-byte: content differs',
      'perms/setuid: mode 4755 vs 755',
      `perms/sticky-dir: uid 0 vs ${FOREIGN_UID}`,
      'deep/d01: mtime ns',
      'links/to-file: mtime ns',
      'links/dangling: link target',
      'links/dangling: mtime ns', // a new symlink
      'xattr/file: xattrs',
      'acl/file-acl: xattrs',
      'acl/file-acl: mode 664 vs 644', // the ACL mask is the group permission
      'hard-link group [hardlinks/first = hardlinks/sub/second] not linked',
      'hardlinks/sub/second: mtime ns', // a new file
      'sparse.img: sparse in',
      'empty-dir/extra: unexpected',
      '"names/tab\\there": missing',
      'special/socket: missing',
    ];
    for (const e of expect) assert.ok(diffs.some((x) => x.startsWith(e)), `no difference starting with ${JSON.stringify(e)} in:\n${diffs.join('\n')}`);
    assert.equal(diffs.length, expect.length, `unexpected extra differences:\n${diffs.join('\n')}`);
    // The tolerances switch off exactly their own kind of difference.
    const lenient = compareTrees(tree.root, copy, { ignoreSparseness: true, ignoreSockets: true, ignoreSymlinkXattrs: true });
    assert.equal(lenient.length, expect.length - 2);
  });
});
