/**
 * Restore: recreates a snapshot's tree (or a subtree) under a target directory, the way
 * `restic restore` places it, carrying what rsync -aAXH carries: content (holes kept sparse),
 * mode with setuid/setgid/sticky, owner, nanosecond times, symlinks, hard links, FIFOs,
 * sockets (as inert nodes) and device nodes, xattrs and POSIX ACLs.
 *
 * Safety invariants (the snapshot is untrusted):
 * - every name passes unsafeNodeName(); refused nodes are reported by path, the rest restored;
 * - duplicate names in one tree are refused (the second and later ones);
 * - a path is only ever created inside a directory this restore created or verified (lstat)
 *   to be a real directory, and an existing non-directory entry is unlinked, never followed;
 *   files are opened with O_NOFOLLOW; so no symlink, restored or pre-existing, redirects a write.
 * - every blob is verified against its id before a byte of it is written.
 */
import { close, closeSync, openSync, promises as fsp, constants as fsc } from 'node:fs';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { LifeboatError } from '../errors.ts';
import type { Id, TreeId } from '../ids.ts';
import type { Repository } from '../repository/repository.ts';
import type { Snapshot } from '../format/snapshot.ts';
import { decodeTree, unsafeNodeName, type TreeNode } from '../format/tree.ts';
import { isValidUtf8 } from '../format/go-quote.ts';
import { applyMetadata, createSpecial } from './apply-metadata.ts';
import { WorkerPool, type RestoreBlob, type TaskPart } from '../workers/index.ts';
import { toUnixNs } from '../format/go-time.ts';

export interface IncludeMatcher {
  includeMatch(path: string): { match: boolean; childMayMatch: boolean };
}

export type RestoreEvent =
  | { readonly type: 'progress'; readonly files: number; readonly bytes: number; readonly totalFiles: number; readonly totalBytes: number; readonly errors: number }
  | { readonly type: 'error'; readonly path: string; readonly message: string };

export interface RestoreOptions {
  readonly snapshot: Snapshot;
  /** A path inside the snapshot whose contents are restored (restic's ID:SUBPATH). */
  readonly subpath?: string;
  readonly target: string;
  readonly include?: IncludeMatcher;
  readonly verify?: boolean;
  /**
   * Resume: a regular file already at the target with the node's size and mtime is kept as it
   * is (its mtime is set only after its content is complete, so a half-written file never
   * matches). Off by default, as in restic.
   */
  readonly skipExisting?: boolean;
  /** In-place restores: directories above the snapshot's paths keep their live metadata. */
  readonly keepAncestors?: boolean;
  readonly onEvent?: (e: RestoreEvent) => void;
  readonly signal?: AbortSignal;
}

export interface RestoreSummary {
  readonly files: number;
  readonly dirs: number;
  readonly bytes: number;
  readonly verifiedFiles: number;
  /** Files left as they were because they were already complete (skipExisting). */
  readonly skippedFiles: number;
  readonly errors: readonly { path: string; message: string }[];
}

interface FileJob {
  readonly abs: string;
  readonly rel: string;
  readonly node: TreeNode;
  /** Its directory was created by this restore: nothing was there before. */
  readonly fresh: boolean;
}

/** Where the walk hands files to be written; add() waits while enough is in flight. */
interface FileSink {
  add(job: FileJob): Promise<void>;
  /** Waits until every file handed over is written (or failed) and its descriptor closed. */
  finish(): Promise<void>;
}

interface DirDone {
  readonly abs: string;
  readonly node: TreeNode;
  /** Selected as a whole; otherwise only a way to selected entries below it. */
  readonly fullyIncluded: boolean;
  readonly rel: string;
}

const ZERO = Buffer.alloc(8 << 20);
/** Batching of files for the worker threads (local repositories): at most this many open files per batch. */
const BATCH_FILES = 32;
const BATCH_BYTES = 8 << 20;
const LARGE_FILE = 1 << 20;

