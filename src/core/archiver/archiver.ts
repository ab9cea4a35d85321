/**
 * Backup: walks the given paths and writes their content and metadata into the repository as
 * trees and data blobs (design.rst "Trees and Data"), then a snapshot.
 *
 * Shape: like restic, every path keeps its absolute position: backing up /srv/share gives a
 * root tree holding `srv`, whose subtree holds `share`; intermediate directories carry their
 * real metadata. Incremental: a file whose size, mtime, ctime and inode equal those of the node
 * at the same path in the parent snapshot (and whose blobs are all still indexed) is not read;
 * a directory whose entries all match what the tree memo remembers (tree-memo.ts) takes the
 * remembered tree id without loading the parent's tree, and the index is loaded only when a
 * directory needs it. Unreadable entries are reported as findings and counted; they never
 * abort the run.
 * Chunk sealing is pipelined through the BlobSaver's worker pool; the walk never waits for a
 * blob unless the in-flight budget is used up.
 */
import { promises as fsp, type BigIntStats } from 'node:fs';
import * as path from 'node:path';
import { hostname as osHostname } from 'node:os';
import { currentUser } from '../fs/current-user.ts';
import { LifeboatError } from '../errors.ts';
import { hashId, type Id, type SnapshotId, type TreeId } from '../ids.ts';
import type { Repository } from '../repository/repository.ts';
import type { BlobSaver } from '../repository/blob-saver.ts';
import { decodeTree, encodeTree, type TreeNode } from '../format/tree.ts';
import type { Snapshot } from '../format/snapshot.ts';
import { chunkStream } from './chunk-source.ts';
import { FileQueue } from './file-queue.ts';
import { nodeFromStat, type StatFields } from './node-from-stat.ts';
import { childPath, listDir, rawFromStat, Scanned, tally, type DirListing, type Prescan, type ScanEntry } from './dir-scan.ts';
import { formatGoTime } from '../crypto/time-now.ts';
import { scanFingerprint, TreeMemo, type MemoEntry } from './tree-memo.ts';
import { lstatSync } from 'node:fs';

/** A node whose content may still be being read: the walk goes on while workers read files. */
type Pending = { readonly done: Promise<TreeNode | undefined> };

const ready = (n: TreeNode | undefined): Pending => ({ done: Promise.resolve(n) });

/** Settles later; a failure is kept for whoever awaits it, not reported as unhandled. */
function later<T>(p: Promise<T>): { readonly done: Promise<T> } {
  p.catch(() => {});
  return { done: p };
}

export interface ExcludeMatcher {
  excludes(path: string): boolean;
}

export type BackupEvent =
  | { readonly type: 'progress'; readonly files: number; readonly bytes: number; readonly totalFiles?: number; readonly totalBytes?: number; readonly errors: number }
  | { readonly type: 'error'; readonly path: string; readonly message: string }
  /** Something that slows later runs but loses nothing (the cache directory is not writable). */
  | { readonly type: 'warning'; readonly message: string };

export interface BackupOptions {
  readonly paths?: readonly string[];
  readonly stdin?: { readonly stream: AsyncIterable<Uint8Array>; readonly filename: string };
  readonly exclude?: ExcludeMatcher;
  readonly excludePatterns?: readonly string[];
  readonly tags?: readonly string[];
  readonly host?: string;
  /** Parent snapshot for change detection; undefined means "choose the latest with the same host and paths". */
  readonly parent?: SnapshotId | null;
  readonly onEvent?: (e: BackupEvent) => void;
  readonly signal?: AbortSignal;
  readonly time?: Date;
  readonly scanTotals?: boolean;
  /** Directories read ahead (while the repository key was derived); see dir-scan.ts. */
  readonly prescan?: Prescan;
  /**
   * Cache directory for the tree memo (tree-memo.ts): directories unchanged since the last
   * backup of the same paths are then not compared node by node. Undefined: no memo.
   */
  readonly memoDir?: string;
}

