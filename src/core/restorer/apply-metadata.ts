/**
 * Applies a node's metadata to a restored entry, in the order that keeps each step intact:
 * owner (chown clears setuid/setgid), then mode, then xattrs/ACLs, then times last (every
 * other change touches ctime/mtime). Symlinks get owner and times only. Each failure is
 * returned as a problem string; nothing here throws for a single attribute.
 */
import { promises as fsp } from 'node:fs';
import type { TreeNode } from '../format/tree.ts';
import { chmodBitsFromFileMode } from '../format/file-mode.ts';
import { toUnixNs } from '../format/go-time.ts';
import { makeDevice, makeFifo, makeSocket, setTimesNs, writeXattrs } from '../fs/metadata.ts';

export async function applyMetadata(abs: string, n: TreeNode): Promise<string[]> {
  const problems: string[] = [];
  try {
    await fsp.lchown(abs, n.uid, n.gid);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM' || process.getuid?.() === 0) problems.push(`cannot set owner ${n.uid}:${n.gid}: ${(e as Error).message}`);
  }
  if (n.type !== 'symlink') {
    try {
      await fsp.chmod(abs, chmodBitsFromFileMode(n.mode));
    } catch (e) {
      problems.push(`cannot set mode: ${(e as Error).message}`);
    }
    if (n.extendedAttributes.length > 0) {
      for (const f of writeXattrs(abs, n.extendedAttributes)) {
        if (f.reason !== 'unsupported') problems.push(`cannot set extended attribute ${f.name}: ${f.message}`);
      }
    }
  }
  try {
    setTimesNs(abs, toUnixNs(n.atime), toUnixNs(n.mtime), { noFollow: true });
  } catch (e) {
    problems.push(`cannot set times: ${(e as Error).message}`);
  }
  return problems;
}

/**
 * Creates a FIFO, socket or device node; its mode and owner follow in applyMetadata. A socket
 * comes back as rsync --specials restores it: the name and metadata, with no listener.
 */
export async function createSpecial(abs: string, n: TreeNode): Promise<void> {
  if (n.type === 'fifo') makeFifo(abs, { mode: 0o600 });
  else if (n.type === 'socket') makeSocket(abs, { mode: 0o600 });
  else makeDevice(abs, { type: n.type === 'chardev' ? 'char' : 'block', rdev: n.device, mode: 0o600 });
}