export class Restorer {
  private readonly errors: { path: string; message: string }[] = [];
  private readonly dirs: DirDone[] = [];
  private readonly links: { abs: string; node: TreeNode }[] = [];
  private readonly hardlinks = new Map<string, string>();
  /** Hard-linked files already counted (by the counting walk), by device and inode. */
  private readonly countedLinks = new Set<string>();
  private readonly pendingLinks: { abs: string; rel: string; first: string }[] = [];
  private totalFiles = 0;
  private totalBytes = 0;
  private verified = 0;
  /** Where the walk hands each file to be written (localSink or remoteSink). */
  private sink: FileSink | undefined;
  private doneBytes = 0;
  private doneFiles = 0;
  private lastEmit = 0;
  private pool: WorkerPool | undefined;
  private skipped = 0;

  constructor(
    private readonly repo: Repository,
    private readonly opts: RestoreOptions,
  ) {}

  async run(): Promise<RestoreSummary> {
    const target = path.resolve(this.opts.target);
    await this.prepareTarget(target);
    const start = await this.resolveStart(this.opts.snapshot.tree as TreeId, this.opts.subpath ?? '/');
    // Phase 1 and 2 together: the walk creates the directory skeleton and hands each file to
    // the worker pool as it goes (waiting while enough is queued), so the workers write from
    // the start and no list of every file is ever held. Beside it, a walk of the trees alone
    // (no filesystem work) adds up the totals for progress; it runs ahead and ends early.
    const backend = this.repo.backend;
    this.sink = backend.localPath ? this.localSink((id) => backend.localPath!('data', id)) : this.remoteSink();
    // Its failures (an unreadable tree) are the restoring walk's to report.
    const counting = this.visit(start, target, true).catch(() => {});
    try {
      await this.visit(start, target, false);
    } finally {
      await this.sink.finish();
      await counting;
    }
    for (const l of this.pendingLinks) {
      try {
        await fsp.link(l.first, l.abs);
        this.doneFiles++;
      } catch (e) {
        this.report(l.rel, `cannot create hard link: ${(e as Error).message}`);
      }
    }
    // Phase 3: symlinks, then directory metadata deepest first (children change a dir's mtime).
    for (const l of this.links) await this.finishLink(l.abs, l.node);
    this.dirs.sort((a, b) => b.abs.length - a.abs.length);
    for (const d of this.dirs) {
      // A directory only on the way to a selected path gets metadata if something landed in it;
      // with keepAncestors (in-place), directories above the snapshot's own paths (/, /srv)
      // keep the live system's metadata.
      if (!d.fullyIncluded && !(await isNonEmptyDir(d.abs))) continue;
      if (this.opts.keepAncestors && this.isAncestor(d.rel)) continue;
      await this.meta(d.abs, d.node);
    }
    this.emit(true);
    await this.pool?.close();
    return { files: this.doneFiles, dirs: this.dirs.length, bytes: this.doneBytes, verifiedFiles: this.verified, skippedFiles: this.skipped, errors: this.errors };
  }

  /**
   * Walks from the start (a tree, or a single node for ID:SUBPATH), counting or restoring.
   * The target may hold anything already, so nothing in it is taken to be fresh.
   */
  private async visit(start: { kind: 'tree'; tree: TreeId } | { kind: 'node'; node: TreeNode }, target: string, counting: boolean): Promise<void> {
    if (start.kind === 'tree') {
      await this.walk(start.tree, target, '/' + (this.opts.subpath ?? '').split('/').filter(Boolean).join('/'), counting, false);
    } else {
      const rel = '/' + start.node.name.toString('utf8');
      if (this.selected(rel).match) await this.place(start.node, path.join(target, start.node.name.toString('utf8')), rel, { fullyIncluded: true, counting, fresh: false });
    }
  }

  private async prepareTarget(target: string): Promise<void> {
    try {
      await fsp.mkdir(target, { recursive: true });
      const st = await fsp.lstat(target);
      if (!st.isDirectory()) throw new Error('not a directory');
    } catch (e) {
      throw new LifeboatError('USAGE', `Cannot restore into ${target}: ${(e as Error).message}`);
    }
  }

  private report(p: string, message: string): void {
    this.errors.push({ path: p, message });
    this.opts.onEvent?.({ type: 'error', path: p, message });
  }

