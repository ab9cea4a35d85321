/**
 * Repository check (restic-format.md §9.3): what restic's `check` verifies, reported as
 * structured findings an operator can act on rather than a first-error abort.
 *   1. every index file loads (name hash, MAC, encoding, JSON);
 *   2. every indexed pack exists with the size its entries imply; unindexed packs, and temp
 *      files interrupted writes left, are hints;
 *   3. every snapshot loads and every tree reachable from it loads, decodes and references
 *      only blobs the index knows (as the right type);
 *   4. with readData, selected packs are re-hashed, their headers compared with the index entry
 *      by entry, and every blob opened and verified against its id.
 * Findings name what is damaged and which snapshots it affects.
 */
import { hashId, type Id, type TreeId } from '../ids.ts';
import type { Repository } from '../repository/repository.ts';
import { decodeTree } from '../format/tree.ts';
import { expectedPackSize, type PackedBlob } from '../format/pack.ts';
import { PackVerifier, packProblems } from './pack-verifier.ts';
import { WorkerPool, defaultWorkers } from '../workers/index.ts';
import { withOpenedBlob } from '../format/blob-seal.ts';

export type FindingKind = 'index' | 'pack' | 'snapshot' | 'tree' | 'blob' | 'temp';

export interface Finding {
  readonly kind: FindingKind;
  readonly id: string;
  readonly message: string;
  /** Snapshots whose data is affected, where known. */
  readonly snapshots?: readonly string[];
  readonly hint?: string;
}

export type CheckEvent = { readonly type: 'progress'; readonly packs: number; readonly totalPacks: number; readonly bytes: number; readonly totalBytes: number };

export interface CheckOptions {
  /** Read the data of the packs in subset n of m (1/1 = all). */
  readonly readData?: { readonly n: number; readonly m: number } | undefined;
  readonly onEvent?: (e: CheckEvent) => void;
}

export interface CheckResult {
  readonly errors: Finding[];
  readonly hints: Finding[];
  readonly snapshots: number;
  readonly packs: number;
  readonly blobs: number;
  readonly packsRead: number;
}

