/**
 * Reading directories for a backup walk: scanDir gives one directory's entries with their lstat
 * fields in one native call (src/native/scandir.c). Prescan reads directories ahead, depth
 * first in the walk's own order, while the main thread would otherwise only wait (deriving the
 * repository key takes about half a second by design); the walk then takes each directory's
 * entries from it instead of reading them again. What a prescan saw is what the snapshot
 * records, as if the walk had reached that directory a moment earlier.
 */
import { getSystemErrorMap } from 'node:util';
import { loadPosix } from '../fs/posix.ts';
import type { StatFields } from './node-from-stat.ts';

export interface ScanEntry {
  readonly name: Buffer;
  readonly entry: Scanned | NodeJS.ErrnoException;
}

/** A directory entry as scanDir saw it (src/native/scandir.c): lstat fields and xattr list size. */
export interface Scanned {
  readonly st: StatFields;
  /** Bytes of the xattr name list; 0 means none to read. */
  readonly xattrBytes: number;
}

const SCAN_FIELDS = 16;

/**
 * Reads a directory without updating its atime (restic does the same with O_NOATIME): names
 * sorted by bytes, each with its lstat fields, or the error lstat gave for it.
 */
export function scanDir(abs: Buffer): ScanEntry[] {
  const [names, f] = loadPosix().scanDir(abs);
  return names.map((name, i) => {
    const o = i * SCAN_FIELDS;
    const errno = Number(f[o + 15]);
    if (errno !== 0) {
      const [code, text] = getSystemErrorMap().get(-errno) ?? [`E${errno}`, 'unknown error'];
      return { name, entry: Object.assign(new Error(`${code}: ${text}, lstat`), { code, errno: -errno, syscall: 'lstat' }) };
    }
    const ns = (s: number): bigint => f[o + s]! * 1_000_000_000n + f[o + s + 1]!;
    const st: StatFields = {
      mode: f[o]!,
      nlink: f[o + 1]!,
      uid: f[o + 2]!,
      gid: f[o + 3]!,
      rdev: BigInt.asUintN(64, f[o + 4]!),
      size: f[o + 5]!,
      ino: BigInt.asUintN(64, f[o + 6]!),
      dev: BigInt.asUintN(64, f[o + 7]!),
      atimeNs: ns(8),
      mtimeNs: ns(10),
      ctimeNs: ns(12),
    };
    return { name, entry: { st, xattrBytes: Number(f[o + 14]) } };
  });
}



/** S_IFMT / S_IFDIR as lstat reports them. */
const S_IFMT = 0o170000n;
const S_IFDIR = 0o040000n;

export class Prescan {
  readonly #dirs = new Map<string, ScanEntry[]>();
  readonly #stack: Buffer[];
  #entries = 0;
  #stopped = false;

  /** Starts reading below `roots` (absolute paths) in the background, at most maxEntries entries. */
  constructor(
    roots: readonly string[],
    private readonly excluded: (abs: string) => boolean,
    private readonly maxEntries = 100_000,
  ) {
    this.#stack = [...roots].sort().reverse().map((r) => Buffer.from(r));
    setImmediate(() => this.#step()).unref();
  }

  /** Stops reading ahead; what was read stays available to take(). */
  stop(): void {
    this.#stopped = true;
  }

  /** The entries read ahead for a directory, once (undefined if it was not reached). */
  take(abs: Buffer): ScanEntry[] | undefined {
    const key = abs.toString('latin1');
    const e = this.#dirs.get(key);
    if (e) this.#dirs.delete(key);
    return e;
  }

  /** One directory per turn of the event loop, so the key derivation's callbacks run on time. */
  #step(): void {
    const dir = this.#stack.pop();
    if (this.#stopped || dir === undefined || this.#entries >= this.maxEntries) return;
    let entries: ScanEntry[] | undefined;
    if (!this.excluded(dir.toString('utf8'))) {
      try {
        entries = scanDir(dir);
      } catch {
        entries = undefined; // the walk reads it again and reports what is wrong
      }
    }
    if (entries) {
      this.#dirs.set(dir.toString('latin1'), entries);
      this.#entries += entries.length;
      const sep = Buffer.from(dir.length === 1 ? '' : '/');
      for (let i = entries.length - 1; i >= 0; i--) {
        const e = entries[i]!;
        if (!(e.entry instanceof Error) && (e.entry.st.mode & S_IFMT) === S_IFDIR) this.#stack.push(Buffer.concat([dir, sep, e.name]));
      }
    }
    setImmediate(() => this.#step()).unref();
  }
}
