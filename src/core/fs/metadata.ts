/**
 * The file metadata Node's fs cannot carry on its own, so that backup and restore keep what
 * `rsync -aAXH` keeps: extended attributes (user.*, trusted.*, security.* and POSIX ACLs, which
 * Linux stores as system.posix_acl_access / system.posix_acl_default), nanosecond timestamps,
 * FIFOs, sockets and device nodes, and the user and group names behind uid and gid.
 *
 * Invariants:
 * - Nothing here follows symlinks unless asked: xattrs are always the node's own, times follow
 *   only without `noFollow`.
 * - Reading skips what cannot be carried or vanished meanwhile (a filesystem without xattrs
 *   gives []); writing reports each attribute it could not set as a finding, so one refused
 *   attribute never costs the others.
 * - Order for a restorer, as rsync does it: create, chown (which clears setuid/setgid), chmod,
 *   xattrs (an ACL rewrites the group permission bits to its mask, consistent with the original
 *   mode), and times last.
 */
import { constants, readFileSync } from 'node:fs';
import { fromSystemError } from '../errors.ts';
import {
  isErrno,
  lgetxattr,
  llistxattr,
  lremovexattr,
  lsetxattr,
  mknod,
  type PosixPath,
  type Timespec,
  utimensat,
} from './posix.ts';

/** One extended attribute. Names are decoded as UTF-8, as restic's JSON trees store them. */
export interface XattrEntry {
  readonly name: string;
  readonly value: Buffer;
}

/** An attribute writeXattrs could not set (or, with `exact`, could not remove). */
export interface XattrFinding {
  readonly kind: 'xattr-not-written' | 'xattr-not-removed';
  readonly path: string;
  readonly name: string;
  /** unsupported: the filesystem has no such namespace; denied: EPERM/EACCES (e.g. user.* on a
   *  symlink, trusted.* without root); too-large: over the filesystem's limit. */
  readonly reason: 'unsupported' | 'denied' | 'too-large' | 'no-space' | 'failed';
  /** The errno name, e.g. 'ENOTSUP'. */
  readonly code: string;
  readonly message: string;
}

export const POSIX_ACL_ACCESS = 'system.posix_acl_access';
export const POSIX_ACL_DEFAULT = 'system.posix_acl_default';

const NS_PER_SEC = 1_000_000_000n;

function display(p: PosixPath): string {
  return typeof p === 'string' ? p : p.toString('utf8');
}

/**
 * True for the attributes a backup carries: everything the OS lists, except the system.*
 * namespace, which holds kernel-synthesised views (NFSv4 ACLs, ...) that cannot be written back
 * as such, apart from the two POSIX ACLs. That is rsync's rule for -X as root, with -A added.
 */
export function isCarriedXattr(name: string): boolean {
  return !name.startsWith('system.') || name === POSIX_ACL_ACCESS || name === POSIX_ACL_DEFAULT;
}

/**
 * The extended attributes of `target` itself (a symlink's own, not its target's), in the order
 * the filesystem lists them. [] where the filesystem has none or does not support them.
 * Throws LifeboatError (NOT_FOUND, IO, ...) if the node cannot be read at all.
 */
export function readXattrs(target: PosixPath): XattrEntry[] {
  let names: Buffer[];
  try {
    names = llistxattr(target);
  } catch (err) {
    if (isErrno(err, 'ENOTSUP')) return [];
    throw fromSystemError(err, `read extended attributes of ${display(target)}`);
  }
  const entries: XattrEntry[] = [];
  for (const raw of names) {
    const name = raw.toString('utf8');
    if (!isCarriedXattr(name)) continue;
    try {
      entries.push({ name, value: lgetxattr(target, raw) });
    } catch (err) {
      // Removed between list and get, or listed but not readable on this filesystem.
      if (isErrno(err, 'ENODATA', 'ENOTSUP')) continue;
      throw fromSystemError(err, `read extended attribute ${name} of ${display(target)}`);
    }
  }
  return entries;
}

function reasonFor(code: string): XattrFinding['reason'] {
  switch (code) {
    case 'ENOTSUP':
      return 'unsupported';
    case 'EPERM':
    case 'EACCES':
      return 'denied';
    case 'E2BIG':
    case 'ERANGE':
      return 'too-large';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'no-space';
    default:
      return 'failed';
  }
}

function finding(kind: XattrFinding['kind'], target: PosixPath, name: string, err: unknown): XattrFinding {
  const errno = (err as { code?: unknown } | null | undefined)?.code;
  const code = typeof errno === 'string' ? errno : 'UNKNOWN';
  return {
    kind,
    path: display(target),
    name,
    reason: reasonFor(code),
    code,
    message: err instanceof Error ? err.message : String(err),
  };
}

/**
 * Sets each attribute of `list` on `target` itself and returns one finding per attribute that
 * failed; [] means all were written. With `exact`, carried attributes present on `target` but
 * absent from `list` are removed first, so the result equals `list` (rsync's behaviour on an
 * existing file).
 */
