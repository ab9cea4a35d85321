/**
 * Reading directories for a backup walk: scanDir gives one directory's entries with their lstat
 * fields in one native call (src/native/scandir.c). Prescan reads directories ahead, depth
 * first in the walk's own order, while the main thread would otherwise only wait (deriving the
 * repository key takes about half a second by design); the walk then takes each directory's
 * listing from it instead of reading it again. A listing has the excludes applied and, for the
 * tree memo, a fingerprint of what the directory's tree is made of. What a prescan saw is what
 * the snapshot records, as if the walk had reached that directory a moment earlier.
 */
import { getSystemErrorMap } from 'node:util';
import { loadPosix } from '../fs/posix.ts';
import type { StatFields } from './node-from-stat.ts';
import { scanFingerprint, type MemoInput } from './tree-memo.ts';

export interface ScanEntry {
  readonly name: Buffer;
  readonly entry: Scanned | NodeJS.ErrnoException;
}

const SCAN_FIELDS = 16;
const S_IFMT_N = 0o170000;

/**
 * A directory entry as scanDir saw it (src/native/scandir.c). The lstat fields become BigInts
 * only when asked for: a walk that finds a directory unchanged needs just the type, the size
 * and the raw bytes.
 */
export class Scanned {
  #st: StatFields | undefined;

  constructor(
    private readonly f: BigInt64Array,
    private readonly o: number,
  ) {}

  /** st_mode as a number. */
  get mode(): number {
    return Number(this.f[this.o]!);
  }

  get isDir(): boolean {
    return (this.mode & S_IFMT_N) === 0o040000;
  }

  get isFile(): boolean {
    return (this.mode & S_IFMT_N) === 0o100000;
  }

  get uid(): number {
    return Number(this.f[this.o + 2]!);
  }

  get gid(): number {
    return Number(this.f[this.o + 3]!);
  }

  /** st_size as a number (files larger than 2^53 bytes do not exist here). */
  get size(): number {
    return Number(this.f[this.o + 5]!);
  }

  /** Bytes of the xattr name list; 0 means none to read. */
  get xattrBytes(): number {
    return Number(this.f[this.o + 14]!);
  }

  /** The entry's 15 lstat and xattr fields as scanDir packed them (little-endian int64s). */
  get raw(): Uint8Array {
    return new Uint8Array(this.f.buffer, this.f.byteOffset + this.o * 8, 15 * 8);
  }

  get st(): StatFields {
    if (this.#st) return this.#st;
    const f = this.f;
    const o = this.o;
    const ns = (s: number): bigint => f[o + s]! * 1_000_000_000n + f[o + s + 1]!;
    this.#st = {
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
    return this.#st;
  }
}

/** Scanned.raw's layout for an lstat result (the xattr list size left 0: a change to xattrs moves ctime). */
export function rawFromStat(st: StatFields): Uint8Array {
  const f = new BigInt64Array(15);
  const s = (ns: bigint): [bigint, bigint] => [ns / 1_000_000_000n, ns % 1_000_000_000n];
  [f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]] = [st.mode, st.nlink, st.uid, st.gid, st.rdev, st.size, st.ino, st.dev].map((v) => BigInt.asIntN(64, v)) as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  [f[8], f[9]] = s(st.atimeNs);
  [f[10], f[11]] = s(st.mtimeNs);
  [f[12], f[13]] = s(st.ctimeNs);
  return new Uint8Array(f.buffer);
}

/**
 * Reads a directory without updating its atime (restic does the same with O_NOATIME): names
 * sorted by bytes, each with its lstat fields, or the error lstat gave for it.
 */
export function scanDir(abs: Buffer): ScanEntry[] {
  const [names, ends, f] = loadPosix().scanDir(abs);
  const out: ScanEntry[] = new Array(ends.length);
  for (let i = 0; i < ends.length; i++) out[i] = entryAt(names.subarray(i === 0 ? 0 : ends[i - 1], ends[i]), f, i);
  return out;
}

function entryAt(name: Buffer, f: BigInt64Array, i: number): ScanEntry {
  const o = i * SCAN_FIELDS;
  const errno = Number(f[o + 15]);
  if (errno !== 0) {
    const [code, text] = getSystemErrorMap().get(-errno) ?? [`E${errno}`, 'unknown error'];
    return { name, entry: Object.assign(new Error(`${code}: ${text}, lstat`), { code, errno: -errno, syscall: 'lstat' }) };
  }
  return { name, entry: new Scanned(f, o) };
}

