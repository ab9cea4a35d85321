/**
 * A restic v2 repository opened with its master key (design.rst "Repository Format").
 * Reading: config, keys, index (all files, loaded into MasterIndex), snapshots, blobs.
 * Writing obeys restic's ordering so a crash at any instant leaves a valid repository:
 * packs first, then the index files naming them, then the snapshot naming trees in them.
 * Blob sealing runs in a WorkerPool; packs are written as soon as they are full.
 */
import { LifeboatError, integrityError } from '../errors.ts';
import * as path from 'node:path';
import { hashId, parseId, type Id, type IndexId, type SnapshotId } from '../ids.ts';
import type { Backend, FileType } from '../backend/index.ts';
import { createKeyFile, openKeyFile, parseKeyFile, type KdfParams } from '../crypto/key-file.ts';
import { randomKey, type MasterKey } from '../crypto/crypto.ts';
import { decodeRepoConfig, encodeRepoConfig, newRepoConfig, type RepoConfig } from './repo-config.ts';
import { decodeUnpacked, encodeUnpacked } from '../format/unpacked.ts';
import { decodeIndex, encodeIndex } from '../format/index-file.ts';
import { MasterIndex } from './master-index.ts';
import { cacheKey, readIndexCache, repoCacheDir, writeIndexCache } from './index-cache.ts';
import { decodeSnapshot, encodeSnapshot, type Snapshot } from '../format/snapshot.ts';
import { initZstd } from '../compress/zstd.ts';
import { openBlobBytes } from '../format/blob-seal.ts';
import { RepoLock, type LockInfo, type LockStore } from './lock.ts';
import { BlobSaver } from './blob-saver.ts';
import type { BlobType } from '../format/pack.ts';
import { open as openSealed } from '../crypto/crypto.ts';

const MAX_KEYS = 20;

export interface OpenOptions {
  readonly password: string;
}

export class Repository implements LockStore {
  readonly index = new MasterIndex();
  private indexLoaded = false;
  private indexLoading: Promise<void> | undefined;
  /** The index cache (useIndexCache), and which index files the loaded index holds. */
  private indexCache: { readonly file: string; readonly key: Buffer; files?: IndexId[]; stale: boolean; uncachedRows: number } | undefined;
  private saver: BlobSaver | undefined;

  private constructor(
    readonly backend: Backend,
    readonly key: MasterKey,
    readonly config: RepoConfig,
    readonly keyId: Id,
  ) {}

  get location(): string {
    return this.backend.location;
  }

  static async init(backend: Backend, password: string, opts: { version?: 1 | 2; polynomial?: bigint; kdf?: KdfParams } = {}): Promise<Repository> {
    await initZstd();
    if (await backend.exists()) {
      throw new LifeboatError('REPO_EXISTS', `Cannot create repository at ${backend.location}: a repository already exists there`);
    }
    await backend.create();
    const key = randomKey();
    const config = newRepoConfig(opts);
    const kf = await createKeyFile(key, password, opts.kdf);
    const keyId = hashId(kf);
    await backend.save('key', keyId, kf);
    const { seal } = await import('../crypto/crypto.ts');
    await backend.save('config', '', seal(key, encodeRepoConfig(config)));
    return new Repository(backend, key, config, keyId);
  }

  static async open(backend: Backend, opts: OpenOptions): Promise<Repository> {
    await initZstd();
    if (!(await backend.exists())) {
      throw new LifeboatError('NO_REPOSITORY', `Cannot open repository ${backend.location}: no config file found`, {
        hint: 'check the path, or create a repository with `lifeboat repo init`',
      });
    }
    const keys: Id[] = [];
    for await (const f of backend.list('key')) keys.push(f.name as Id);
    let tried = 0;
    const damaged: string[] = [];
    for (const id of keys) {
      if (tried++ >= MAX_KEYS) break;
      let kf;
      try {
        const bytes = await backend.load('key', id);
        if (hashId(bytes) !== id) throw new Error('content does not match its name');
        kf = parseKeyFile(bytes);
      } catch (e) {
        damaged.push(`${id.slice(0, 8)} (${(e as Error).message})`);
        continue; // a damaged key file must not hide a good one
      }
      const key = await openKeyFile(kf, opts.password);
      if (!key) continue;
      let config: RepoConfig;
      try {
        config = decodeRepoConfig(openSealed(key, await backend.load('config', '')));
      } catch (e) {
        throw new LifeboatError('INTEGRITY', `Cannot open repository ${backend.location}: the config file is damaged`, { cause: e });
      }
      return new Repository(backend, key, config, id);
    }
    if (damaged.length > 0 && damaged.length === Math.min(keys.length, MAX_KEYS)) {
      throw new LifeboatError('INTEGRITY', `Cannot open repository ${backend.location}: every key file is damaged: ${damaged.join(', ')}`, {
        hint: 'the data is encrypted with the master key these files wrap: copy keys/ from another copy of this repository, if any',
      });
    }
    throw new LifeboatError('WRONG_PASSWORD', `Cannot open repository ${backend.location}: wrong password or no key found${damaged.length ? `; damaged key files: ${damaged.join(', ')}` : ''}`, {
      hint: 'check --password-file, LIFEBOAT_PASSWORD or LIFEBOAT_PASSWORD_FILE; a key file damaged inside its sealed part cannot be told from a wrong password',
    });
  }