  private emit(force = false): void {
    const now = Date.now();
    if (!this.opts.onEvent || (!force && now - this.lastEmit < 200)) return;
    this.lastEmit = now;
    this.opts.onEvent({ type: 'progress', files: this.doneFiles, bytes: this.doneBytes, totalFiles: this.totalFiles, totalBytes: this.totalBytes, errors: this.errors.length });
  }

  private isAncestor(rel: string): boolean {
    return (this.opts.snapshot.paths ?? []).some((p) => p !== rel && (rel === '/' || p.startsWith(rel + '/')));
  }

  private selected(rel: string): { match: boolean; childMayMatch: boolean } {
    return this.opts.include ? this.opts.include.includeMatch(rel) : { match: true, childMayMatch: true };
  }

  private async loadTree(id: TreeId): Promise<TreeNode[]> {
    return decodeTree(await this.repo.loadBlob('tree', id));
  }

  private async resolveStart(root: TreeId, subpath: string): Promise<{ kind: 'tree'; tree: TreeId } | { kind: 'node'; node: TreeNode }> {
    let tree = root;
    const comps = subpath.split('/').filter(Boolean);
    for (let i = 0; i < comps.length; i++) {
      const nodes = await this.loadTree(tree);
      const n = nodes.find((x) => x.name.toString('utf8') === comps[i]);
      if (!n) throw new LifeboatError('NOT_FOUND', `Path ${subpath} is not in the snapshot`);
      if (n.type === 'dir' && n.subtree) tree = n.subtree as TreeId;
      else if (i === comps.length - 1) return { kind: 'node', node: n };
      else throw new LifeboatError('NOT_FOUND', `Path ${subpath} is not in the snapshot (${comps.slice(0, i + 1).join('/')} is not a directory)`);
    }
    return { kind: 'tree', tree };
  }

  /**
   * Walks one tree. `counting` only adds up the totals that restoring would write (the same
   * selection, nothing touched, nothing reported). `fresh`: absDir was created by this restore
   * (mode 0700), so nothing is in it but what this walk puts there, and no name needs a look
   * before it is created.
   */
  private async walk(tree: TreeId, absDir: string, relDir: string, counting: boolean, fresh: boolean): Promise<void> {
    this.opts.signal?.throwIfAborted();
    const report = (p: string, message: string): void => {
      if (!counting) this.report(p, message);
    };
    let nodes: TreeNode[];
    try {
      nodes = await this.loadTree(tree);
    } catch (e) {
      report(relDir, `cannot load tree ${tree.slice(0, 8)}: ${(e as Error).message}`);
      return;
    }
    const seen = new Set<string>();
    for (const n of nodes) {
      const shown = n.name.toString('utf8');
      const rel = (relDir === '/' ? '/' : relDir + '/') + shown;
      const why = unsafeNodeName(n.name);
      if (why) {
        report(`${relDir === '/' ? '' : relDir}/${JSON.stringify(shown)}`, `refused node: ${why}`);
        continue;
      }
      const key = n.name.toString('latin1');
      if (seen.has(key)) {
        report(rel, 'refused node: duplicate name in its directory');
        continue;
      }
      seen.add(key);
      const sel = this.selected(rel);
      if (!sel.match && !(n.type === 'dir' && sel.childMayMatch)) continue;
      // Paths are strings here; a name that is not valid UTF-8 would be restored under a
      // lossy U+FFFD spelling (two such names could even collide), so it is refused by name.
      const abs = isValidUtf8(n.name) ? absDir + '/' + shown : undefined;
      if (abs === undefined) {
        report(rel, 'refused node: name is not valid UTF-8 (not supported by this restore yet)');
        continue;
      }
      await this.place(n, abs, rel, { fullyIncluded: sel.match, counting, fresh });
    }
  }

