/**
 * The tree memo: what a backup remembers of each directory it stored, so that the next backup
 * can skip the directories nothing changed in. It lives outside the repository, in a cache
 * directory the caller names (restic keeps its cache the same way), one file per repository,
 * host and set of backup paths.
 *
 * For each directory it keeps a digest of what the directory scan saw and the tree id stored
 * for it then, with its subdirectories' tree ids. The digest covers everything the directory's
 * tree is made of that is not in its subdirectories: every included entry's name, lstat fields
 * (type, mode, owner ids, size, inode, device, link count, the three times) and xattr list size;
 * the owners' names; the time zone the times are written in; the exclude patterns; the path; and
 * a format version. If the next scan gives the same digest and the subdirectories come out with
 * the same tree ids, encoding the tree again would give the same bytes, so the walk takes the id
 * and neither loads the parent's tree nor encodes a new one. That is restic's own change rule
 * (a file whose size, times and inode are unchanged is not read again) applied a directory at
 * a time.
 *
 * Safety:
 * - Digests are HMAC-SHA-256 under a key derived from the repository's master key, so the file
 *   says nothing about names or sizes to whoever reads it, and a memo from another repository
 *   never matches.
 * - The whole file is authenticated the same way and written with temp file and rename after
 *   the snapshot is saved (no fsync: a torn file fails its MAC). A damaged, truncated or foreign
 *   file is ignored: the backup is only slower.
 * - It holds only while every index file it was written against is still in the repository.
 *   Prune or an index repair rewrites the index, and then the memo is dropped, so a tree whose
 *   data blobs may have left the index is never reused. A remembered tree is used only while the
 *   index has it.
 * - A directory with an entry that could not be read is never remembered, so its errors are
 *   reported on every run.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { MasterKey } from '../crypto/crypto.ts';
import { groupName, userName } from '../fs/metadata.ts';
import { idFromBytes, type IndexId, type TreeId } from '../ids.ts';
import { cacheKey, repoCacheDir, writeCacheFile } from '../repository/index-cache.ts';

export interface MemoEntry {
  readonly tree: TreeId;
  /** Tree ids of the included subdirectories, in name order. */
  readonly subdirs: readonly TreeId[];
}

/** One included directory entry as the digest sees it. */
export interface MemoInput {
  readonly name: Buffer;
  /** The scan's packed lstat fields (dir-scan.ts Scanned.raw) and owner ids. */
  readonly entry: { readonly raw: Uint8Array; readonly uid: number; readonly gid: number };
}

/**
 * SHA-256 of what a directory's memo digest covers, computed without the key (so the prescan
 * can do it while the key is derived): the path, each included entry's name and packed lstat
 * fields, and the owners' names.
 */
export function scanFingerprint(dir: Buffer, entries: readonly MemoInput[]): Buffer {
  const who = owners(entries);
  let size = 8 + dir.length + 4 + Buffer.byteLength(who);
  const raws = entries.map((e) => e.entry.raw);
  for (const [i, e] of entries.entries()) size += 4 + e.name.length + 4 + raws[i]!.length;
  const buf = Buffer.allocUnsafe(size);
  let o = buf.writeUInt32LE(dir.length, 0);
  o += dir.copy(buf, o);
  o = buf.writeUInt32LE(entries.length, o);
  for (const [i, e] of entries.entries()) {
    const raw = raws[i]!;
    o = buf.writeUInt32LE(e.name.length, o);
    o += e.name.copy(buf, o);
    o = buf.writeUInt32LE(raw.length, o);
    buf.set(raw, o);
    o += raw.length;
  }
  o = buf.writeUInt32LE(Buffer.byteLength(who), o);
  o += buf.write(who, o);
  return createHash('sha256').update(buf.subarray(0, o)).digest();
}

/** The owner names a directory's nodes record (a rename in /etc/passwd changes every tree). */
function owners(entries: readonly MemoInput[]): string {
  const uids = new Set<number>();
  const gids = new Set<number>();
  for (const e of entries) {
    uids.add(e.entry.uid);
    gids.add(e.entry.gid);
  }
  const u = [...uids].sort((a, b) => a - b).map((id) => `${id}=${userName(id) ?? ''}`);
  const g = [...gids].sort((a, b) => a - b).map((id) => `${id}=${groupName(id) ?? ''}`);
  return JSON.stringify([u, g]);
}

const MAGIC = Buffer.from('LBTREEMEMO1\n');
const VERSION = 'tree-memo v1';
/** Refuse absurd files before allocating for them. */
const MAX_FILE_BYTES = 1 << 30;

export class TreeMemo {
  readonly #entries: Map<string, MemoEntry>;
  readonly #next = new Map<string, MemoEntry>();
  readonly #hmacKey: Buffer;
  readonly #salt: Buffer;

  private constructor(
    private readonly file: string,
    hmacKey: Buffer,
    salt: string,
    entries: Map<string, MemoEntry>,
    /** Why a memo file present was not used, for diagnostics. */
    readonly dropped: string | undefined,
  ) {
    this.#hmacKey = hmacKey;
    this.#salt = Buffer.from(`${VERSION}\0${salt}\0`);
    this.#entries = entries;
  }