export async function check(repo: Repository, opts: CheckOptions = {}): Promise<CheckResult> {
  const errors: Finding[] = [];
  const hints: Finding[] = [];
  const packIndex = new Map<string, { blobs: PackedBlob[]; indexes: string[] }>();

  // 1. index files
  await repo.loadIndex({
    onFile: (id, idx) => {
      for (const p of idx.packs) {
        const e = packIndex.get(p.id);
        if (e) {
          e.indexes.push(id);
          hints.push({ kind: 'pack', id: p.id, message: `pack ${p.id.slice(0, 8)} is named by more than one index (${e.indexes.map((x) => x.slice(0, 8)).join(', ')})` });
        } else packIndex.set(p.id, { blobs: [...p.blobs], indexes: [id] });
      }
    },
    onError: (id, e) => {
      errors.push({ kind: 'index', id, message: `index ${id.slice(0, 8)} cannot be loaded: ${(e as Error).message}`, hint: 'rebuild the index from the packs (`restic repair index`), then run check again' });
    },
  });

  // 2. packs on disk vs index
  const onDisk = new Map<string, number>();
  for await (const f of repo.backend.list('data')) onDisk.set(f.name, f.size);
  for (const [id, p] of packIndex) {
    const size = onDisk.get(id);
    if (size === undefined) errors.push({ kind: 'pack', id, message: `pack ${id.slice(0, 8)} is in the index but missing`, hint: 'run a backup again to store its blobs anew; restore unaffected files meanwhile' });
    else if (size !== expectedPackSize(p.blobs)) errors.push({ kind: 'pack', id, message: `pack ${id.slice(0, 8)}: file size ${size} does not match the ${expectedPackSize(p.blobs)} bytes its index entries imply` });
  }
  for (const id of onDisk.keys()) {
    if (!packIndex.has(id)) hints.push({ kind: 'pack', id, message: `pack ${id.slice(0, 8)} is not referenced by any index (left by an interrupted run; prune removes it)` });
  }
  const temp = await repo.backend.countTempFiles?.();
  if (temp && temp.files > 0) {
    hints.push({
      kind: 'temp',
      id: '',
      message: `${temp.files} temp files (${temp.bytes} bytes) left by interrupted writes; no snapshot needs them (lifeboat forget --prune removes them, or delete the *-tmp-* files while nothing writes to the repository)`,
    });
  }

  // 3. snapshots and trees. Every tree is loaded once; `parents` remembers which trees hold
  // each tree and data blob, and `roots` which snapshots start at a tree, so any damage can be
  // traced up to every snapshot it affects (a tree shared by many snapshots included).
  const parents = new Map<string, Set<string>>();
  const roots = new Map<string, Set<string>>();
  const seen = new Set<string>();
  const late: { finding: Finding; container: string }[] = [];
  const link = (child: string, parent: string): void => {
    const s = parents.get(child);
    if (s) s.add(parent);
    else parents.set(child, new Set([parent]));
  };
  const snapshots = await repo.listIds('snapshot');
  let snapCount = 0;
  for (const sid of snapshots) {
    let tree: TreeId;
    try {
      tree = (await repo.loadSnapshot(sid)).tree as TreeId;
      snapCount++;
    } catch (e) {
      errors.push({ kind: 'snapshot', id: sid, message: `snapshot ${sid.slice(0, 8)} cannot be loaded: ${(e as Error).message}`, hint: 'forget this snapshot; the others are unaffected' });
      continue;
    }
    const r = roots.get(tree);
    if (r) r.add(sid);
    else roots.set(tree, new Set([sid]));
    const stack: { id: TreeId; path: string }[] = [{ id: tree, path: '/' }];
    while (stack.length > 0) {
      const { id: t, path: p } = stack.pop()!;
      if (seen.has(t)) continue;
      seen.add(t);
      let nodes;
      try {
        if (!repo.index.has('tree', t)) throw new Error('not in the index');
        nodes = decodeTree(await repo.loadBlob('tree', t));
      } catch (e) {
        late.push({ container: t, finding: { kind: 'tree', id: t, message: `tree ${t.slice(0, 8)} at ${p} cannot be loaded: ${(e as Error).message}`, hint: 'files below this directory cannot be restored from the affected snapshots; back them up again' } });
        continue;
      }
      for (const n of nodes) {
        const np = (p === '/' ? '/' : p + '/') + n.name.toString('utf8');
        if (n.name.length === 0) late.push({ container: t, finding: { kind: 'tree', id: t, message: `tree ${t.slice(0, 8)} at ${p} has a node with an empty name` } });
        if (n.type === 'file') {
          if (!n.content) late.push({ container: t, finding: { kind: 'tree', id: t, message: `file ${np} has no content list` } });
          for (const b of n.content ?? []) {
            link(b, t);
            if (!repo.index.has('data', b as Id)) late.push({ container: t, finding: { kind: 'blob', id: b, message: `file ${np}: data blob ${b.slice(0, 8)} is not in the index`, hint: 'back up this file again to heal the snapshot chain' } });
          }
        } else if (n.type === 'dir') {
          if (!n.subtree) late.push({ container: t, finding: { kind: 'tree', id: t, message: `directory ${np} has no subtree` } });
          else {
            link(n.subtree, t);
            stack.push({ id: n.subtree as TreeId, path: np });
          }
        } else if (!['symlink', 'dev', 'chardev', 'fifo', 'socket'].includes(n.type)) {
          late.push({ container: t, finding: { kind: 'tree', id: t, message: `node ${np} has unknown type ${JSON.stringify(n.type)}` } });
        }
      }
    }
  }
  /** Snapshots whose trees reach any of `ids`: walk up through `parents` to the roots. */
  const snapshotsUsing = (ids: Iterable<string>): string[] => {
    const out = new Set<string>();
    const done = new Set<string>();
    const queue = [...ids];
    while (queue.length > 0) {
      const x = queue.pop()!;
      if (done.has(x)) continue;
      done.add(x);
      for (const sid of roots.get(x) ?? []) out.add(sid);
      for (const p of parents.get(x) ?? []) queue.push(p);
    }
    return [...out].sort();
  };
  for (const { finding, container } of late) errors.push({ ...finding, snapshots: snapshotsUsing([container]) });

  // 4. read data
  let packsRead = 0;
  let blobCount = 0;
  for (const p of packIndex.values()) blobCount += p.blobs.length;
  if (opts.readData) {
    const { n, m } = opts.readData;
    const chosen = [...packIndex.entries()].filter(([id]) => onDisk.has(id) && parseInt(id.slice(0, 2), 16) % m === n - 1);
    const totalBytes = chosen.reduce((s, [id]) => s + (onDisk.get(id) ?? 0), 0);
    let bytes = 0;
    // A local repository's packs are streamed by worker threads and by this thread too, which
    // has nothing else to do meanwhile: one thread per core with one worker fewer (a worker is
    // an isolate and buffers of its own). Other backends load packs here and verify blobs in workers.
    const threads = defaultWorkers();
    const local = repo.backend.localPath !== undefined;
    const pool = !local || threads > 1 ? new WorkerPool(repo.key, local ? threads - 1 : threads) : undefined;
    const here = local
      ? new PackVerifier(
          repo.key,
          (sealed, b) => withOpenedBlob(repo.key, sealed, b.id, b.uncompressedLength, () => {}),
          () => new Promise<void>((r) => setImmediate(r)),
        )
      : undefined;
    try {
      // A few packs at a time; findings are collected per pack and reported in pack order.
      const found = new Map<string, string[]>();
      const running = new Set<Promise<void>>();
      const done = (id: string, problems: string[]): void => {
        found.set(id, problems);
        packsRead++;
        bytes += onDisk.get(id) ?? 0;
        opts.onEvent?.({ type: 'progress', packs: packsRead, totalPacks: chosen.length, bytes, totalBytes });
      };
      for (const [id, p] of chosen) {
        if (here && (!pool || pool.load >= pool.size * 2)) {
          // Each worker has a pack in hand and one waiting: this thread takes the next one,
          // pausing after each window so a worker that finishes gets its next pack at once.
          done(id, await here.run({ kind: 'checkPack', path: repo.backend.localPath!('data', id), id, indexed: p.blobs }));
          continue;
        }
        while (running.size >= pool!.size * 2) await Promise.race(running);
        const job = readPack(repo, pool!, id, p.blobs).then((problems) => done(id, problems));
        running.add(job);
        void job.finally(() => running.delete(job)).catch(() => {});
      }
      await Promise.all(running);
      for (const [id, p] of chosen) {
        for (const msg of found.get(id) ?? []) errors.push({ kind: 'pack', id, message: `pack ${id.slice(0, 8)}: ${msg}`, snapshots: snapshotsUsing(p.blobs.map((b) => b.id)), hint: 'run a backup again so lost blobs are stored anew; restore unaffected files meanwhile' });
      }
    } finally {
      await pool?.close();
    }
  }
  return { errors, hints, snapshots: snapCount, packs: packIndex.size, blobs: blobCount, packsRead };
}

async function readPack(repo: Repository, pool: WorkerPool, id: string, indexed: readonly PackedBlob[]): Promise<string[]> {
  const local = repo.backend.localPath?.('data', id);
  if (local !== undefined) {
    // The worker reads and verifies the pack itself (pack-verifier.ts).
    return (await pool.run({ kind: 'checkPack', path: local, id, indexed })).problems;
  }
  let buf: Buffer;
  try {
    buf = await repo.backend.load('data', id);
  } catch (e) {
    return [`cannot be read: ${(e as Error).message}`];
  }
  return packProblems(repo.key, buf, id, indexed, async (view, b) => {
    const sealed = new Uint8Array(view);
    await pool.run({ kind: 'verify', sealed, id: b.id, uncompressedLength: b.uncompressedLength }, [sealed.buffer as ArrayBuffer]);
  });
}

export { hashId };