  async addKey(password: string, kdf?: KdfParams): Promise<Id> {
    const kf = await createKeyFile(this.key, password, kdf);
    const id = hashId(kf);
    await this.backend.save('key', id, kf);
    return id;
  }

  // ---- unpacked files (index, snapshot, lock) ----

  async saveUnpacked(type: FileType, json: Buffer): Promise<Id> {
    const bytes = encodeUnpacked(this.key, json, this.config.version);
    const id = hashId(bytes);
    await this.backend.save(type, id, bytes);
    return id;
  }

  async loadUnpacked(type: FileType, id: Id): Promise<Buffer> {
    const bytes = await this.backend.load(type, id);
    if (hashId(bytes) !== id) throw integrityError(`${type} file ${id.slice(0, 8)} does not match its name`);
    return decodeUnpacked(this.key, bytes);
  }

  async listIds(type: FileType): Promise<Id[]> {
    const out: Id[] = [];
    for await (const f of this.backend.list(type)) out.push(f.name as Id);
    return out;
  }

  // ---- index ----

  async loadIndex(opts: { onError?: (id: Id, e: unknown) => void; onFile?: (id: Id, idx: ReturnType<typeof decodeIndex>) => void } = {}): Promise<void> {
    const ids = await this.listIds('index');
    // A command that looks at each index file (check) never takes the cache's word for them.
    const cache = opts.onError || opts.onFile ? undefined : this.indexCache;
    const cached = cache ? await readIndexCache(cache.file, cache.key) : undefined;
    const present = new Set<string>(ids);
    const usable = cached !== undefined && cached.indexIds.every((id) => present.has(id));
    if (usable) this.index.importRows(cached.rows);
    const loaded: IndexId[] = usable ? [...cached.indexIds] : [];
    const skip = new Set<string>(loaded);
    for (const id of ids) {
      if (skip.has(id)) continue;
      try {
        const idx = decodeIndex(await this.loadUnpacked('index', id));
        for (const p of idx.packs) this.index.add(p.id, p.blobs, id);
        loaded.push(id as IndexId);
        opts.onFile?.(id, idx);
      } catch (e) {
        if (!opts.onError) {
          throw new LifeboatError('INTEGRITY', `Cannot load index ${id.slice(0, 8)} of ${this.location}: ${(e as Error).message}`, {
            cause: e,
            hint: 'run `lifeboat repo check`; `restic repair index` (or rebuild-index) rebuilds it from the packs',
          });
        }
        opts.onError(id, e);
      }
    }
    this.indexLoaded = true;
    if (cache) {
      cache.files = loaded;
      cache.stale = !usable;
      cache.uncachedRows = this.index.counts.locations - (usable ? cached.rows.pack.length : 0);
    }
  }

  /**
   * Keeps a decoded copy of the index in this cache directory (index-cache.ts): loadIndex reads
   * it, saveIndexCache writes it. Only for commands that add to the index, never remove from it.
   */
  useIndexCache(cacheDir: string | undefined): void {
    const file = cacheDir === undefined ? undefined : path.join(repoCacheDir(cacheDir, this.config.id), 'index');
    if (file === this.indexCache?.file) return; // the same cache again (one handle, several backups)
    this.indexCache = file === undefined ? undefined : { file, key: cacheKey(this.key, 'index cache'), stale: true, uncachedRows: 0 };
  }

  /**
   * Writes the index cache if the index was loaded and the cache is missing, stale, or more than
   * a little (1000 rows or 5 %) behind what is loaded: decoding a few new index files on top of it
   * costs less than rewriting it after every backup.
   */
  async saveIndexCache(): Promise<void> {
    const c = this.indexCache;
    if (!c?.files || !this.indexLoaded) return;
    if (!c.stale && c.uncachedRows < Math.max(1000, this.index.counts.locations / 20)) return;
    await writeIndexCache(c.file, c.key, { indexIds: c.files, rows: this.index.exportRows() });
    c.stale = false;
    c.uncachedRows = 0;
  }

  /** Loads the index unless it is loaded or loading (callers that may never need it ask late). */
  ensureIndex(): Promise<void> {
    if (this.indexLoaded) return Promise.resolve();
    this.indexLoading ??= this.loadIndex();
    return this.indexLoading;
  }

  private requireIndex(): void {
    if (!this.indexLoaded) throw new Error('index not loaded');
  }

  // ---- blobs ----

  async loadBlob(type: BlobType, id: Id): Promise<Buffer> {
    this.requireIndex();
    const loc = this.index.lookup(type, id);
    if (!loc) throw new LifeboatError('NOT_FOUND', `${type} blob ${id.slice(0, 8)} is not in the index of ${this.location}`);
    const sealed = await this.backend.load('data', loc.packId, { offset: loc.offset, length: loc.length });
    try {
      return openBlobBytes(this.key, sealed, id, loc.uncompressedLength);
    } catch (e) {
      if (e instanceof LifeboatError) throw e;
      throw integrityError(`${type} blob ${id.slice(0, 8)} in pack ${loc.packId.slice(0, 8)} is damaged: ${(e as Error).message}`, e);
    }
  }

