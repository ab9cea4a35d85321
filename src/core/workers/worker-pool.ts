/**
 * A small pool of worker threads for the CPU-heavy per-blob work (zstd, AES-CTR, Poly1305,
 * SHA-256). Node runs JavaScript on one thread; restic spreads this work over all cores, and so
 * must we. Tasks are queued FIFO; at most `size` run at once; buffers are transferred, not copied.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { LifeboatError } from '../errors.ts';
import { reviveError } from './worker-error.ts';
import type { MasterKey } from '../crypto/crypto.ts';
import { PART_KINDS, REPLY_KIND, type TaskKind, type TaskPart, type TaskReply, type TaskRequest } from './tasks.ts';
import type { ErrorReply } from './worker-error.ts';

type Message = TaskReply | TaskPart | ErrorReply;

interface Pending {
  task: TaskRequest;
  /** `worker` is the index of the worker answering (0 .. size-1). */
  onPart: ((r: TaskPart, worker: number) => void) | undefined;
  transfer: ArrayBuffer[];
  resolve: (r: TaskReply) => void;
  reject: (e: unknown) => void;
}

const fromSource = import.meta.url.endsWith('.ts');
// From the bundle, this code may sit in dist/ or in a shared chunk under dist/chunks/.
const workerUrl = fromSource
  ? new URL('../worker-thread/worker-thread.ts', import.meta.url)
  : [new URL('./worker-thread.js', import.meta.url), new URL('../worker-thread.js', import.meta.url)].find((u) => existsSync(u)) ?? new URL('./worker-thread.js', import.meta.url);

/** Run from TypeScript sources (tsx), a worker must register tsx itself before loading the .ts file. */
function spawnWorker(workerData: unknown): Worker {
  // Workers allocate few JS objects (their bulk data lives in reused buffers); a small young
  // generation keeps each thread's heap near what it uses instead of V8's 16 MiB semispaces.
  const resourceLimits = { maxYoungGenerationSizeMb: 4 };
  if (!fromSource) return new Worker(workerUrl, { workerData, resourceLimits });
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(workerUrl.href)}); })`;
  return new Worker(code, { eval: true, workerData, resourceLimits });
}

let configured: number | undefined;

/**
 * The number of worker threads a pool gets when its caller names none: one per core (at most
 * 8), or what setDefaultWorkers() was given. Fewer threads use less memory and leave cores to
 * other services on a small server, at the cost of speed.
 */
export function defaultWorkers(): number {
  return configured ?? Math.max(1, Math.min(availableParallelism(), 8));
}

/** Sets defaultWorkers() for this process (the CLI does, from LIFEBOAT_WORKERS); undefined restores one per core. */
export function setDefaultWorkers(n: number | undefined): void {
  if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 64)) throw new LifeboatError('USAGE', `Cannot use ${n} worker threads: give a whole number from 1 to 64`);
  configured = n;
}

/** A worker count as an operator writes it (LIFEBOAT_WORKERS=4); empty or absent means the default. */
export function parseWorkerCount(text: string | undefined, what = 'LIFEBOAT_WORKERS'): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new LifeboatError('USAGE', `${what}=${JSON.stringify(text)} is not a whole number from 1 to 64`);
  return n;
}

export class WorkerPool {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: Pending[] = [];
  private readonly running = new Map<Worker, Pending>();
  private closed = false;
  private failure: unknown;

  /** `extra(i)` adds fields to worker i's workerData (BlobSaver gives each its seal ring). */
  constructor(key: MasterKey, size = defaultWorkers(), extra?: (worker: number) => Record<string, unknown>) {
    const keyData = { encrypt: key.encrypt, macK: key.macK, macR: key.macR };
    for (let i = 0; i < size; i++) {
      const w = spawnWorker({ ...extra?.(i), key: keyData });
      w.unref();
      w.on('message', (r: Message) => this.done(w, r, undefined));
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

  /**
   * Queues a task; intermediate answers of file tasks ('parts', 'written') go to onPart, in
   * order. The promise holds the task's own reply (tasks.ts), or rejects with the worker's error
   * (its code kept, worker-error.ts).
   */
  run<K extends TaskKind>(task: TaskRequest<K> & { readonly kind: K }, transfer: ArrayBuffer[] = [], onPart?: (part: TaskPart<K>, worker: number) => void): Promise<TaskReply<K>> {
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    if (this.failure) return Promise.reject(this.failure);
    const expected = REPLY_KIND[task.kind];
    return new Promise<TaskReply<K>>((resolve, reject) => {
      const settle = (r: TaskReply): void => {
        if (r.kind === expected) resolve(r as TaskReply<K>);
        else reject(new LifeboatError('INTERNAL', `A worker answered a ${task.kind} task with ${r.kind}, not ${expected}`));
      };
      this.queue.push({ task, transfer, onPart: onPart as Pending['onPart'], resolve: settle, reject });
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

  private done(w: Worker, r: Message | undefined, err: unknown): void {
    const p = this.running.get(w);
    if (r && PART_KINDS.has(r.kind) && p) {
      try {
        p.onPart?.(r as TaskPart, this.all.indexOf(w));
      } catch (e) {
        // The task fails now; its later parts and final answer are ignored.
        p.onPart = undefined;
        p.reject(e);
        p.resolve = () => {};
      }
      return;
    }
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
      else p.resolve(r as TaskReply);
    }
    this.pump();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}