  /**
   * Opens the memo for one repository, host and path set under `dir` (created when saved).
   * `salt` names everything else a tree depends on (exclude patterns, time zone). The memo is
   * empty when there is no file, when the file is damaged, or when an index file it was written
   * against is gone from `indexIds`.
   */
  static async open(opts: { dir: string; key: MasterKey; repoId: string; host: string; paths: readonly string[]; salt: string; indexIds: readonly IndexId[] }): Promise<TreeMemo> {
    const hmacKey = cacheKey(opts.key, 'tree memo');
    const setName = createHmac('sha256', hmacKey).update(JSON.stringify([opts.host, [...opts.paths].sort()])).digest('hex').slice(0, 24);
    const file = path.join(repoCacheDir(opts.dir, opts.repoId), `trees-${setName}`);
    let bytes: Buffer | undefined;
    try {
      const st = await fsp.stat(file);
      if (st.size > MAX_FILE_BYTES) return new TreeMemo(file, hmacKey, opts.salt, new Map(), 'file too large');
      bytes = await fsp.readFile(file);
    } catch {
      return new TreeMemo(file, hmacKey, opts.salt, new Map(), undefined);
    }
    const parsed = parseMemo(bytes, hmacKey);
    if (typeof parsed === 'string') return new TreeMemo(file, hmacKey, opts.salt, new Map(), parsed);
    const have = new Set<string>(opts.indexIds);
    const gone = parsed.indexIds.find((id) => !have.has(id));
    if (gone) return new TreeMemo(file, hmacKey, opts.salt, new Map(), `index ${gone.slice(0, 8)} is gone`);
    return new TreeMemo(file, hmacKey, opts.salt, parsed.entries, undefined);
  }

  /** The memo's key for a directory: its scan fingerprint, keyed (see the module comment). */
  digest(fingerprint: Uint8Array): string {
    return createHmac('sha256', this.#hmacKey).update(this.#salt).update(fingerprint).digest().toString('latin1');
  }

  /** What the last backup stored for a digest. */
  get(digest: string): MemoEntry | undefined {
    return this.#entries.get(digest);
  }

  /** Remembers a directory for the next backup (only what this run records or confirms is kept). */
  keep(digest: string, entry: MemoEntry): void {
    this.#next.set(digest, entry);
  }

  get size(): number {
    return this.#next.size;
  }

  /**
   * Writes what this run kept, against the index files the repository has now (call after the
   * snapshot is saved): a temp file, then rename.
   */
  async save(indexIds: readonly IndexId[]): Promise<void> {
    const parts: Buffer[] = [MAGIC];
    const u32 = (n: number): Buffer => {
      const b = Buffer.allocUnsafe(4);
      b.writeUInt32LE(n);
      return b;
    };
    parts.push(u32(indexIds.length), ...indexIds.map((id) => Buffer.from(id, 'hex')));
    parts.push(u32(this.#next.size));
    for (const [d, e] of this.#next) {
      parts.push(Buffer.from(d, 'latin1'), Buffer.from(e.tree, 'hex'), u32(e.subdirs.length), ...e.subdirs.map((t) => Buffer.from(t, 'hex')));
    }
    await writeCacheFile(this.file, this.#hmacKey, Buffer.concat(parts));
  }
}

/** The memo file's index ids and entries, or why it cannot be used. */
function parseMemo(bytes: Buffer, hmacKey: Buffer): { indexIds: IndexId[]; entries: Map<string, MemoEntry> } | string {
  if (bytes.length < MAGIC.length + 8 + 32 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return 'not a tree memo';
  const body = bytes.subarray(0, bytes.length - 32);
  const mac = createHmac('sha256', hmacKey).update(body).digest();
  if (!timingSafeEqual(mac, bytes.subarray(bytes.length - 32))) return 'damaged, or written for another repository';
  let o = MAGIC.length;
  const need = (n: number): boolean => o + n <= body.length;
  const id = (): string => {
    const s = idFromBytes(body.subarray(o, o + 32));
    o += 32;
    return s;
  };
  if (!need(4)) return 'truncated';
  const nIndex = body.readUInt32LE(o);
  o += 4;
  if (!need(nIndex * 32 + 4)) return 'truncated';
  const indexIds: IndexId[] = [];
  for (let i = 0; i < nIndex; i++) indexIds.push(id() as IndexId);
  const nEntries = body.readUInt32LE(o);
  o += 4;
  const entries = new Map<string, MemoEntry>();
  for (let i = 0; i < nEntries; i++) {
    if (!need(68)) return 'truncated';
    const d = body.toString('latin1', o, o + 32);
    o += 32;
    const tree = id() as TreeId;
    const nSub = body.readUInt32LE(o);
    o += 4;
    if (!need(nSub * 32)) return 'truncated';
    const subdirs: TreeId[] = [];
    for (let j = 0; j < nSub; j++) subdirs.push(id() as TreeId);
    entries.set(d, { tree, subdirs });
  }
  if (o !== body.length) return 'trailing bytes';
  return { indexIds, entries };
}