  /** The blob writer; created on first use. Call flush() before saving a snapshot. */
  blobSaver(): BlobSaver {
    this.requireIndex();
    this.saver ??= new BlobSaver(this);
    return this.saver;
  }

  /** Writes all pending packs, then the index files that name them. */
  async flush(): Promise<void> {
    if (this.saver) await this.saver.flush();
  }

  async saveIndexFile(packs: Parameters<typeof encodeIndex>[0]['packs'], supersedes: Id[] = []): Promise<Id> {
    const id = await this.saveUnpacked('index', encodeIndex({ packs, supersedes }));
    const c = this.indexCache;
    if (c?.files) {
      // The loaded index holds these packs already (the blob saver added them as written).
      for (const p of packs) this.index.add(p.id, [], id as IndexId);
      c.files.push(id as IndexId);
      c.uncachedRows += packs.reduce((n, p) => n + p.blobs.length, 0);
    }
    return id;
  }

  // ---- snapshots ----

  async saveSnapshot(sn: Snapshot): Promise<SnapshotId> {
    await this.flush();
    return (await this.saveUnpacked('snapshot', encodeSnapshot(sn))) as SnapshotId;
  }

  async loadSnapshot(id: Id): Promise<Snapshot> {
    return decodeSnapshot(await this.loadUnpacked('snapshot', id));
  }

  async listSnapshots(opts: { onError?: (id: Id, e: unknown) => void } = {}): Promise<{ id: SnapshotId; snapshot: Snapshot }[]> {
    const out: { id: SnapshotId; snapshot: Snapshot }[] = [];
    for (const id of await this.listIds('snapshot')) {
      try {
        out.push({ id: id as SnapshotId, snapshot: await this.loadSnapshot(id) });
      } catch (e) {
        if (!opts.onError) throw e;
        opts.onError(id, e);
      }
    }
    out.sort((a, b) => snapshotTimeMs(a.snapshot) - snapshotTimeMs(b.snapshot));
    return out;
  }

  /** Resolves `latest`, a full id or a unique id prefix. */
  async findSnapshot(ref: string, filter: { host?: string; paths?: string[] } = {}): Promise<{ id: SnapshotId; snapshot: Snapshot }> {
    if (ref === 'latest') {
      // A damaged snapshot file must not hide the good ones (restic warns and goes on).
      const all = (await this.listSnapshots({ onError: () => {} })).filter((s) => matchesFilter(s.snapshot, filter));
      const last = all[all.length - 1];
      if (!last) throw new LifeboatError('NOT_FOUND', `No snapshot found in ${this.location}`);
      return last;
    }
    if (!/^[0-9a-fA-F]{1,64}$/.test(ref)) throw new LifeboatError('USAGE', `Invalid snapshot id ${JSON.stringify(ref)}`);
    const lower = ref.toLowerCase();
    const hits = (await this.listIds('snapshot')).filter((id) => id.startsWith(lower));
    if (hits.length === 0) throw new LifeboatError('NOT_FOUND', `No snapshot matching ${ref} in ${this.location}`);
    if (hits.length > 1) throw new LifeboatError('AMBIGUOUS', `Snapshot prefix ${ref} is ambiguous (${hits.length} matches)`, { hint: 'give more characters of the id' });
    const id = parseId(hits[0]) as SnapshotId;
    return { id, snapshot: await this.loadSnapshot(id) };
  }

  // ---- locks (LockStore) ----

  async listLocks(): Promise<Id[]> {
    return this.listIds('lock');
  }
  async loadLock(id: Id): Promise<LockInfo | undefined> {
    try {
      return JSON.parse((await this.loadUnpacked('lock', id)).toString('utf8')) as LockInfo;
    } catch {
      return undefined;
    }
  }
  async saveLock(json: Buffer): Promise<Id> {
    return this.saveUnpacked('lock', json);
  }
  async removeLock(id: Id): Promise<void> {
    await this.backend.remove('lock', id);
  }
  lock(exclusive: boolean, retryMs = 0): Promise<RepoLock> {
    // restic waits 200 ms before looking for other locks, for stores whose listings lag;
    // where a saved file is listed at once, a competitor that saved first is seen without it.
    return RepoLock.acquire(this, { exclusive, where: this.location, retryMs, ...(this.backend.consistentListing ? { settleMs: 0 } : {}) });
  }

  async close(): Promise<void> {
    if (this.saver) await this.saver.close();
    await this.backend.close();
  }
}

export function snapshotTimeMs(s: Snapshot): number {
  const t = Date.parse(s.time);
  return Number.isFinite(t) ? t : 0;
}

function matchesFilter(s: Snapshot, f: { host?: string; paths?: string[] }): boolean {
  if (f.host !== undefined && s.hostname !== f.host) return false;
  if (f.paths && [...f.paths].sort().join('\0') !== [...s.paths].sort().join('\0')) return false;
  return true;
}