export interface BackupSummary {
  readonly snapshotId: SnapshotId;
  readonly parent: SnapshotId | undefined;
  readonly filesNew: number;
  readonly filesChanged: number;
  readonly filesUnmodified: number;
  readonly dirs: number;
  /** Directories whose tree was taken from the tree memo, unchanged (tree-memo.ts). */
  readonly dirsReused: number;
  readonly dataBlobs: number;
  readonly treeBlobs: number;
  readonly dataAdded: number;
  readonly totalFilesProcessed: number;
  readonly totalBytesProcessed: number;
  readonly errors: readonly { path: string; message: string }[];
}

const PREFETCH = 64;

interface VDir {
  readonly children: Map<string, VDir>;
  target: boolean;
}

export class Archiver {
  #saver: BlobSaver | undefined;
  #files: FileQueue | undefined;
  private readonly pol: bigint;
  private readonly errors: { path: string; message: string }[] = [];
  private readonly c = { filesNew: 0, filesChanged: 0, filesUnmodified: 0, dirs: 0, dirsReused: 0, files: 0, bytes: 0 };
  private totals: { files: number; bytes: number } | undefined;
  private lastEmit = 0;
  /** Set when run() ends, so a totals count still going stops. */
  private over = false;
  private readonly parentTrees = new Map<TreeId, Promise<Map<string, TreeNode>>>();
  private memo: TreeMemo | undefined;
  /** Whether remembered trees may be used (not with --force, which reads every file again). */
  private memoHits = false;

  /** The excludes as a predicate on absolute paths (what listDir and the prescan take). */
  private readonly excluded: ((abs: string) => boolean) | undefined;

  constructor(
    private readonly repo: Repository,
    private readonly opts: BackupOptions,
  ) {
    this.pol = repo.config.chunkerPolynomial;
    const ex = opts.exclude;
    this.excluded = ex ? (p) => ex.excludes(p) : undefined;
  }

