/**
 * /proc/self/mountinfo as data (proc(5), "mountinfo"), and the question "which mount holds this
 * path?" answered from it. Device-number comparisons (st_dev of a path against its parent) miss
 * bind mounts, so mount questions are answered from the kernel's mount table only.
 *
 * Line format: `id parent major:minor root mount-point options [optional...] - fstype source
 * super-options`. Paths are octal-escaped by the kernel (`\040` space, `\011` tab, `\012`
 * newline, `\134` backslash).
 */

export interface MountEntry {
  readonly id: number;
  readonly parent: number;
  /** `major:minor` of the filesystem; equal for every mount (bind or not) of one superblock. */
  readonly majorMinor: string;
  /** The directory of the filesystem that is mounted here; not `/` for bind mounts of subdirectories. */
  readonly root: string;
  readonly mountPoint: string;
  /** Per-mount options (`rw`/`ro`, `nosuid`, ...). */
  readonly options: readonly string[];
  readonly fsType: string;
  readonly source: string;
  /** Per-superblock options; a filesystem remounted read-only after errors shows `ro` here. */
  readonly superOptions: readonly string[];
}

/** Decodes the kernel's `\ooo` octal escapes. */
export function decodeMountinfoPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * Parses the text of /proc/<pid>/mountinfo. Lines that do not have the documented shape are
 * skipped rather than fatal: a future kernel adding fields must not stop backups.
 */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (sep < 0 || f.length < sep + 3) continue;
    const [idText, parentText, majorMinor, root, mountPoint, options] = f;
    const id = Number(idText);
    const parent = Number(parentText);
    if (!Number.isInteger(id) || !Number.isInteger(parent) || majorMinor === undefined) continue;
    if (root === undefined || mountPoint === undefined || options === undefined) continue;
    entries.push({
      id,
      parent,
      majorMinor,
      root: decodeMountinfoPath(root),
      mountPoint: decodeMountinfoPath(mountPoint),
      options: options.split(','),
      fsType: f[sep + 1] ?? '',
      source: decodeMountinfoPath(f[sep + 2] ?? ''),
      superOptions: (f[sep + 3] ?? '').split(',').filter((o) => o !== ''),
    });
  }
  return entries;
}

function normalise(path: string): string {
  if (!path.startsWith('/')) throw new TypeError(`mount lookups need an absolute path, got ${JSON.stringify(path)}`);
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  return '/' + parts.join('/');
}

/** True when `mountPoint` is `path` or one of its ancestors. */
function covers(mountPoint: string, path: string): boolean {
  return mountPoint === '/' || path === mountPoint || path.startsWith(mountPoint + '/');
}

function longestLast(candidates: readonly MountEntry[]): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const c of candidates) if (best === undefined || c.mountPoint.length >= best.mountPoint.length) best = c;
  return best;
}

function shortestLast(candidates: readonly MountEntry[]): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const c of candidates) if (best === undefined || c.mountPoint.length <= best.mountPoint.length) best = c;
  return best;
}

/**
 * The mount that holds `path` (absolute, already passed through realpath: symlinks are not
 * followed here). Walks the mount tree from the root the way path lookup does, one crossing at a
 * time: among a mount's children on the way to `path`, the one nearest the root is crossed first
 * (a mount over `/mnt` hides an older `/mnt/usb` of the same parent; a mount stacked on the same
 * mount point hides its parent's whole subtree), and among equals the last listed wins, because
 * mounts stack. With nested mounts of a consistent table this is the longest mount-point prefix.
 * When the table has no usable tree (hand-written fixtures), falls back to the longest prefix,
 * last entry winning.
 */
export function findMount(path: string, entries: readonly MountEntry[]): MountEntry | undefined {
  const p = normalise(path);
  const fallback = longestLast(entries.filter((e) => covers(e.mountPoint, p)));
  const ids = new Set(entries.map((e) => e.id));
  const children = new Map<number, MountEntry[]>();
  for (const e of entries) {
    if (e.parent === e.id || !ids.has(e.parent)) continue;
    const list = children.get(e.parent) ?? [];
    list.push(e);
    children.set(e.parent, list);
  }
  const roots = entries.filter((e) => (e.parent === e.id || !ids.has(e.parent)) && covers(e.mountPoint, p));
  let cur = longestLast(roots);
  if (cur === undefined) return fallback;
  for (let steps = 0; steps < entries.length; steps++) {
    const here: MountEntry = cur;
    const kids = (children.get(here.id) ?? []).filter((k) => covers(k.mountPoint, p));
    if (kids.length === 0) break;
    cur = shortestLast(kids);
    if (cur === undefined) return here;
  }
  return cur;
}

/** True when a mount sits exactly at `path` (absolute and resolved). Bind mounts count. */
export function isMountPoint(path: string, entries: readonly MountEntry[]): boolean {
  return findMount(path, entries)?.mountPoint === normalise(path);
}

/** True when the mount is writable: `rw` for both the mount and its superblock. */
export function isReadWrite(entry: MountEntry): boolean {
  return !entry.options.includes('ro') && !entry.superOptions.includes('ro');
}