  private async place(n: TreeNode, abs: string, rel: string, how: { readonly fullyIncluded: boolean; readonly counting: boolean; readonly fresh: boolean }): Promise<void> {
    const { fullyIncluded, fresh } = how;
    if (how.counting) {
      if (n.type === 'dir' && n.subtree) await this.walk(n.subtree as TreeId, abs, rel, true, false);
      else if (n.type === 'file' && !(n.links > 1n && this.countedLinks.has(`${n.deviceId}:${n.inode}`))) {
        if (n.links > 1n) this.countedLinks.add(`${n.deviceId}:${n.inode}`);
        this.totalFiles++;
        this.totalBytes += Number(n.size);
      }
      return;
    }
    try {
      switch (n.type) {
        case 'dir': {
          const created = await this.ensureDir(abs, fresh);
          if (!n.subtree) throw new Error('directory without subtree');
          await this.walk(n.subtree as TreeId, abs, rel, false, created);
          this.dirs.push({ abs, node: n, fullyIncluded, rel });
          return;
        }
        case 'file': {
          // A complete file may stay for skipExisting (resume); restoreFile opens with O_TRUNC.
          if (!fresh && !(this.opts.skipExisting && (await sameFile(abs, n)))) await removeNonDir(abs);
          const hl = n.links > 1n ? `${n.deviceId}:${n.inode}` : undefined;
          const first = hl ? this.hardlinks.get(hl) : undefined;
          if (first) {
            // The first name's content goes to the sink; link to it once all content is written.
            this.pendingLinks.push({ abs, rel, first });
            return;
          }
          if (hl) this.hardlinks.set(hl, abs);
          await this.sink!.add({ abs, rel, node: n, fresh });
          return;
        }
        case 'symlink':
          if (!fresh) await removeNonDir(abs);
          this.links.push({ abs, node: n });
          return;
        case 'fifo':
        case 'socket':
        case 'dev':
        case 'chardev':
          if (!fresh) await removeNonDir(abs);
          await createSpecial(abs, n);
          await this.meta(abs, n);
          this.doneFiles++;
          return;
        default:
          this.report(rel, `skipped ${n.type} node`);
      }
    } catch (e) {
      // An interrupt ends the whole walk, not only this entry.
      if (this.opts.signal?.aborted) throw e;
      this.report(rel, (e as Error).message);
    }
  }

