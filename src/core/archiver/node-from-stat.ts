/**
 * Builds a tree node from lstat results, filling exactly the fields restic 0.14 fills
 * (restic-format.md §6.2): `links` only for file, symlink and devices; xattrs (incl. POSIX
 * ACLs) for everything but symlinks; times in the local zone with nanoseconds.
 */
import { readlinkSync, type BigIntStats } from 'node:fs';
import { currentUser } from '../fs/current-user.ts';
import type { TreeNode } from '../format/tree.ts';
import { fileModeFromStat, nodeTypeFromStat } from '../format/file-mode.ts';
import { fixTimeYear, fromStatNs } from '../format/go-time.ts';
import { groupName, readXattrs, userName } from '../fs/metadata.ts';
import type { Id } from '../ids.ts';

/** The lstat fields a node is made of (BigIntStats has them; so does a scanDir entry). */
export type StatFields = Pick<BigIntStats, 'mode' | 'uid' | 'gid' | 'mtimeNs' | 'atimeNs' | 'ctimeNs' | 'ino' | 'dev' | 'size' | 'nlink' | 'rdev'>;

/** `noXattrs`: the caller already knows the entry lists no extended attributes. */
export async function nodeFromStat(abs: Buffer, name: Buffer, st: StatFields, noXattrs = false): Promise<TreeNode> {
  const stMode = Number(st.mode);
  const type = nodeTypeFromStat(stMode);
  const uid = Number(st.uid);
  const gid = Number(st.gid);
  const linkCounted = type === 'file' || type === 'symlink' || type === 'dev' || type === 'chardev';
  return {
    name,
    type,
    mode: fileModeFromStat(stMode),
    // restic's FixTime: years outside 0..9999 cannot be written as RFC 3339.
    mtime: fixTimeYear(fromStatNs(st.mtimeNs)),
    atime: fixTimeYear(fromStatNs(st.atimeNs)),
    ctime: fixTimeYear(fromStatNs(st.ctimeNs)),
    uid,
    gid,
    user: userName(uid),
    group: groupName(gid),
    inode: st.ino,
    deviceId: st.dev,
    size: type === 'file' ? st.size : 0n,
    links: linkCounted ? st.nlink : 0n,
    linktarget: type === 'symlink' ? readlinkSync(abs, { encoding: 'buffer' }) : Buffer.alloc(0),
    extendedAttributes: type === 'symlink' || noXattrs ? [] : readXattrs(abs),
    device: type === 'dev' || type === 'chardev' ? st.rdev : 0n,
    content: type === 'file' ? [] : null,
    subtree: null,
  };
}

/** The node restic writes for `backup --stdin`: a 0644 file owned by the running user. */
export function stdinNode(name: Buffer, now: Date, size: bigint, content: Id[]): TreeNode {
  const t = fromStatNs(BigInt(now.getTime()) * 1_000_000n);
  const { uid, gid } = currentUser();
  return {
    name,
    type: 'file',
    mode: 0o644,
    mtime: t,
    atime: t,
    ctime: t,
    uid,
    gid,
    user: userName(uid),
    group: groupName(gid),
    inode: 0n,
    deviceId: 0n,
    size,
    links: 0n,
    linktarget: Buffer.alloc(0),
    extendedAttributes: [],
    device: 0n,
    content,
    subtree: null,
  };
}