  /**
   * The blob saver and file queue, after the index is loaded. The index is loaded on first
   * need: a backup whose directories all come from the tree memo never needs it.
   */
  private async ready(): Promise<{ readonly saver: BlobSaver; readonly files: FileQueue }> {
    if (!this.#saver || !this.#files) {
      await this.repo.ensureIndex();
      this.#saver ??= this.repo.blobSaver();
      this.#files ??= new FileQueue(this.#saver, this.pol, (n) => {
        this.c.bytes += n;
        this.emit();
      });
    }
    return { saver: this.#saver, files: this.#files };
  }

  /** Sends queued files to the workers (call before waiting for any file's outcome). */
  private async flushFiles(): Promise<void> {
    await this.#files?.flush();
  }

  async run(): Promise<BackupSummary> {
    try {
      return await this.runWalk();
    } finally {
      this.over = true;
    }
  }

  private async runWalk(): Promise<BackupSummary> {
    const o = this.opts;
    const start = o.time ?? new Date();
    const host = o.host ?? osHostname();
    let paths: string[];
    let rootTree: TreeId;
    let parentId: SnapshotId | undefined;
    if (o.stdin) {
      const name = o.stdin.filename;
      if (!name || name.includes('/') || name === '.' || name === '..') {
        throw new LifeboatError('USAGE', `Invalid --stdin-filename ${JSON.stringify(name)}: give a plain file name`);
      }
      paths = ['/' + name];
      rootTree = await this.stdinTree(name, o.stdin.stream, start);
    } else {
      paths = normalisePaths(o.paths ?? []);
      if (paths.length === 0) throw new LifeboatError('USAGE', 'Nothing to back up: give at least one path');
      for (const p of paths) {
        try {
          await fsp.lstat(p);
        } catch (e) {
          throw new LifeboatError('NOT_FOUND', `Cannot back up ${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (e as Error).message}`);
        }
      }
      parentId = await this.chooseParent(paths, host);
      if (o.memoDir !== undefined) {
        this.memo = await TreeMemo.open({
          dir: o.memoDir,
          key: this.repo.key,
          repoId: this.repo.config.id,
          host,
          paths,
          // Times are written in the local zone; excludes decide which entries a tree holds.
          salt: JSON.stringify([Intl.DateTimeFormat().resolvedOptions().timeZone, o.excludePatterns ?? []]),
          indexIds: await this.repo.listIds('index'),
        });
        this.memoHits = o.parent !== null;
      }
      const parentTree = parentId ? (await this.repo.loadSnapshot(parentId)).tree : undefined;
      // Totals for progress and ETA are counted alongside the walk, not before it.
      if (o.scanTotals) this.scanTotals(paths);
      const root: VDir = { children: new Map(), target: false };
      for (const p of paths) {
        let d = root;
        for (const comp of p.split('/').filter(Boolean)) {
          let next = d.children.get(comp);
          if (!next) {
            next = { children: new Map(), target: false };
            d.children.set(comp, next);
          }
          d = next;
        }
        d.target = true;
      }
      rootTree = await this.virtualTree(root, '/', parentTree);
    }
    this.emit(true);
    await this.#saver?.flush();
    // An interrupt while the last blobs were written must not leave a snapshot behind.
    o.signal?.throwIfAborted();
    const { username, uid, gid } = currentUser();
    const sn: Snapshot = {
      time: formatGoTime(start),
      parent: parentId,
      tree: rootTree,
      paths,
      hostname: host,
      username,
      uid,
      gid,
      excludes: o.excludePatterns && o.excludePatterns.length > 0 ? [...o.excludePatterns] : undefined,
      tags: o.tags && o.tags.length > 0 ? [...o.tags] : undefined,
    };
    const snapshotId = await this.repo.saveSnapshot(sn);
    // After the snapshot: a memo is only ever written for trees a snapshot holds.
    const warn = (what: string) => (e: unknown) => o.onEvent?.({ type: 'warning', message: `Cannot save the ${what} in ${o.memoDir}: ${(e as Error).message} (the next backup is slower)` });
    await this.memo?.save(await this.repo.listIds('index')).catch(warn('tree memo'));
    await this.repo.saveIndexCache().catch(warn('index cache'));
    const st = this.#saver?.takeStats() ?? { dataBlobs: 0, treeBlobs: 0, bytesAdded: 0 };
    return {
      snapshotId,
      parent: parentId,
      filesNew: this.c.filesNew,
      filesChanged: this.c.filesChanged,
      filesUnmodified: this.c.filesUnmodified,
      dirs: this.c.dirs,
      dirsReused: this.c.dirsReused,
      dataBlobs: st.dataBlobs,
      treeBlobs: st.treeBlobs,
      dataAdded: st.bytesAdded,
      totalFilesProcessed: this.c.files,
      totalBytesProcessed: this.c.bytes,
      errors: this.errors,
    };
  }

  private async chooseParent(paths: string[], host: string): Promise<SnapshotId | undefined> {
    if (this.opts.parent === null) return undefined;
    if (this.opts.parent) return this.opts.parent;
    const key = [...paths].sort().join('\0');
    let best: SnapshotId | undefined;
    for (const s of await this.repo.listSnapshots({ onError: () => {} })) {
      if (s.snapshot.hostname === host && [...s.snapshot.paths].sort().join('\0') === key) best = s.id;
    }
    return best;
  }

  /**
   * Counts files and bytes below `paths` in the background, one directory per turn of the event
   * loop, with the native scan; `totals` is set when the count is complete. Excluded paths are
   * left out as the walk leaves them out. Directories the prescan read are counted already.
   */
  private scanTotals(paths: string[]): void {
    const excluded = (abs: string): boolean => this.excluded?.(abs) ?? false;
    const pre = this.opts.prescan?.leftover();
    const t = { files: pre?.files ?? 0, bytes: pre?.bytes ?? 0 };
    const stack: Buffer[] = pre ? pre.dirs.filter((d) => !excluded(d.toString('utf8'))) : [];
    for (const p of [...paths].reverse()) {
      if (excluded(p)) continue;
      try {
        const st = lstatSync(p);
        if (st.isDirectory()) {
          if (!pre) stack.push(Buffer.from(p));
        } else {
          t.files++;
          if (st.isFile()) t.bytes += st.size;
        }
      } catch {
        // the walk reports it
      }
    }
    // Slices of about 5 ms between turns of the event loop: the walk goes on meanwhile, and the
    // count still finishes early enough to give an ETA.
    const step = (): void => {
      if (this.over) return;
      const until = performance.now() + 5;
      while (performance.now() < until) {
        const dir = stack.pop();
        if (dir === undefined) {
          this.totals = t;
          return;
        }
        try {
          tally(dir, listDir(dir, this.excluded, false), stack, t);
        } catch {
          // the walk reports it
        }
      }
      setImmediate(step);
    };
    step();
  }

  private emit(force = false): void {
    const now = Date.now();
    if (!this.opts.onEvent || (!force && now - this.lastEmit < 200)) return;
    this.lastEmit = now;
    this.opts.onEvent({ type: 'progress', files: this.c.files, bytes: this.c.bytes, totalFiles: this.totals?.files, totalBytes: this.totals?.bytes, errors: this.errors.length });
  }

  private report(p: string | Buffer, e: unknown): void {
    const ps = typeof p === 'string' ? p : p.toString('utf8');
    const message = e instanceof Error ? ((e as NodeJS.ErrnoException).code ? `${(e as NodeJS.ErrnoException).code}: ${e.message}` : e.message) : String(e);
    this.errors.push({ path: ps, message });
    this.opts.onEvent?.({ type: 'error', path: ps, message });
  }

  /**
   * The parent snapshot's nodes of one directory. Loading a tree also starts loading its
   * subdirectories' trees (at most PREFETCH outstanding), so the walk rarely waits on a read.
   */
  private loadParentNodes(tree: TreeId | undefined): Promise<Map<string, TreeNode>> {
    if (!tree) return Promise.resolve(new Map());
    const hit = this.parentTrees.get(tree);
    if (hit) {
      this.parentTrees.delete(tree); // each directory is visited once
      return hit;
    }
    return this.fetchParentTree(tree);
  }

  private async fetchParentTree(tree: TreeId): Promise<Map<string, TreeNode>> {
    const m = new Map<string, TreeNode>();
    try {
      await this.repo.ensureIndex();
      for (const n of decodeTree(await this.repo.loadBlob('tree', tree))) m.set(n.name.toString('latin1'), n);
    } catch {
      return m; // a damaged parent only costs re-reading
    }
    for (const n of m.values()) {
      if (this.parentTrees.size >= PREFETCH) break;
      if (n.type === 'dir' && n.subtree && !this.parentTrees.has(n.subtree)) {
        const p = this.fetchParentTree(n.subtree as TreeId);
        p.catch(() => {});
        this.parentTrees.set(n.subtree as TreeId, p);
      }
    }
    return m;
  }

  /**
   * A directory on the way to a backup target: real metadata, children limited to the targets.
   * Its children's lstat results make its memo digest, as a scanned directory's entries do;
   * when they are all directories, unchanged, and come out with the remembered tree ids, the
   * remembered tree is taken.
   */
  private async virtualTree(d: VDir, abs: string, parentTree: TreeId | undefined): Promise<TreeId> {
    const kids: VirtualChild[] = [];
    let complete = true;
    for (const [name, child] of d.children) {
      const childPath = abs === '/' ? '/' + name : abs + '/' + name;
      if (child.target && this.opts.exclude?.excludes(childPath)) continue;
      try {
        kids.push({ name: Buffer.from(name), child, path: Buffer.from(childPath), st: lstatSync(childPath, { bigint: true }) });
      } catch (e) {
        this.report(childPath, e);
        complete = false;
      }
    }
    const memo = this.memo;
    const digest =
      memo && complete && kids.every((k) => k.st.isDirectory())
        ? memo.digest(scanFingerprint(Buffer.from(`virtual:${abs}`), kids.map((k) => ({ name: k.name, entry: { raw: rawFromStat(k.st), uid: Number(k.st.uid), gid: Number(k.st.gid) } }))))
        : undefined;
    const known = digest !== undefined && this.memoHits ? memo!.get(digest) : undefined;
    if (known && known.subdirs.length === kids.length) {
      const ids: (TreeId | undefined)[] = [];
      for (const [i, k] of kids.entries()) ids.push(await this.virtualSubtree(k, known.subdirs[i]));
      if (ids.every((id, i) => id === known.subdirs[i])) {
        memo!.keep(digest!, known);
        return known.tree;
      }
      const nodes: TreeNode[] = [];
      for (const [i, k] of kids.entries()) {
        const n = await this.dirNode(k.path, k.name, k.st, ids[i]);
        if (n) nodes.push(n);
        else complete = false;
      }
      return this.finishVirtual(nodes, complete ? digest : undefined);
    }
    const parentNodes = await this.loadParentNodes(parentTree);
    const nodes: TreeNode[] = [];
    for (const k of kids) {
      const pn = parentNodes.get(k.name.toString('latin1'));
      let n: TreeNode | undefined;
      if (k.child.target) {
        const pending = await this.archive(k.path, k.name, pn);
        await this.flushFiles();
        n = await pending.done;
      } else {
        n = await this.dirNode(k.path, k.name, k.st, await this.virtualTree(k.child, k.path.toString(), pn?.type === 'dir' ? (pn.subtree ?? undefined) : undefined));
      }
      if (n) nodes.push(n);
      else complete = false;
    }
    return this.finishVirtual(nodes, complete ? digest : undefined);
  }

  /** A virtual directory's child that is a directory: its tree id (undefined if unreadable). */
  private async virtualSubtree(k: VirtualChild, parentTree: TreeId | undefined): Promise<TreeId | undefined> {
    if (!k.child.target) return this.virtualTree(k.child, k.path.toString(), parentTree);
    const tree = await this.walkDir(k.path, parentTree);
    await this.flushFiles();
    return tree?.done;
  }

  /**
   * A directory's node from its lstat result, with its tree; undefined if it has no tree (it
   * could not be read) or the node cannot be made (reported).
   */
  private async dirNode(abs: Buffer, name: Buffer, st: StatFields, subtree: TreeId | undefined, noXattrs = false): Promise<TreeNode | undefined> {
    if (subtree === undefined) return undefined;
    try {
      return { ...(await nodeFromStat(abs, name, st, noXattrs)), subtree };
    } catch (e) {
      this.report(abs, e);
      return undefined;
    }
  }

  private async finishVirtual(nodes: TreeNode[], digest: string | undefined): Promise<TreeId> {
    const id = await this.saveTree(nodes);
    if (digest !== undefined) this.memo?.keep(digest, { tree: id, subdirs: nodes.map((n) => n.subtree as TreeId) });
    return id;
  }

  private async saveTree(nodes: TreeNode[]): Promise<TreeId> {
    const bytes = encodeTree(nodes);
    const id = hashId(bytes) as TreeId;
    const { saver } = await this.ready();
    if (!saver.has('tree', id)) {
      await saver.waitForCapacity();
      saver.save('tree', id, new Uint8Array(bytes)).catch(() => {});
    }
    return id;
  }

  /**
   * Walks one directory now; the returned promise gives its tree id once all its content is
   * stored. Undefined if the directory cannot be read (reported). `parentTree` is the tree the
   * parent snapshot (or the memo) holds for it, for change detection.
   */
  private async walkDir(abs: Buffer, parentTree: TreeId | undefined): Promise<TreePending | undefined> {
    this.c.dirs++;
    const memo = this.memo;
    let listing: DirListing;
    try {
      listing = this.opts.prescan?.take(abs) ?? listDir(abs, this.excluded, memo !== undefined);
    } catch (e) {
      this.report(abs, e);
      return undefined;
    }
    const { included, fingerprint } = listing;
    const digest = memo && fingerprint ? memo.digest(fingerprint) : undefined;
    const known = digest !== undefined && this.memoHits ? memo!.get(digest) : undefined;
    // The memo vouches for its trees while the index files it was written against exist; a
    // loaded index is asked as well.
    if (known && (this.#saver?.has('tree', known.tree) ?? true) && known.subdirs.length === included.filter((c) => (c.entry as Scanned).isDir).length) {
      return this.walkKnown(abs, included as readonly ScannedEntry[], digest!, known);
    }
    return this.walkChanged(abs, included, parentTree, digest);
  }

  /** A directory whose own entries are as the memo remembers: only its subdirectories are walked. */
  private async walkKnown(abs: Buffer, included: readonly ScannedEntry[], digest: string, known: MemoEntry): Promise<TreePending> {
    const subtrees: Promise<TreeId | undefined>[] = [];
    let j = 0;
    for (const c of included) {
      if (!c.entry.isDir) continue;
      this.opts.signal?.throwIfAborted();
      subtrees.push((await this.walkDir(childPath(abs, c.name), known.subdirs[j++]))?.done ?? Promise.resolve(undefined));
    }
    return later((async () => {
      const ids = await Promise.all(subtrees);
      if (ids.every((id, i) => id === known.subdirs[i])) {
        for (const c of included) {
          if (c.entry.isDir) continue;
          this.c.files++;
          if (c.entry.isFile) {
            this.c.filesUnmodified++;
            this.c.bytes += c.entry.size;
          }
        }
        this.c.dirsReused++;
        this.emit();
        this.memo!.keep(digest, known);
        return known.tree;
      }
      // A subdirectory changed: this tree is written anew, its other entries taken from the
      // remembered tree as from a parent snapshot.
      const parentNodes = await this.loadParentNodes(known.tree);
      const children: Pending[] = [];
      let k = 0;
      for (const c of included) {
        if (c.entry.isDir) {
          children.push(later(this.dirNode(childPath(abs, c.name), c.name, c.entry.st, ids[k++], c.entry.xattrBytes === 0)));
        } else {
          children.push(await this.archive(childPath(abs, c.name), c.name, parentNodes.get(c.name.toString('latin1')), c.entry));
        }
      }
      await this.flushFiles();
      return this.finishTree(children, digest);
    })());
  }

  /** A directory that changed, or has no memo: every entry is compared with the parent's node. */
  private async walkChanged(abs: Buffer, included: readonly ScanEntry[], parentTree: TreeId | undefined, digest: string | undefined): Promise<TreePending> {
    const parentNodes = await this.loadParentNodes(parentTree);
    const children: Pending[] = [];
    for (const c of included) children.push(await this.archive(childPath(abs, c.name), c.name, parentNodes.get(c.name.toString('latin1')), c.entry));
    return later(this.finishTree(children, digest));
  }

  /** Saves a directory's tree once its children are done; remembers it if every entry made it in. */
  private async finishTree(children: readonly Pending[], digest: string | undefined): Promise<TreeId> {
    const nodes: TreeNode[] = [];
    let complete = true;
    for (const c of children) {
      const n = await c.done;
      if (n) nodes.push(n);
      else complete = false; // unreadable: reported, and never remembered
    }
    const id = await this.saveTree(nodes);
    if (digest !== undefined && complete) this.memo?.keep(digest, { tree: id, subdirs: nodes.filter((n) => n.type === 'dir').map((n) => n.subtree as TreeId) });
    return id;
  }

  /**
   * Archives one filesystem entry: walks it now, and returns its node once its content is
   * stored (undefined if excluded or unreadable). Files are read by the worker pool while the
   * walk goes on; a directory's tree is saved once all of its children are done.
   */
  private async archive(abs: Buffer, name: Buffer, parent: TreeNode | undefined, scanned?: Scanned | NodeJS.ErrnoException): Promise<Pending> {
    this.opts.signal?.throwIfAborted();
    // Entries of a scanned directory were checked against the excludes by walkDir.
    if (!scanned && this.opts.exclude?.excludes(abs.toString('utf8'))) return ready(undefined);
    let st: StatFields;
    let noXattrs = false;
    if (scanned instanceof Error) {
      this.report(abs, scanned);
      return ready(undefined);
    } else if (scanned) {
      st = scanned.st;
      noXattrs = scanned.xattrBytes === 0;
    } else {
      try {
        st = lstatSync(abs, { bigint: true });
      } catch (e) {
        this.report(abs, e);
        return ready(undefined);
      }
    }
    let node: TreeNode;
    try {
      node = await nodeFromStat(abs, name, st, noXattrs);
    } catch (e) {
      this.report(abs, e);
      return ready(undefined);
    }
    if (node.type === 'dir') {
      const tree = await this.walkDir(abs, parent?.type === 'dir' ? ((parent.subtree as TreeId | null) ?? undefined) : undefined);
      if (!tree) return ready(undefined);
      const dirNode = node;
      return later(tree.done.then((subtree) => ({ ...dirNode, subtree })));
    }
    this.c.files++;
    if (node.type !== 'file') {
      this.emit();
      return ready(node);
    }
    const { saver, files } = await this.ready();
    if (parent && parent.type === 'file' && unchanged(parent, node) && parent.content && parent.content.every((id) => saver.has('data', id))) {
      this.c.filesUnmodified++;
      this.c.bytes += Number(node.size);
      this.emit();
      return ready({ ...node, content: parent.content });
    }
    if (node.size === 0n) {
      if (parent) this.c.filesChanged++;
      else this.c.filesNew++;
      return ready({ ...node, content: [] });
    }
    const queued = await files.add(abs, Number(node.size));
    const fileNode = node;
    return later(
      queued.outcome.then((o) => {
        if ('error' in o) {
          files.check(); // a failed batch fails the backup, not just this file
          this.report(abs, Object.assign(new Error(o.error.message), { code: o.error.code }));
          return undefined;
        }
        if (parent) this.c.filesChanged++;
        else this.c.filesNew++;
        return { ...fileNode, size: BigInt(o.size), content: o.content };
      }),
    );
  }

  private async saveData(id: Id, chunk: Uint8Array, content: Id[]): Promise<void> {
    content.push(id);
    this.c.bytes += chunk.length;
    const { saver } = await this.ready();
    if (saver.has('data', id)) return;
    await saver.waitForCapacity();
    saver.save('data', id, chunk).catch(() => {});
    this.emit();
  }

  private async stdinTree(name: string, stream: AsyncIterable<Uint8Array>, now: Date): Promise<TreeId> {
    const content: Id[] = [];
    const size = await chunkStream(this.pol, stream, (id, chunk) => this.saveData(id, chunk, content), this.opts.signal);
    this.c.files++;
    this.c.filesNew++;
    const node = stdinNode(Buffer.from(name), now, BigInt(size), content);
    return this.saveTree([node]);
  }
}

