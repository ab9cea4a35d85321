/**
 * The index cache: the decoded index of a repository, kept in the caller's cache directory
 * (beside the tree memo) so that a backup need not decrypt, decompress and parse every index
 * file each time. It is a copy of MasterIndex.exportRows() together with the ids of the index
 * files it was decoded from.
 *
 * An index file's name is the SHA-256 of its content, so a cache that names only index files
 * still in the repository holds exactly what decoding them would give. The files added since
 * are decoded and added on top; if any file it names is gone (prune, repair), it is not used.
 * The file is authenticated with HMAC-SHA-256 under a key derived from the master key; a
 * damaged, truncated or foreign file is ignored. It is written with temp file and rename but
 * not fsynced: a torn write fails the MAC and only costs decoding the index again.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { endianness } from 'node:os';
import * as path from 'node:path';
import type { MasterKey } from '../crypto/crypto.ts';
import { idFromBytes, type IndexId, type PackId } from '../ids.ts';
import type { IndexRows } from './master-index.ts';

const MAGIC = Buffer.from('LBIDXCACHE1\n');
const MAX_FILE_BYTES = 4 * 2 ** 30;

/** The per-repository folder under a cache directory (the tree memo lives there too). */
export function repoCacheDir(cacheDir: string, repoId: string): string {
  return path.join(cacheDir, repoId.replace(/[^0-9a-f]/g, '').slice(0, 64) || 'repo');
}

/** A key for authenticating one kind of cache file, derived from the repository's master key. */
export function cacheKey(key: MasterKey, purpose: string): Buffer {
  return createHmac('sha256', Buffer.concat([key.encrypt, key.macK, key.macR])).update(`lifeboat ${purpose}`).digest();
}

export interface CachedIndex {
  readonly indexIds: readonly IndexId[];
  readonly rows: IndexRows;
}

/** The cached index, or undefined when there is none or it cannot be trusted. */
export async function readIndexCache(file: string, key: Buffer): Promise<CachedIndex | undefined> {
  if (endianness() !== 'LE') return undefined;
  let bytes: Buffer;
  try {
    if ((await fsp.stat(file)).size > MAX_FILE_BYTES) return undefined;
    bytes = await fsp.readFile(file);
  } catch {
    return undefined;
  }
  if (bytes.length < MAGIC.length + 32 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const body = bytes.subarray(0, bytes.length - 32);
  if (!timingSafeEqual(createHmac('sha256', key).update(body).digest(), bytes.subarray(bytes.length - 32))) return undefined;
  try {
    return parse(body);
  } catch {
    return undefined; // authentic but not ours to read (another version): decode the index instead
  }
}

export async function writeIndexCache(file: string, key: Buffer, c: CachedIndex): Promise<void> {
  if (endianness() !== 'LE') return;
  const r = c.rows;
  const u32 = (n: number): Buffer => {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(n);
    return b;
  };
  const bytesOf = (a: Uint8Array | Uint32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const indexNo = new Map(c.indexIds.map((id, i) => [id, i]));
  const parts: Buffer[] = [MAGIC, u32(c.indexIds.length), ...c.indexIds.map((id) => Buffer.from(id, 'hex'))];
  parts.push(u32(r.packIds.length), ...r.packIds.map((id) => Buffer.from(id, 'hex')));
  for (const list of r.packIndexIds) {
    parts.push(u32(list.length));
    for (const id of list) {
      const i = indexNo.get(id);
      if (i === undefined) throw new Error(`index cache: pack listed by unknown index ${id.slice(0, 8)}`);
      parts.push(u32(i));
    }
  }
  parts.push(u32(r.pack.length), bytesOf(r.ids), bytesOf(r.pack), bytesOf(r.offset), bytesOf(r.length), bytesOf(r.ulen), bytesOf(r.type));
  await writeCacheFile(file, key, Buffer.concat(parts));
}

/**
 * Writes a cache file: `body` and its HMAC, readable by the owner only, through a temp file and
 * rename so a reader never sees half of it. No fsync: a torn file fails its MAC and is ignored.
 */
export async function writeCacheFile(file: string, key: Buffer, body: Buffer): Promise<void> {
  const mac = createHmac('sha256', key).update(body).digest();
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fsp.writeFile(tmp, Buffer.concat([body, mac]), { mode: 0o600, flag: 'wx' });
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await removeStaleTemps(path.dirname(file));
}

/** Temp files a killed run left behind (an hour old: a live writer renames its own in moments). */
async function removeStaleTemps(dir: string): Promise<void> {
  const cutoff = Date.now() - 3600_000;
  for (const name of await fsp.readdir(dir).catch(() => [])) {
    if (!name.includes('.tmp-')) continue;
    const p = path.join(dir, name);
    const st = await fsp.lstat(p).catch(() => undefined);
    if (st?.isFile() && st.mtimeMs < cutoff) await fsp.rm(p, { force: true });
  }
}

function parse(body: Buffer): CachedIndex {
  let o = MAGIC.length;
  const need = (n: number): void => {
    if (o + n > body.length) throw new Error('truncated');
  };
  const u32 = (): number => {
    need(4);
    const v = body.readUInt32LE(o);
    o += 4;
    return v;
  };
  const id = (): string => {
    need(32);
    const s = idFromBytes(body.subarray(o, o + 32));
    o += 32;
    return s;
  };
  /** A copy (typed arrays need aligned memory). */
  const bytes = (n: number): ArrayBuffer => {
    need(n);
    const a = new Uint8Array(n);
    a.set(body.subarray(o, o + n));
    o += n;
    return a.buffer;
  };
  const nIndex = u32();
  const indexIds: IndexId[] = [];
  for (let i = 0; i < nIndex; i++) indexIds.push(id() as IndexId);
  const nPacks = u32();
  const packIds: PackId[] = [];
  for (let i = 0; i < nPacks; i++) packIds.push(id() as PackId);
  const packIndexIds: IndexId[][] = [];
  for (let i = 0; i < nPacks; i++) {
    const list: IndexId[] = [];
    for (let j = u32(); j > 0; j--) {
      const x = indexIds[u32()];
      if (x === undefined) throw new Error('bad index number');
      list.push(x);
    }
    packIndexIds.push(list);
  }
  const n = u32();
  const rows: IndexRows = {
    packIds,
    packIndexIds,
    ids: new Uint8Array(bytes(n * 32)),
    pack: new Uint32Array(bytes(n * 4)),
    offset: new Uint32Array(bytes(n * 4)),
    length: new Uint32Array(bytes(n * 4)),
    ulen: new Uint32Array(bytes(n * 4)),
    type: new Uint8Array(bytes(n)),
  };
  if (o !== body.length) throw new Error('trailing bytes');
  return { indexIds, rows };
}
