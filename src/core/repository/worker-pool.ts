/**
 * A small pool of worker threads for the CPU-heavy per-blob work (zstd, AES-CTR, Poly1305,
 * SHA-256). Node runs JavaScript on one thread; restic spreads this work over all cores, and so
 * must we. Tasks are queued FIFO; at most `size` run at once; buffers are transferred, not copied.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { LifeboatError } from '../errors.ts';
import type { MasterKey } from '../crypto/crypto.ts';
import type { BlobTask, BlobTaskResult } from './blob-worker.ts';

interface Pending {
  task: BlobTask;
  transfer: ArrayBuffer[];
  resolve: (r: BlobTaskResult) => void;
  reject: (e: unknown) => void;
}

const fromSource = import.meta.url.endsWith('.ts');
// From the bundle, this code may sit in dist/ or in a shared chunk under dist/chunks/.
const workerUrl = fromSource
  ? new URL('./blob-worker.ts', import.meta.url)
  : [new URL('./blob-worker.js', import.meta.url), new URL('../blob-worker.js', import.meta.url)].find((u) => existsSync(u)) ?? new URL('./blob-worker.js', import.meta.url);

/** Run from TypeScript sources (tsx), a worker must register tsx itself before loading the .ts file. */
function spawnWorker(workerData: unknown): Worker {
  if (!fromSource) return new Worker(workerUrl, { workerData });
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(workerUrl.href)}); })`;
  return new Worker(code, { eval: true, workerData });
}

export class WorkerPool {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: Pending[] = [];
  private readonly running = new Map<Worker, Pending>();
  private closed = false;
  private failure: unknown;

  constructor(key: MasterKey, size = Math.max(1, Math.min(availableParallelism(), 8))) {
    const keyData = { encrypt: key.encrypt, macK: key.macK, macR: key.macR };
    for (let i = 0; i < size; i++) {
      const w = spawnWorker({ key: keyData });
      w.unref();
      w.on('message', (r: BlobTaskResult) => this.done(w, r, undefined));
      w.on('error', (e) => this.done(w, undefined, e));
      w.on('exit', (code) => {
        if (!this.closed) this.done(w, undefined, new Error(`blob worker exited with code ${code}`));
      });
      this.all.push(w);
      this.idle.push(w);
    }
  }

  get size(): number {
    return this.all.length;
  }

  /** Number of tasks queued or running; callers use it for back-pressure. */
  get load(): number {
    return this.queue.length + this.running.size;
  }

  run(task: BlobTask, transfer: ArrayBuffer[] = []): Promise<BlobTaskResult> {
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ task, transfer, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop()!;
      const p = this.queue.shift()!;
      this.running.set(w, p);
      w.postMessage(p.task, p.transfer);
    }
  }

  private done(w: Worker, r: BlobTaskResult | undefined, err: unknown): void {
    const p = this.running.get(w);
    this.running.delete(w);
    if (err !== undefined) {
      this.failure ??= err;
      p?.reject(err);
      for (const q of this.queue.splice(0)) q.reject(err);
      return;
    }
    this.idle.push(w);
    if (p && r) {
      if (r.kind === 'error') p.reject(reviveError(r));
      else p.resolve(r);
    }
    this.pump();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}

function reviveError(r: Extract<BlobTaskResult, { kind: 'error' }>): Error {
  if (r.code === 'INTEGRITY' || r.code === 'MALFORMED') return new LifeboatError(r.code, r.message);
  const e = new Error(r.message);
  e.name = r.name;
  return e;
}