/** A directory entry lstat could read. */
type ScannedEntry = ScanEntry & { readonly entry: Scanned };

/** A directory's tree id, once all its content is stored. */
type TreePending = { readonly done: Promise<TreeId> };

interface VirtualChild {
  readonly name: Buffer;
  readonly child: VDir;
  readonly path: Buffer;
  readonly st: BigIntStats;
}

function unchanged(a: TreeNode, b: TreeNode): boolean {
  return a.size === b.size && a.inode === b.inode && sameTime(a.mtime, b.mtime) && sameTime(a.ctime, b.ctime);
}

function sameTime(a: TreeNode['mtime'], b: TreeNode['mtime']): boolean {
  // The instant, not its zone: a DST change or TZ move must not make every file "changed".
  return a.sec === b.sec && a.nsec === b.nsec;
}

/** Absolute, sorted, each once; a path inside another given path is dropped (it adds nothing). */
export function normalisePaths(ps: readonly string[]): string[] {
  const abs = [...new Set(ps.map((p) => path.resolve(p)))].sort();
  return abs.filter((p) => !abs.some((q) => q !== p && (q === '/' ? true : p.startsWith(q + '/'))));
}

import { stdinNode } from './node-from-stat.ts';

export async function backup(repo: Repository, opts: BackupOptions): Promise<BackupSummary> {
  return new Archiver(repo, opts).run();
}