/** One directory as the backup walk uses it (listDir). */
export interface DirListing {
  /** The entries the excludes leave, in name order. */
  readonly included: readonly ScanEntry[];
  /** False if lstat failed for an included entry (the walk reports it; never remembered). */
  readonly readable: boolean;
  /** tree-memo.ts scanFingerprint of the included entries, when asked for and readable. */
  readonly fingerprint: Buffer | undefined;
}

const SLASH = Buffer.from('/');

/** `dir/name` (for `/`, just `/name`). */
export function childPath(dir: Buffer, name: Buffer): Buffer {
  return dir.length === 1 ? Buffer.concat([dir, name]) : Buffer.concat([dir, SLASH, name]);
}

/** Reads a directory (scanDir), applies the excludes, and fingerprints it for the tree memo. */
export function listDir(abs: Buffer, excluded: ((abs: string) => boolean) | undefined, fingerprint: boolean): DirListing {
  const entries = scanDir(abs);
  const included = excluded ? entries.filter((e) => !excluded(childPath(abs, e.name).toString('utf8'))) : entries;
  const readable = included.every((e) => e.entry instanceof Scanned);
  return { included, readable, fingerprint: fingerprint && readable ? scanFingerprint(abs, included as readonly MemoInput[]) : undefined };
}

/**
 * Counts a listing's files and bytes into `counted` and pushes its subdirectories on `stack`
 * (last first, so they pop in name order): the progress totals, as the walk will see them.
 */
export function tally(dir: Buffer, listing: DirListing, stack: Buffer[], counted: { files: number; bytes: number }): void {
  const { included } = listing;
  for (let i = included.length - 1; i >= 0; i--) {
    const e = included[i]!;
    if (!(e.entry instanceof Scanned)) continue;
    if (e.entry.isDir) stack.push(childPath(dir, e.name));
    else {
      counted.files++;
      if (e.entry.isFile) counted.bytes += e.entry.size;
    }
  }
}

export class Prescan {
  readonly #dirs = new Map<string, DirListing>();
  readonly #stack: Buffer[];
  readonly #counted = { files: 0, bytes: 0 };
  #entries = 0;
  #stopped = false;

  /**
   * Starts reading below `roots` (absolute paths) in the background, at most maxEntries entries.
   * Each directory is listed as the walk would list it (listDir), fingerprints included when
   * `fingerprints`. It counts the files and bytes it sees (excluded entries left out, as the
   * walk leaves them out), so the progress totals need not read those directories again.
   */
  constructor(
    roots: readonly string[],
    private readonly excluded: ((abs: string) => boolean) | undefined,
    private readonly fingerprints: boolean,
    private readonly maxEntries = 100_000,
  ) {
    this.#stack = [...roots].sort().reverse().map((r) => Buffer.from(r));
    // A referenced immediate: an unreferenced one would only run when other I/O woke the loop,
    // and the key derivation wakes it rarely.
    setImmediate(() => this.#step());
  }

  /** Stops reading ahead; what was read stays available to take(). */
  stop(): void {
    this.#stopped = true;
  }

  /** A directory read ahead, once (undefined if it was not reached). */
  take(abs: Buffer): DirListing | undefined {
    const key = abs.toString('latin1');
    const e = this.#dirs.get(key);
    if (e) this.#dirs.delete(key);
    return e;
  }

  /**
   * After stop(): the directories below the roots not read yet, and the files and bytes counted
   * in those that were. A root that is not a directory is in neither.
   */
  leftover(): { readonly dirs: Buffer[]; readonly files: number; readonly bytes: number } {
    return { dirs: [...this.#stack], ...this.#counted };
  }

  /** One directory per turn of the event loop, so the key derivation's callbacks run on time. */
  #step(): void {
    if (this.#stopped || this.#entries >= this.maxEntries) return;
    const dir = this.#stack.pop();
    if (dir === undefined) return;
    let listing: DirListing | undefined;
    if (!this.excluded?.(dir.toString('utf8'))) {
      try {
        listing = listDir(dir, this.excluded, this.fingerprints);
      } catch {
        listing = undefined; // the walk reads it again and reports what is wrong
      }
    }
    if (listing) {
      this.#dirs.set(dir.toString('latin1'), listing);
      this.#entries += listing.included.length;
      tally(dir, listing, this.#stack, this.#counted);
    }
    setImmediate(() => this.#step());
  }
}