export function writeXattrs(
  target: PosixPath,
  list: readonly XattrEntry[],
  opts: { readonly exact?: boolean } = {},
): XattrFinding[] {
  const findings: XattrFinding[] = [];
  if (opts.exact === true) {
    const wanted = new Set(list.map((e) => e.name));
    let present: XattrEntry[] = [];
    try {
      present = readXattrs(target);
    } catch (err) {
      findings.push(finding('xattr-not-removed', target, '*', (err as Error).cause ?? err));
    }
    for (const { name } of present) {
      if (wanted.has(name)) continue;
      try {
        lremovexattr(target, name);
      } catch (err) {
        if (!isErrno(err, 'ENODATA')) findings.push(finding('xattr-not-removed', target, name, err));
      }
    }
  }
  for (const entry of list) {
    try {
      lsetxattr(target, entry);
    } catch (err) {
      findings.push(finding('xattr-not-written', target, entry.name, err));
    }
  }
  return findings;
}

/** Splits nanoseconds since the epoch into a timespec; negative times (before 1970) floor. */
export function toTimespec(ns: bigint): Timespec {
  let sec = ns / NS_PER_SEC;
  let nsec = ns % NS_PER_SEC;
  if (nsec < 0n) {
    sec -= 1n;
    nsec += NS_PER_SEC;
  }
  return { sec, nsec: Number(nsec) };
}

/**
 * Sets atime and mtime to the nanosecond (fs.utimes rounds through a double). With `noFollow`,
 * sets a symlink's own times. Compare with fs.lstatSync(p, { bigint: true }).mtimeNs.
 */
export function setTimesNs(
  target: PosixPath,
  atimeNs: bigint,
  mtimeNs: bigint,
  opts: { readonly noFollow?: boolean } = {},
): void {
  try {
    utimensat(target, { atime: toTimespec(atimeNs), mtime: toTimespec(mtimeNs) }, opts);
  } catch (err) {
    throw fromSystemError(err, `set the times of ${display(target)}`);
  }
}

function makeNode(target: PosixPath, what: string, mode: number, rdev: bigint | number): void {
  try {
    mknod(target, { mode, rdev });
  } catch (err) {
    throw fromSystemError(err, `create ${what} ${display(target)}`);
  }
}

/**
 * Creates a FIFO. The umask filters `mode` (default 0o600) as with mkfifo(3); a restorer sets
 * the exact mode with chmod afterwards.
 */
export function makeFifo(target: PosixPath, opts: { readonly mode?: number } = {}): void {
  makeNode(target, 'FIFO', constants.S_IFIFO | ((opts.mode ?? 0o600) & 0o7777), 0);
}

/** Creates a socket node (what restic and rsync --specials restore: a name, no listener). */
export function makeSocket(target: PosixPath, opts: { readonly mode?: number } = {}): void {
  makeNode(target, 'socket', constants.S_IFSOCK | ((opts.mode ?? 0o600) & 0o7777), 0);
}

/**
 * Creates a character or block device with device number `rdev` (fs.Stats' rdev, or
 * makedev(major, minor) from ./posix.ts). Needs CAP_MKNOD. The umask filters `mode` as above.
 */
export function makeDevice(
  target: PosixPath,
  device: { readonly type: 'char' | 'block'; readonly rdev: bigint | number; readonly mode?: number },
): void {
  const type = device.type === 'char' ? constants.S_IFCHR : constants.S_IFBLK;
  makeNode(target, `${device.type} device`, type | ((device.mode ?? 0o600) & 0o7777), device.rdev);
}

/** Names to ids and back, as one /etc/passwd or /etc/group file declares them. */
export interface IdTable {
  readonly nameOf: ReadonlyMap<number, string>;
  readonly idOf: ReadonlyMap<string, number>;
}

/**
 * Parses passwd(5) or group(5) text: `name:password:id:...`. The first line for a name or an
 * id wins, as getpwnam/getpwuid with the files backend answer. NIS compat lines (+/-), comments
 * and malformed lines are skipped.
 */
export function parseIdTable(text: string): IdTable {
  const nameOf = new Map<number, string>();
  const idOf = new Map<string, number>();
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    const name = fields[0];
    const idText = fields[2];
    if (name === undefined || idText === undefined || name === '') continue;
    if (name.startsWith('#') || name.startsWith('+') || name.startsWith('-')) continue;
    if (!/^\d+$/.test(idText)) continue;
    const id = Number(idText);
    if (!Number.isSafeInteger(id)) continue;
    if (!nameOf.has(id)) nameOf.set(id, name);
    if (!idOf.has(name)) idOf.set(name, id);
  }
  return { nameOf, idOf };
}

const tables = new Map<string, IdTable>();

/** The table of `file`, read once per process; empty if the file is missing or unreadable. */
function idTable(file: '/etc/passwd' | '/etc/group'): IdTable {
  let table = tables.get(file);
  if (table === undefined) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // No such database (a minimal container): every lookup answers undefined.
    }
    table = parseIdTable(text);
    tables.set(file, table);
  }
  return table;
}

/** The user name /etc/passwd gives `uid`, or undefined. (Only the files database: no NSS.) */
export function userName(uid: number): string | undefined {
  return idTable('/etc/passwd').nameOf.get(uid);
}

/** The group name /etc/group gives `gid`, or undefined. */
export function groupName(gid: number): string | undefined {
  return idTable('/etc/group').nameOf.get(gid);
}

/** The uid /etc/passwd gives user `name`, or undefined. */
export function uidForName(name: string): number | undefined {
  return idTable('/etc/passwd').idOf.get(name);
}

/** The gid /etc/group gives group `name`, or undefined. */
export function gidForName(name: string): number | undefined {
  return idTable('/etc/group').idOf.get(name);
}
