/**
 * Local directory backend with restic's default layout (restic-format.md §1):
 * config, keys/, data/xx/, index/, snapshots/, locks/. Writes go to a `-tmp-` file (beside the
 * final name, or for a stream in a data/xx directory chosen at random), are fsynced, renamed
 * into place and the directory fsynced, so a crash at any instant leaves either the whole file
 * or only a temp file that listing ignores.
 * Finished files are made read-only (0400), directories 0700, as restic does.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { LifeboatError, fromSystemError, integrityError } from '../errors.ts';
import { isId } from '../ids.ts';
import type { Backend, FileInfo, FileType, SaveStream } from './backend.ts';
import { DATA_SUBDIRS, TYPE_DIRS as DIRS, layoutPath } from './layout.ts';

export class LocalBackend implements Backend {
  readonly location: string;
  /** save() renames the file into place before it returns, so readdir shows it from then on. */
  readonly consistentListing = true;
  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.location = this.root;
  }

  localPath(type: FileType, name: string): string {
    return this.pathOf(type, name);
  }

  private pathOf(type: FileType, name: string): string {
    return path.join(this.root, layoutPath(type, name));
  }

  async exists(): Promise<boolean> {
    try {
      await fsp.access(path.join(this.root, 'config'));
      return true;
    } catch {
      return false;
    }
  }

  async create(): Promise<void> {
    if (await this.exists()) {
      throw new LifeboatError('REPO_EXISTS', `Cannot create repository at ${this.root}: a repository already exists there`);
    }
    try {
      // The repository directory itself may be created (it is inside the target the operator
      // named); its parent must already exist, so a typo does not grow a tree somewhere else.
      await fsp.mkdir(this.root, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
      for (const d of Object.values(DIRS)) await fsp.mkdir(path.join(this.root, d), { mode: 0o700 }).catch(ignoreExists);
      for (const sub of DATA_SUBDIRS) await fsp.mkdir(path.join(this.root, 'data', sub), { mode: 0o700 }).catch(ignoreExists);
      await fsyncDir(path.join(this.root, 'data'));
      await fsyncDir(this.root);
    } catch (e) {
      throw fromSystemError(e, `create repository at ${this.root}`);
    }
  }

  async save(type: FileType, name: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    const final = this.pathOf(type, name);
    const tmp = await this.openTemp(type, `${final}-tmp-${randomBytes(8).toString('hex')}`, name);
    try {
      await tmp.write(data instanceof Uint8Array ? [data] : data);
    } catch (e) {
      await tmp.abort();
      throw e;
    }
    await tmp.commit(name);
  }

  /**
   * The temp file lives in a data/xx directory chosen at random (its final directory is known
   * only from the name), and moves there at commit(); its `-tmp-` name is never listed.
   */
  saveStream(type: Exclude<FileType, 'config'>): Promise<SaveStream> {
    const r = randomBytes(20).toString('hex');
    const dir = type === 'data' ? path.join(this.root, 'data', r.slice(0, 2)) : path.join(this.root, DIRS[type]);
    return this.openTemp(type, path.join(dir, `${r.slice(0, 24)}-tmp-${r.slice(24)}`), undefined);
  }

  /**
   * Opens `tmp` (O_EXCL, 0600) for a file of `type`. commit() fsyncs it, makes it read-only,
   * renames it to its final place and fsyncs that directory; if the final name exists it must
   * hold the very same bytes (content-addressed), else REPO_EXISTS. `label` names the file in
   * errors before commit() knows its name.
   */
  private async openTemp(type: FileType, tmp: string, label: string | undefined): Promise<SaveStream> {
    const what = (name: string | undefined): string => `${type} file ${name === undefined ? '(new)' : name || 'config'} in ${this.root}`;
    let fh: fsp.FileHandle | undefined;
    try {
      if (type === 'data') await fsp.mkdir(path.dirname(tmp), { mode: 0o700 }).catch(ignoreExists);
      fh = await fsp.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
    } catch (e) {
      throw fromSystemError(e, `write ${what(label)}`);
    }
    let open: fsp.FileHandle | undefined = fh;
    const abort = async (): Promise<void> => {
      const h = open;
      open = undefined;
      await h?.close().catch(() => {});
      await fsp.unlink(tmp).catch(() => {});
    };
    return {
      write: async (parts) => {
        if (!open) throw new Error('SaveStream.write after commit or abort');
        try {
          await open.writev(parts as Uint8Array[]);
        } catch (e) {
          throw fromSystemError(e, `write ${what(label)}`);
        }
      },
      abort,
      commit: async (name) => {
        if (!open) throw new Error('SaveStream.commit after commit or abort');
        const final = this.pathOf(type, name);
        try {
          await open.sync();
          const h = open;
          open = undefined;
          await h.close();
          if (type !== 'config') {
            // Content-addressed: an existing file of that name should hold these very bytes. If it
            // does, saving is a no-op; if not, refuse rather than silently keep or clobber it.
            let existing: Buffer | undefined;
            try {
              existing = await fsp.readFile(final);
            } catch {
              /* not there yet */
            }
            if (existing) {
              const same = existing.equals(await fsp.readFile(tmp));
              await fsp.unlink(tmp);
              if (same) return;
              throw new LifeboatError('REPO_EXISTS', `Cannot write ${type} file ${name} in ${this.root}: a different file of that name exists`, {
                hint: 'run `lifeboat repo check`; the existing file may be damaged',
              });
            }
          } else if (await this.exists()) {
            throw new LifeboatError('REPO_EXISTS', `Cannot write config in ${this.root}: it already exists`);
          }
          await fsp.chmod(tmp, 0o400);
          if (type === 'data') await fsp.mkdir(path.dirname(final), { mode: 0o700 }).catch(ignoreExists);
          await fsp.rename(tmp, final);
          await fsyncDir(path.dirname(final));
        } catch (e) {
          await abort();
          throw fromSystemError(e, `write ${what(name)}`);
        }
      },
    };
  }

  /**
   * Open handles of recently read packs: restore, check and incremental backups read many
   * blobs from few packs, and an open/close per blob dominated. Packs are immutable; remove()
   * and close() drop their handles.
   */
  private readonly handles = new Map<string, Promise<fsp.FileHandle>>();

  private packHandle(p: string): Promise<fsp.FileHandle> {
    let h = this.handles.get(p);
    if (h) {
      this.handles.delete(p);
      this.handles.set(p, h); // most recently used last
      return h;
    }
    h = fsp.open(p, 'r');
    h.catch(() => this.handles.delete(p));
    this.handles.set(p, h);
    while (this.handles.size > 64) {
      const [oldest, oh] = this.handles.entries().next().value as [string, Promise<fsp.FileHandle>];
      this.handles.delete(oldest);
      void oh.then((x) => x.close()).catch(() => {});
    }
    return h;
  }

  private async dropHandle(p: string): Promise<void> {
    const h = this.handles.get(p);
    if (!h) return;
    this.handles.delete(p);
    await h.then((x) => x.close()).catch(() => {});
  }

  async load(type: FileType, name: string, range?: { offset: number; length: number }): Promise<Buffer> {
    const p = this.pathOf(type, name);
    try {
      if (!range) return await fsp.readFile(p);
      if (type === 'data') {
        try {
          return await readRange(await this.packHandle(p), range, type, name);
        } catch (e) {
          // An evicted (closed) handle, or anything odd with a cached one: read afresh below.
          if (e instanceof LifeboatError || (e as NodeJS.ErrnoException).code === 'ENOENT') throw e;
          await this.dropHandle(p);
        }
      }
      const fh = await fsp.open(p, 'r');
      try {
        return await readRange(fh, range, type, name);
      } finally {
        await fh.close();
      }
    } catch (e) {
      if (e instanceof LifeboatError) throw e;
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new LifeboatError('NOT_FOUND', `Cannot read ${type} file ${name || 'config'} in ${this.root}: it does not exist`, { cause: e });
      }
      throw fromSystemError(e, `read ${type} file ${name || 'config'} in ${this.root}`);
    }
  }

  async stat(type: FileType, name: string): Promise<FileInfo> {
    try {
      const st = await fsp.stat(this.pathOf(type, name));
      return { name, size: st.size };
    } catch (e) {
      throw fromSystemError(e, `stat ${type} file ${name || 'config'} in ${this.root}`);
    }
  }

  async remove(type: FileType, name: string): Promise<void> {
    const p = this.pathOf(type, name);
    if (type === 'data') await this.dropHandle(p);
    try {
      await fsp.chmod(p, 0o600).catch(() => {});
      await fsp.unlink(p);
      await fsyncDir(path.dirname(p));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fromSystemError(e, `remove ${type} file ${name} in ${this.root}`);
    }
  }

  async *list(type: FileType): AsyncIterable<FileInfo> {
    if (type === 'config') {
      if (await this.exists()) yield await this.stat('config', '');
      return;
    }
    const base = path.join(this.root, DIRS[type]);
    const dirs = type === 'data' ? (await readdirSafe(base)).map((d) => path.join(base, d)) : [base];
    for (const d of dirs) {
      for (const name of await readdirSafe(d)) {
        if (!isId(name)) continue;
        try {
          const st = await fsp.stat(path.join(d, name));
          if (st.isFile()) yield { name, size: st.size };
        } catch {
          /* removed while listing */
        }
      }
    }
  }

  removeTempFiles(): Promise<{ files: number; bytes: number }> {
    return this.tempFiles(true);
  }

  countTempFiles(): Promise<{ files: number; bytes: number }> {
    return this.tempFiles(false);
  }

  private async tempFiles(remove: boolean): Promise<{ files: number; bytes: number }> {
    const dirs = [this.root, ...Object.values(DIRS).filter((d) => d !== 'data').map((d) => path.join(this.root, d))];
    const data = path.join(this.root, 'data');
    for (const d of await readdirSafe(data)) if (/^[0-9a-f]{2}$/.test(d)) dirs.push(path.join(data, d));
    let files = 0;
    let bytes = 0;
    for (const d of dirs) {
      for (const name of await readdirSafe(d)) {
        // Ours are <name>-tmp-<hex>: never a committed file, which is always named by an id.
        if (!name.includes('-tmp-')) continue;
        const p = path.join(d, name);
        try {
          const st = await fsp.lstat(p);
          if (!st.isFile()) continue;
          if (remove) await fsp.unlink(p);
          files++;
          bytes += st.size;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(e, `remove temp file ${p}`);
        }
      }
    }
    return { files, bytes };
  }

  async close(): Promise<void> {
    for (const p of [...this.handles.keys()]) await this.dropHandle(p);
  }
}

async function readRange(fh: fsp.FileHandle, range: { offset: number; length: number }, type: FileType, name: string): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(range.length);
  let got = 0;
  while (got < range.length) {
    const { bytesRead } = await fh.read(buf, got, range.length - got, range.offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  if (got !== range.length) {
    throw integrityError(`short read of ${type} file ${name}: wanted ${range.length} bytes at ${range.offset}, got ${got}`);
  }
  return buf;
}

function ignoreExists(e: NodeJS.ErrnoException): void {
  if (e.code !== 'EEXIST') throw e;
}

async function readdirSafe(d: string): Promise<string[]> {
  try {
    return (await fsp.readdir(d)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw fromSystemError(e, `list ${d}`);
  }
}

async function fsyncDir(d: string): Promise<void> {
  const fh = await fsp.open(d, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
