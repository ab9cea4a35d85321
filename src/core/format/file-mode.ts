/**
 * Go `os.FileMode` <-> POSIX `st_mode`, and node types (restic-format.md §6.4).
 *
 * A tree node's `mode` is a Go FileMode: permission bits in the low 9 bits, file type and the
 * setuid/setgid/sticky flags in the top bits, not POSIX's S_IF* layout. restic keeps
 * `ModePerm | ModeType | ModeSetuid | ModeSetgid | ModeSticky`. Bit 31 makes the value exceed
 * int32, so everything here ends in `>>> 0` to stay an unsigned 32-bit number.
 */

export const GoMode = Object.freeze({
  Dir: 0x8000_0000,
  Append: 0x4000_0000,
  Exclusive: 0x2000_0000,
  Temporary: 0x1000_0000,
  Symlink: 0x0800_0000,
  Device: 0x0400_0000,
  NamedPipe: 0x0200_0000,
  Socket: 0x0100_0000,
  Setuid: 0x0080_0000,
  Setgid: 0x0040_0000,
  CharDevice: 0x0020_0000,
  Sticky: 0x0010_0000,
  Irregular: 0x0008_0000,
  Perm: 0o777,
});

/** Go's `os.ModeType`: the bits that say what kind of file it is. */
export const GO_MODE_TYPE =
  (GoMode.Dir | GoMode.Symlink | GoMode.NamedPipe | GoMode.Socket | GoMode.Device | GoMode.CharDevice | GoMode.Irregular) >>> 0;

/** The bits restic keeps from a file's mode. */
export const RESTIC_MODE_MASK = (GoMode.Perm | GO_MODE_TYPE | GoMode.Setuid | GoMode.Setgid | GoMode.Sticky) >>> 0;

/** POSIX st_mode bits (Linux values). */
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;

/** restic's node types. `irregular` is written by restic >= 0.17 only; 0.14's check rejects it. */
export type NodeType = 'file' | 'dir' | 'symlink' | 'dev' | 'chardev' | 'fifo' | 'socket' | 'irregular';

export const NODE_TYPES: readonly NodeType[] = ['file', 'dir', 'symlink', 'dev', 'chardev', 'fifo', 'socket', 'irregular'];

export function isNodeType(s: string): s is NodeType {
  return (NODE_TYPES as readonly string[]).includes(s);
}

/**
 * The Go FileMode restic stores for a file with this `st_mode` (Go's `fillFileStatFromSys`,
 * then restic's mask). An unknown S_IFMT maps to a plain file, as in Go on Linux.
 */
export function fileModeFromStat(stMode: number): number {
  let mode = stMode & 0o777;
  switch (stMode & S_IFMT) {
    case S_IFBLK:
      mode |= GoMode.Device;
      break;
    case S_IFCHR:
      mode |= GoMode.Device | GoMode.CharDevice;
      break;
    case S_IFDIR:
      mode |= GoMode.Dir;
      break;
    case S_IFIFO:
      mode |= GoMode.NamedPipe;
      break;
    case S_IFLNK:
      mode |= GoMode.Symlink;
      break;
    case S_IFSOCK:
      mode |= GoMode.Socket;
      break;
  }
  if (stMode & S_ISUID) mode |= GoMode.Setuid;
  if (stMode & S_ISGID) mode |= GoMode.Setgid;
  if (stMode & S_ISVTX) mode |= GoMode.Sticky;
  return mode >>> 0;
}

/** The S_IF* type bits for a Go FileMode; regular file when no type bit (or only Irregular) is set. */
function statTypeBits(mode: number): number {
  const t = (mode & GO_MODE_TYPE) >>> 0;
  if (t & GoMode.Dir) return S_IFDIR;
  if (t & GoMode.Symlink) return S_IFLNK;
  if (t & GoMode.NamedPipe) return S_IFIFO;
  if (t & GoMode.Socket) return S_IFSOCK;
  if (t & GoMode.Device) return t & GoMode.CharDevice ? S_IFCHR : S_IFBLK;
  if (t & GoMode.CharDevice) return S_IFCHR;
  return S_IFREG;
}

/** The POSIX st_mode (type, permissions, setuid/setgid/sticky) for a Go FileMode. */
export function statModeFromFileMode(mode: number): number {
  let st = statTypeBits(mode) | (mode & 0o777);
  if (mode & GoMode.Setuid) st |= S_ISUID;
  if (mode & GoMode.Setgid) st |= S_ISGID;
  if (mode & GoMode.Sticky) st |= S_ISVTX;
  return st;
}

/** The `chmod` argument restic applies on restore: permissions plus setuid/setgid/sticky. */
export function chmodBitsFromFileMode(mode: number): number {
  return statModeFromFileMode(mode) & 0o7777;
}

/** restic's node type for a Go FileMode (`nodeTypeFromFileInfo`); undefined for odd combinations. */
export function nodeTypeFromFileMode(mode: number): NodeType | undefined {
  switch ((mode & GO_MODE_TYPE) >>> 0) {
    case 0:
      return 'file';
    case GoMode.Dir:
      return 'dir';
    case GoMode.Symlink:
      return 'symlink';
    case (GoMode.Device | GoMode.CharDevice) >>> 0:
      return 'chardev';
    case GoMode.Device:
      return 'dev';
    case GoMode.NamedPipe:
      return 'fifo';
    case GoMode.Socket:
      return 'socket';
    case GoMode.Irregular:
      return 'irregular';
    default:
      return undefined;
  }
}

/** restic's node type for a POSIX st_mode. */
export function nodeTypeFromStat(stMode: number): NodeType {
  return nodeTypeFromFileMode(fileModeFromStat(stMode)) ?? 'file';
}

/** The Go FileMode type bits that go with a node type (restic's `Node.String`). */
export function fileModeTypeBits(type: NodeType): number {
  switch (type) {
    case 'file':
      return 0;
    case 'dir':
      return GoMode.Dir;
    case 'symlink':
      return GoMode.Symlink;
    case 'dev':
      return GoMode.Device;
    case 'chardev':
      return (GoMode.Device | GoMode.CharDevice) >>> 0;
    case 'fifo':
      return GoMode.NamedPipe;
    case 'socket':
      return GoMode.Socket;
    case 'irregular':
      return GoMode.Irregular;
  }
}
