/**
 * Retries a backend's transient failures with exponential backoff, as restic wraps every
 * backend (internal/backend/retry). Transient means a retry may help: a BACKEND error marked
 * transient, or a system error of a network or a busy server (ETIMEDOUT, ECONNRESET, ...).
 * Nothing else is retried: a missing file, damaged bytes, an existing name, a full disk or a
 * wrong name are answers, not accidents, and trying again would only hide them.
 *
 * Only whole operations are retried. save() may run twice; that is safe because a second save
 * of identical bytes under a content-addressed name is a no-op (backend.ts contract). A stream
 * (saveStream) is passed through unretried: its parts are gone once written.
 */
import { LifeboatError } from '../errors.ts';
import { readListing, type Backend, type FileInfo, type FileType, type SaveStream } from './backend.ts';

const TRANSIENT_ERRNO = new Set(['ETIMEDOUT', 'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN', 'EBUSY']);

export function isTransient(e: unknown): boolean {
  if (e instanceof LifeboatError) return e.code === 'BACKEND' && e.transient;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && TRANSIENT_ERRNO.has(code);
}

export interface RetryOptions {
  /** Tries in all, the first included (default 5). */
  readonly attempts?: number;
  /** Wait before the second try; doubled each time up to maxDelayMs (defaults 500 ms, 30 s). */
  readonly firstDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Injected for tests; resolves after `ms`. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Told about each retry, e.g. to print "retrying load of data 1a2b... in 2 s". */
  readonly onRetry?: (e: { readonly operation: string; readonly attempt: number; readonly delayMs: number; readonly error: unknown }) => void;
}

export class RetryBackend implements Backend {
  readonly location: string;
  readonly consistentListing: boolean | undefined;
  private readonly attempts: number;
  private readonly first: number;
  private readonly max: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly inner: Backend,
    private readonly opts: RetryOptions = {},
  ) {
    this.location = inner.location;
    this.consistentListing = inner.consistentListing;
    this.attempts = Math.max(1, opts.attempts ?? 5);
    this.first = opts.firstDelayMs ?? 500;
    this.max = opts.maxDelayMs ?? 30_000;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    if (inner.localPath) this.localPath = (t, n) => inner.localPath!(t, n);
    if (inner.saveStream) this.saveStream = (t) => inner.saveStream!(t);
    if (inner.removeTempFiles) this.removeTempFiles = () => this.retry('remove temp files', () => inner.removeTempFiles!());
    if (inner.countTempFiles) this.countTempFiles = () => this.retry('count temp files', () => inner.countTempFiles!());
  }

  localPath?: (type: FileType, name: string) => string;
  saveStream?: (type: Exclude<FileType, 'config'>) => Promise<SaveStream>;
  removeTempFiles?: () => Promise<{ files: number; bytes: number }>;
  countTempFiles?: () => Promise<{ files: number; bytes: number }>;

  private async retry<T>(operation: string, run: () => Promise<T>): Promise<T> {
    let delay = this.first;
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (e) {
        if (attempt >= this.attempts || !isTransient(e)) throw e;
        this.opts.onRetry?.({ operation, attempt, delayMs: delay, error: e });
        await this.sleep(delay);
        delay = Math.min(this.max, delay * 2);
      }
    }
  }

  exists(): Promise<boolean> {
    return this.retry('look for the config', () => this.inner.exists());
  }

  create(): Promise<void> {
    return this.retry('create the repository', () => this.inner.create());
  }

  save(type: FileType, name: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    return this.retry(`save ${type} ${name}`, () => this.inner.save(type, name, data));
  }

  load(type: FileType, name: string, range?: { offset: number; length: number }): Promise<Buffer> {
    return this.retry(`load ${type} ${name}`, () => this.inner.load(type, name, range));
  }

  stat(type: FileType, name: string): Promise<FileInfo> {
    return this.retry(`stat ${type} ${name}`, () => this.inner.stat(type, name));
  }

  remove(type: FileType, name: string): Promise<void> {
    return this.retry(`remove ${type} ${name}`, () => this.inner.remove(type, name));
  }

  /** A listing is retried from the start, and only before its first entry was handed out. */
  async *list(type: FileType): AsyncIterable<FileInfo> {
    const all = await this.retry(`list ${type}`, () => readListing(this.inner, type));
    yield* all;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