  /**
   * Makes abs a real directory: an existing one is kept, anything else there is unlinked (never
   * followed). In a fresh parent nothing can be there. Returns true when it was created here.
   */
  private async ensureDir(abs: string, parentFresh: boolean): Promise<boolean> {
    if (!parentFresh) {
      try {
        const st = await fsp.lstat(abs);
        if (st.isDirectory()) return false;
        await fsp.unlink(abs);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    await fsp.mkdir(abs, { mode: 0o700 });
    return true;
  }

  private async finishLink(abs: string, n: TreeNode): Promise<void> {
    try {
      await fsp.symlink(n.linktarget ?? Buffer.alloc(0), abs);
      await this.meta(abs, n);
      this.doneFiles++;
    } catch (e) {
      this.report(abs, (e as Error).message);
    }
  }

  private async meta(abs: string, n: TreeNode): Promise<void> {
    for (const problem of await applyMetadata(abs, n)) this.report(abs, problem);
  }

  private getPool(): WorkerPool {
    this.pool ??= new WorkerPool(this.repo.key);
    return this.pool;
  }

  /**
   * Files of a remote repository: this thread loads each blob and a worker opens it; up to
   * three blobs per worker are in flight, and add() waits while as many files are running.
   */
  private remoteSink(): FileSink {
    const pool = this.getPool();
    const budget = pool.size * 3;
    let inflight = 0;
    const wake: (() => void)[] = [];
    const acquire = async (): Promise<void> => {
      while (inflight >= budget) await new Promise<void>((r) => wake.push(r));
      inflight++;
    };
    const release = (): void => {
      inflight--;
      wake.shift()?.();
    };
    const running = new Set<Promise<void>>();
    return {
      add: async (job) => {
        this.opts.signal?.throwIfAborted();
        const p = this.restoreFile(job, pool, acquire, release).then(
          () => this.verifyFile(job),
          (e: unknown) => this.fileFailed(job, (e as Error).message),
        );
        running.add(p);
        void p.finally(() => running.delete(p));
        while (running.size >= budget) await Promise.race(running);
      },
      finish: async () => {
        await Promise.all(running);
      },
    };
  }

  /**
   * Files of a local repository: worker threads read, verify and write the blobs themselves
   * (file-writer.ts); this thread opens each file, hands over its descriptor in batches (small
   * files share one message), then closes it and applies metadata. add() waits while two
   * batches per worker are queued or running.
   */
  private localSink(packPath: (id: string) => string): FileSink {
    const pool = this.getPool();
    const running = new Set<Promise<void>>();
    let batch: { job: FileJob; fd: number; size: number; blobs: RestoreBlob[] }[] = [];
    let batchBytes = 0;
    const send = async (): Promise<void> => {
      const b = batch;
      batch = [];
      batchBytes = 0;
      if (b.length === 0) return;
      while (running.size >= pool.size * 2) await Promise.race(running);
      const ended = new Set<number>();
      const finish = async (i: number, error: string | undefined): Promise<void> => {
        const f = b[i]!;
        ended.add(i);
        await new Promise<void>((r) => close(f.fd, () => r()));
        if (error === undefined) {
          await this.meta(f.job.abs, f.job.node);
          this.doneFiles++;
          await this.verifyFile(f.job);
          return;
        }
        await this.fileFailed(f.job, error);
      };
      const finishing: Promise<void>[] = [];
      const onPart = (m: TaskPart<'writeFiles'>): void => {
        for (const part of m.parts) {
          this.doneBytes += part.bytes;
          if (part.end && !ended.has(part.file)) finishing.push(finish(part.file, 'error' in part.end ? part.end.error.message : undefined));
        }
        this.emit();
      };
      const job = pool
        .run({ kind: 'writeFiles', files: b.map((f) => ({ fd: f.fd, size: f.size, blobs: f.blobs })) }, [], onPart)
        .catch((e: unknown) => {
          for (let i = 0; i < b.length; i++) if (!ended.has(i)) finishing.push(finish(i, (e as Error).message));
        })
        .then(() => Promise.all(finishing))
        .then(() => {});
      running.add(job);
      void job.finally(() => running.delete(job));
    };
    return {
      add: async (job) => {
        this.opts.signal?.throwIfAborted();
        const n = job.node;
        if (await this.keepExisting(job)) {
          await this.verifyFile(job);
          return;
        }
        const blobs: RestoreBlob[] = [];
        let offset = 0;
        let missing: string | undefined;
        for (const id of n.content ?? []) {
          const loc = this.repo.index.lookup('data', id as Id);
          if (!loc) {
            missing = `data blob ${id.slice(0, 8)} is missing from the index`;
            break;
          }
          blobs.push({ id, pack: packPath(loc.packId), offset: loc.offset, length: loc.length, uncompressedLength: loc.uncompressedLength, at: offset });
          offset += loc.uncompressedLength ?? loc.length - 32;
        }
        let fd: number;
        try {
          // Synchronous: a thread-pool round trip per file would leave the workers waiting for
          // their next batch.
          fd = openSync(job.abs, openFlags(job), 0o600);
        } catch (e) {
          this.report(job.rel, (e as Error).message);
          return;
        }
        if (missing) {
          closeSync(fd);
          await this.fileFailed(job, missing);
          return;
        }
        if (offset >= LARGE_FILE) {
          await send();
          batch.push({ job, fd, size: offset, blobs });
          await send();
          return;
        }
        batch.push({ job, fd, size: offset, blobs });
        batchBytes += offset;
        if (batch.length >= BATCH_FILES || batchBytes >= BATCH_BYTES) await send();
      },
      finish: async () => {
        // Descriptors of a partial batch are sent even after a failure: finish() closes them.
        await send();
        while (running.size > 0) await Promise.all(running);
      },
    };
  }

  /** Reports a file that could not be restored and removes what was written of it. */
  private async fileFailed(job: FileJob, message: string): Promise<void> {
    this.report(job.rel, message);
    // No half-written file with the right name: a later look must not mistake it for data.
    await fsp.rm(job.abs, { force: true }).catch(() => {});
  }

  /** Resume: a file already complete at the target is kept and counted as done. */
  private async keepExisting(job: FileJob): Promise<boolean> {
    if (job.fresh || !this.opts.skipExisting || !(await sameFile(job.abs, job.node))) return false;
    this.doneBytes += Number(job.node.size);
    this.doneFiles++;
    this.skipped++;
    return true;
  }

  private async restoreFile(job: FileJob, pool: WorkerPool, acquire: () => Promise<void>, release: () => void): Promise<void> {
    const n = job.node;
    if (await this.keepExisting(job)) return;
    const fh = await fsp.open(job.abs, openFlags(job), 0o600);
    try {
      let offset = 0;
      const writes: Promise<void>[] = [];
      for (const id of n.content ?? []) {
        const loc = this.repo.index.lookup('data', id as Id);
        if (!loc) throw new Error(`data blob ${id.slice(0, 8)} is missing from the index`);
        const at = offset;
        offset += loc.uncompressedLength ?? loc.length - 32;
        await acquire();
        writes.push(
          (async () => {
            try {
              const sealed = await this.repo.backend.load('data', loc.packId, { offset: loc.offset, length: loc.length });
              const r = await pool.run({ kind: 'open', sealed, id, uncompressedLength: loc.uncompressedLength }, [sealed.buffer as ArrayBuffer].filter(() => sealed.byteOffset === 0 && sealed.byteLength === sealed.buffer.byteLength));
              const data = r.data;
              // Leave holes for all-zero blobs: sparse files stay sparse.
              if (!(data.length <= ZERO.length && ZERO.subarray(0, data.length).equals(data))) {
                await fh.write(data, 0, data.length, at);
              }
              this.doneBytes += data.length;
              this.emit();
            } finally {
              release();
            }
          })(),
        );
      }
      const results = await Promise.allSettled(writes);
      for (const r of results) if (r.status === 'rejected') throw r.reason;
      await fh.truncate(offset);
    } finally {
      await fh.close();
    }
    await this.meta(job.abs, n);
    this.doneFiles++;
  }

  /** With --verify, reads a restored file back and checks every blob of it against its id. */
  private async verifyFile(job: FileJob): Promise<void> {
    if (!this.opts.verify) return;
    try {
      const fh = await fsp.open(job.abs, fsc.O_RDONLY | fsc.O_NOFOLLOW);
      try {
        let offset = 0;
        for (const id of job.node.content ?? []) {
          const loc = this.repo.index.lookup('data', id as Id);
          const len = loc ? (loc.uncompressedLength ?? loc.length - 32) : 0;
          const buf = Buffer.allocUnsafe(len);
          const { bytesRead } = await fh.read(buf, 0, len, offset);
          offset += len;
          if (bytesRead !== len || createHash('sha256').update(buf).digest('hex') !== id) throw new Error(`content differs from the snapshot at byte ${offset - len}`);
        }
        const st = await fh.stat();
        if (st.size !== offset) throw new Error(`size ${st.size} differs from the snapshot's ${offset}`);
      } finally {
        await fh.close();
      }
      this.verified++;
    } catch (e) {
      this.report(job.rel, `verify failed: ${(e as Error).message}`);
    }
  }
}

/** Never follows a symlink; in a fresh directory nothing may be there at all. */
function openFlags(job: FileJob): number {
  return fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC | fsc.O_NOFOLLOW | (job.fresh ? fsc.O_EXCL : 0);
}

async function sameFile(abs: string, n: TreeNode): Promise<boolean> {
  try {
    const st = await fsp.lstat(abs, { bigint: true });
    return st.isFile() && st.size === n.size && st.mtimeNs === toUnixNs(n.mtime);
  } catch {
    return false;
  }
}

async function removeNonDir(abs: string): Promise<void> {
  try {
    const st = await fsp.lstat(abs);
    if (st.isDirectory()) await fsp.rm(abs, { recursive: true });
    else await fsp.unlink(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

async function isNonEmptyDir(abs: string): Promise<boolean> {
  try {
    return (await fsp.readdir(abs)).length > 0;
  } catch {
    return false;
  }
}

export async function restore(repo: Repository, opts: RestoreOptions): Promise<RestoreSummary> {
  return new Restorer(repo, opts).run();
}
