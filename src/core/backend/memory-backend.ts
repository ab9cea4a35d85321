/**
 * A backend in memory: the whole contract of backend.ts without storage, for fast tests of
 * everything above the seam (repository, archiver, restorer, checker, prune) and as the model a
 * remote backend is measured against. Files are kept under their layout paths (layout.ts), so
 * names are validated exactly as on disk; bytes are copied in and out, so no caller can change
 * a stored file through a buffer it still holds. Streams being written count as temp files
 * until they are committed or aborted, as a crashed writer's temp file would.
 */
import { randomBytes } from 'node:crypto';
import { LifeboatError, integrityError } from '../errors.ts';
import type { Backend, FileInfo, FileType, SaveStream } from './backend.ts';
import { TYPE_DIRS, layoutPath } from './layout.ts';

export class MemoryBackend implements Backend {
  readonly location: string;
  readonly consistentListing = true;
  private readonly files = new Map<string, Buffer>();
  private readonly temps = new Map<string, Buffer[]>();

  constructor(name = `memory:${randomBytes(4).toString('hex')}`) {
    this.location = name;
  }

  async exists(): Promise<boolean> {
    return this.files.has('config');
  }

  async create(): Promise<void> {
    // Nothing to lay out: directories exist only as prefixes of layout paths.
    if (this.files.has('config')) throw new LifeboatError('REPO_EXISTS', `Cannot create repository at ${this.location}: a repository already exists there`);
  }

  async save(type: FileType, name: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    const key = layoutPath(type, name);
    this.put(type, name, key, Buffer.concat(data instanceof Uint8Array ? [data] : [...data]));
  }

  private put(type: FileType, name: string, key: string, bytes: Buffer): void {
    const existing = this.files.get(key);
    if (existing) {
      // Content-addressed names: the same bytes again are a no-op, other bytes a refusal (as local).
      if (type !== 'config' && existing.equals(bytes)) return;
      throw new LifeboatError('REPO_EXISTS', type === 'config' ? `Cannot write config in ${this.location}: it already exists` : `Cannot write ${type} file ${name} in ${this.location}: a different file of that name exists`);
    }
    this.files.set(key, bytes);
  }

  async saveStream(type: Exclude<FileType, 'config'>): Promise<SaveStream> {
    const tmp = `${TYPE_DIRS[type]}/${randomBytes(12).toString('hex')}-tmp`;
    const parts: Buffer[] = [];
    this.temps.set(tmp, parts);
    let open = true;
    return {
      write: async (chunk) => {
        if (!open) throw new Error('SaveStream.write after commit or abort');
        for (const c of chunk) parts.push(Buffer.from(c));
      },
      commit: async (name) => {
        if (!open) throw new Error('SaveStream.commit after commit or abort');
        open = false;
        this.temps.delete(tmp);
        this.put(type, name, layoutPath(type, name), Buffer.concat(parts));
      },
      abort: async () => {
        open = false;
        this.temps.delete(tmp);
      },
    };
  }

  async countTempFiles(): Promise<{ files: number; bytes: number }> {
    let bytes = 0;
    for (const parts of this.temps.values()) for (const p of parts) bytes += p.length;
    return { files: this.temps.size, bytes };
  }

  async removeTempFiles(): Promise<{ files: number; bytes: number }> {
    const counted = await this.countTempFiles();
    this.temps.clear();
    return counted;
  }

  async load(type: FileType, name: string, range?: { offset: number; length: number }): Promise<Buffer> {
    const f = this.files.get(layoutPath(type, name));
    if (!f) throw new LifeboatError('NOT_FOUND', `Cannot read ${type} file ${name || 'config'} in ${this.location}: it does not exist`);
    if (!range) return Buffer.from(f);
    if (range.offset + range.length > f.length) {
      throw integrityError(`short read of ${type} file ${name}: wanted ${range.length} bytes at ${range.offset}, got ${Math.max(0, f.length - range.offset)}`);
    }
    return Buffer.from(f.subarray(range.offset, range.offset + range.length));
  }

  async stat(type: FileType, name: string): Promise<FileInfo> {
    const f = this.files.get(layoutPath(type, name));
    if (!f) throw new LifeboatError('NOT_FOUND', `Cannot stat ${type} file ${name || 'config'} in ${this.location}: not found`);
    return { name, size: f.length };
  }

  async remove(type: FileType, name: string): Promise<void> {
    this.files.delete(layoutPath(type, name));
  }

  async *list(type: FileType): AsyncIterable<FileInfo> {
    if (type === 'config') {
      const c = this.files.get('config');
      if (c) yield { name: '', size: c.length };
      return;
    }
    const prefix = `${TYPE_DIRS[type]}/`;
    const hits: FileInfo[] = [];
    for (const [key, bytes] of this.files) if (key.startsWith(prefix)) hits.push({ name: key.slice(key.lastIndexOf('/') + 1), size: bytes.length });
    yield* hits.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async close(): Promise<void> {
    /* nothing to release: the files stay for the next user of this object */
  }
}
