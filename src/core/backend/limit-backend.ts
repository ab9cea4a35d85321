/**
 * At most `connections` backend operations at once (restic's `-o <backend>.connections`): a
 * remote server, or a USB drive's single spindle, does worse when flooded. Calls beyond the
 * limit wait in order. A stream (saveStream) holds one connection from its start to its commit
 * or abort, as an upload does; a backup keeps a data and a tree pack open at once, so give a
 * writer at least 3 connections (restic's defaults are 5 to 7).
 */
import { readListing, type Backend, type FileInfo, type FileType, type SaveStream } from './backend.ts';

export class LimitBackend implements Backend {
  readonly location: string;
  readonly consistentListing: boolean | undefined;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly inner: Backend,
    private readonly connections: number,
  ) {
    if (!Number.isInteger(connections) || connections < 1) throw new RangeError(`connections must be a whole number >= 1, not ${connections}`);
    this.location = inner.location;
    this.consistentListing = inner.consistentListing;
    if (inner.localPath) this.localPath = (t, n) => inner.localPath!(t, n);
    if (inner.saveStream) this.saveStream = (t) => this.stream(t);
    if (inner.removeTempFiles) this.removeTempFiles = () => this.limited(() => inner.removeTempFiles!());
    if (inner.countTempFiles) this.countTempFiles = () => this.limited(() => inner.countTempFiles!());
  }

  localPath?: (type: FileType, name: string) => string;
  saveStream?: (type: Exclude<FileType, 'config'>) => Promise<SaveStream>;
  removeTempFiles?: () => Promise<{ files: number; bytes: number }>;
  countTempFiles?: () => Promise<{ files: number; bytes: number }>;

  /** Operations running now (for tests and progress). */
  get inUse(): number {
    return this.active;
  }

  private async acquire(): Promise<void> {
    if (this.active < this.connections) {
      this.active++;
      return;
    }
    // The releasing call hands its slot over directly, so `active` never drops in between.
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  private async limited<T>(run: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await run();
    } finally {
      this.release();
    }
  }

  private async stream(type: Exclude<FileType, 'config'>): Promise<SaveStream> {
    await this.acquire();
    let held = true;
    const done = (): void => {
      if (held) {
        held = false;
        this.release();
      }
    };
    let s: SaveStream;
    try {
      s = await this.inner.saveStream!(type);
    } catch (e) {
      done();
      throw e;
    }
    return {
      write: (parts) => s.write(parts),
      commit: async (name) => {
        try {
          await s.commit(name);
        } finally {
          done();
        }
      },
      abort: async () => {
        try {
          await s.abort();
        } finally {
          done();
        }
      },
    };
  }

  exists(): Promise<boolean> {
    return this.limited(() => this.inner.exists());
  }

  create(): Promise<void> {
    return this.limited(() => this.inner.create());
  }

  save(type: FileType, name: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    return this.limited(() => this.inner.save(type, name, data));
  }

  load(type: FileType, name: string, range?: { offset: number; length: number }): Promise<Buffer> {
    return this.limited(() => this.inner.load(type, name, range));
  }

  stat(type: FileType, name: string): Promise<FileInfo> {
    return this.limited(() => this.inner.stat(type, name));
  }

  remove(type: FileType, name: string): Promise<void> {
    return this.limited(() => this.inner.remove(type, name));
  }

  /** A listing holds one connection while it is read to the end. */
  async *list(type: FileType): AsyncIterable<FileInfo> {
    const all = await this.limited(() => readListing(this.inner, type));
    yield* all;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
