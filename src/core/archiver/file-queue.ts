/**
 * Main-thread side of reading files in worker threads (file-chunker.ts): batches small files
 * so a message round trip is not paid per file, keeps a few batches queued per worker, and
 * turns result parts back into each file's content list, passing sealed blobs to the
 * BlobSaver as they arrive.
 */
import type { BlobSaver } from '../repository/blob-saver.ts';
import type { FilePart } from '../workers/index.ts';
import type { Id } from '../ids.ts';

export type FileOutcome = { readonly size: number; readonly content: Id[] } | { readonly error: { readonly code?: string; readonly message: string } };

interface Waiting {
  readonly content: Id[];
  readonly resolve: (o: FileOutcome) => void;
}

/** A file at least this large is a batch of its own. */
const LARGE = 1 << 20;
const BATCH_FILES = 128;
const BATCH_BYTES = 8 << 20;
/** Batches queued or running per worker before add() waits. */
const QUEUE_PER_WORKER = 2;

export class FileQueue {
  private batch: { paths: Uint8Array[]; files: Waiting[]; bytes: number } = { paths: [], files: [], bytes: 0 };
  private readonly running = new Set<Promise<void>>();
  private failure: unknown;

  constructor(
    private readonly saver: BlobSaver,
    private readonly pol: bigint,
    private readonly onBytes: (n: number) => void,
  ) {}

  /** Queues one file; the returned promise settles when it has been read (or failed to be). */
  async add(abs: Uint8Array, size: number): Promise<{ readonly outcome: Promise<FileOutcome> }> {
    if (this.failure) throw this.failure;
    let resolve!: (o: FileOutcome) => void;
    const outcome = new Promise<FileOutcome>((r) => (resolve = r));
    if (size >= LARGE) {
      await this.dispatch({ paths: [abs], files: [{ content: [], resolve }], bytes: size });
      return { outcome };
    }
    this.batch.paths.push(abs);
    this.batch.files.push({ content: [], resolve });
    this.batch.bytes += size;
    if (this.batch.files.length >= BATCH_FILES || this.batch.bytes >= BATCH_BYTES) await this.flush();
    return { outcome };
  }

  /** Sends the partial batch; call before waiting for any outcome. */
  async flush(): Promise<void> {
    if (this.batch.files.length === 0) return;
    const b = this.batch;
    this.batch = { paths: [], files: [], bytes: 0 };
    await this.dispatch(b);
  }

  private async dispatch(b: { readonly paths: Uint8Array[]; readonly files: Waiting[]; readonly bytes: number }): Promise<void> {
    while (this.running.size >= this.saver.workers * QUEUE_PER_WORKER) await Promise.race(this.running);
    if (this.failure) throw this.failure;
    const onPart = (part: FilePart, worker: number): void => {
      const w = b.files[part.file];
      if (!w) throw new Error(`file worker answered for file ${part.file} of ${b.files.length}`);
      let bytes = 0;
      for (const c of part.chunks) {
        w.content.push(c.id as Id);
        bytes += c.length;
        if (c.sealed) this.saver.addSealed(c, worker);
      }
      this.onBytes(bytes);
      if (part.end) w.resolve('error' in part.end ? { error: part.end.error } : { size: part.end.size, content: w.content });
    };
    const job = this.saver.chunkFiles(b.paths, this.pol, onPart).catch((e: unknown) => {
      this.failure ??= e;
      // Files of a failed batch fail with it; the backup as a whole fails through `failure`.
      for (const w of b.files) w.resolve({ error: { message: e instanceof Error ? e.message : String(e) } });
    });
    this.running.add(job);
    void job.finally(() => this.running.delete(job));
  }

  /** Throws the failure of any batch (a pack that could not be written, a worker that died). */
  check(): void {
    if (this.failure) throw this.failure;
  }
}
