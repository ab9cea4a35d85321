/**
 * `lifeboat restore`: restore at the coverage-map level, for an operator under stress. Pick a
 * source, optionally a destination (default: the first one that is here, repositories first),
 * a snapshot (`latest`, a date `YYYY-MM-DD[ HH:MM]` meaning the newest copy at or before it, or
 * an id prefix) and paths. Restore into a target directory, or back in place: in place needs
 * confirmation and first takes a safety snapshot of what will be overwritten (see
 * safety-snapshot.ts), so a wrong restore can itself be undone: the result names it, and a
 * safety snapshot is picked by its id (never as latest or by date). `dryRun` lists what would
 * change. A `--path` the snapshot does not hold fails before anything is written, naming the
 * nearest path that is there.
 * Interrupted restores resume: files already complete at the target are not written again.
 * Mirror destinations restore with rsync from their current copy.
 */
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Repository } from '../../core/repository/repository.ts';
import { backup } from '../../core/archiver/archiver.ts';
import { restore, type RestoreEvent, type RestoreSummary } from '../../core/restorer/restorer.ts';
import { decodeTree } from '../../core/format/tree.ts';
import { planRestore, type PlannedEntry } from '../../core/restorer/restore-plan.ts';
import { compilePatterns } from '../../core/filter/index.ts';
import { LifeboatError } from '../../core/errors.ts';
import type { SnapshotId, TreeId } from '../../core/ids.ts';
import type { Snapshot } from '../../core/format/snapshot.ts';
import type { Config, Destination, Source } from '../../config/index.ts';
import { checkDestination, type DeviceProbe } from '../devices/index.ts';
import { deviceView } from '../jobs/cell-context.ts';
import { runRsync } from '../mirror/mirror.ts';
import { openDestinationRepository } from '../destination/index.ts';
import { findMissingPath, missingPathError, type ListDir } from './missing-path.ts';
import { isBackupOf, safetySourceOf, safetyTags } from './safety-snapshot.ts';

export interface OperatorRestoreOptions {
  readonly source: string;
  readonly destination?: string | undefined;
  readonly snapshot?: string | undefined;
  readonly paths?: readonly string[] | undefined;
  readonly target?: string | undefined;
  readonly inPlace?: boolean | undefined;
  /** In-place restores overwrite live data: the caller must have asked the operator. */
  readonly confirmed?: boolean | undefined;
  readonly dryRun?: boolean | undefined;
  readonly hostname: string;
  readonly onEvent?: (e: RestoreEvent) => void;
  readonly signal?: AbortSignal;
}

export type OperatorRestoreResult =
  | { readonly kind: 'plan'; readonly destination: string; readonly snapshot: string; readonly entries: readonly PlannedEntry[] }
  | { readonly kind: 'restored'; readonly destination: string; readonly snapshot: string; readonly target: string; readonly safetySnapshot?: string | undefined; readonly summary: RestoreSummary }
  | { readonly kind: 'mirror'; readonly destination: string; readonly target: string; readonly output: string };

type Listed = { id: SnapshotId; snapshot: Snapshot };

/**
 * The snapshot `ref` names among a source's backups (`snaps`, oldest first). An id prefix may
 * also name one of its safety snapshots (`safety`): that is how a restore is undone. latest and
 * dates never pick a safety snapshot, which holds the state being restored away from.
 */
export function pickSnapshot(snaps: readonly Listed[], ref: string | undefined, safety: readonly Listed[] = []): Listed {
  if (snaps.length === 0) throw new LifeboatError('NOT_FOUND', 'There is no snapshot of this source on that destination yet');
  if (!ref || ref === 'latest') return snaps[snaps.length - 1]!;
  const date = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2})?))?$/.exec(ref);
  if (date) {
    const end = date[2] ? Date.parse(`${date[1]}T${date[2].length === 5 ? date[2] + ':59' : date[2]}`) + 999 : Date.parse(`${date[1]}T23:59:59.999`);
    const hits = snaps.filter((s) => Date.parse(s.snapshot.time) <= end);
    const last = hits[hits.length - 1];
    if (!last) throw new LifeboatError('NOT_FOUND', `No snapshot at or before ${ref}; the oldest is from ${snaps[0]!.snapshot.time.slice(0, 16)}`);
    return last;
  }
  if (!/^[0-9a-f]{4,64}$/i.test(ref)) throw new LifeboatError('USAGE', `Invalid --snapshot ${JSON.stringify(ref)}: use latest, a date like 2026-01-31 or 2026-01-31 14:00, or an id`);
  const hits = [...snaps, ...safety].filter((s) => s.id.startsWith(ref.toLowerCase()));
  if (hits.length !== 1) throw new LifeboatError(hits.length ? 'AMBIGUOUS' : 'NOT_FOUND', hits.length ? `Snapshot prefix ${ref} is ambiguous` : `No snapshot ${ref} of this source on that destination`);
  return hits[0]!;
}

async function chooseDestination(config: Config, source: Source, name: string | undefined, probe: DeviceProbe): Promise<Destination> {
  const dests = source.destinations.map((d) => config.destinations.find((x) => x.name === d)!).filter(Boolean);
  if (name) {
    const d = dests.find((x) => x.name === name);
    if (!d) throw new LifeboatError('USAGE', `Source ${source.name} is not backed up to ${name}`, { hint: `its destinations: ${source.destinations.join(', ')}` });
    const st = await checkDestination(deviceView(d), probe);
    if (st.state !== 'ready') throw new LifeboatError('DEVICE_UNAVAILABLE', `Cannot restore from ${name}: ${st.why}`, { hint: others(source, name) });
    return d;
  }
  const why: string[] = [];
  for (const d of [...dests].sort((a, b) => (a.format === b.format ? 0 : a.format === 'repository' ? -1 : 1))) {
    const st = await checkDestination(deviceView(d), probe);
    if (st.state === 'ready') return d;
    why.push(`${d.name}: ${st.why}`);
  }
  throw new LifeboatError('DEVICE_UNAVAILABLE', `No destination of ${source.name} is available: ${why.join('; ')}`, { hint: 'plug in or mount one of them' });
}

function others(source: Source, name: string): string | undefined {
  const rest = source.destinations.filter((d) => d !== name);
  return rest.length > 0 ? `its other destinations: ${rest.join(', ')}` : undefined;
}

/** A snapshot's directories as restore would see them, for naming the nearest path. */
function treeLister(repo: Repository, root: TreeId): ListDir {
  const trees = new Map<string, TreeId | null>([['/', root]]);
  return async (dir) => {
    const id = trees.get(dir);
    if (!id) return undefined;
    const names: string[] = [];
    for (const n of decodeTree(await repo.loadBlob('tree', id))) {
      const name = n.name.toString('utf8');
      names.push(name);
      trees.set(path.join(dir, name), n.type === 'dir' && n.subtree ? (n.subtree as TreeId) : null);
    }
    return names;
  };
}

export async function operatorRestore(config: Config, opts: OperatorRestoreOptions, deps: { probe: DeviceProbe }): Promise<OperatorRestoreResult> {
  const source = config.sources.find((s) => s.name === opts.source);
  if (!source) throw new LifeboatError('USAGE', `No source named ${opts.source} in ${config.file}`, { hint: `known: ${config.sources.map((s) => s.name).join(', ')}` });
  if (!!opts.target === !!opts.inPlace) throw new LifeboatError('USAGE', 'Give exactly one of --target DIR and --in-place');
  // A command's output has no live place to go back to: in place it would land at /<filename>.
  if (opts.inPlace && source.kind === 'command') throw new LifeboatError('USAGE', `Source ${source.name} stores a command's output (${source.filename}), which has no place to restore to in place`, { hint: `restore it with --target DIR, then load it from there (e.g. psql -f DIR/${source.filename})` });
  if (opts.inPlace && !opts.dryRun && !opts.confirmed) throw new LifeboatError('USAGE', 'An in-place restore overwrites live files: confirm it (--yes), or try --dry-run first');
  const dest = await chooseDestination(config, source, opts.destination, deps.probe);
  const wanted = (opts.paths ?? []).map((p) => path.resolve(p));
  const include = wanted.length > 0 ? compilePatterns(wanted.map((p) => p.replace(/[\\*?[]/g, (c) => '\\' + c))) : undefined;
  if (dest.format === 'mirror') return mirrorRestore(source, dest, { ...opts, paths: wanted });
  const repo = await openDestinationRepository(dest, undefined, { others: source.destinations.filter((d) => d !== dest.name) });
  try {
    await repo.loadIndex();
    const all = await repo.listSnapshots({ onError: () => {} });
    const { id, snapshot } = pickSnapshot(
      all.filter((s) => isBackupOf(source, s.snapshot)),
      opts.snapshot,
      all.filter((s) => safetySourceOf(s.snapshot) === source.name),
    );
    const list = treeLister(repo, snapshot.tree as TreeId);
    for (const w of wanted) {
      const missing = await findMissingPath(w, '/', list);
      if (missing) throw missingPathError(missing, `snapshot ${id.slice(0, 8)} of ${source.name} on ${dest.name}`);
    }
    const target = opts.inPlace ? '/' : path.resolve(opts.target!);
    if (opts.dryRun) return { kind: 'plan', destination: dest.name, snapshot: id, entries: await planRestore(repo, { tree: snapshot.tree as TreeId, target, include, inPlace: !!opts.inPlace }) };
    let safetySnapshot: string | undefined;
    if (opts.inPlace) {
      // What will be overwritten is saved first; a mistaken restore can be undone from it.
      const live = (wanted.length > 0 ? wanted : snapshot.paths).filter((p) => existsSync(p));
      if (live.length > 0) {
        const lock = await repo.lock(false, 30_000);
        try {
          const s = await backup(repo, { paths: live, tags: safetyTags(source), host: opts.hostname, parent: null });
          safetySnapshot = s.snapshotId;
        } finally {
          await lock.release();
        }
      }
    }
    const lock = await repo.lock(false, 30_000);
    try {
      const summary = await restore(repo, { snapshot, target, include, verify: true, skipExisting: true, keepAncestors: !!opts.inPlace, ...(opts.onEvent ? { onEvent: opts.onEvent } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
      return { kind: 'restored', destination: dest.name, snapshot: id, target, safetySnapshot, summary };
    } finally {
      await lock.release();
    }
  } finally {
    await repo.close();
  }
}

async function mirrorRestore(source: Source, dest: Destination, opts: OperatorRestoreOptions): Promise<OperatorRestoreResult> {
  if (opts.snapshot && opts.snapshot !== 'latest') throw new LifeboatError('USAGE', `${dest.name} is a mirror: it holds the current copy (older versions are plain files under ${dest.root}/versions/)`);
  if (source.kind !== 'paths') throw new LifeboatError('USAGE', `restore the dump file by copying it from ${dest.root}/current/${source.name}/`);
  const target = opts.inPlace ? '/' : path.resolve(opts.target!);
  // --path narrows the copy as it does for repositories: never more than was asked for.
  const wanted = opts.paths ?? [];
  const under = (w: string, p: string): boolean => w === p || w.startsWith(p.replace(/\/?$/, '/'));
  const stray = wanted.filter((w) => !source.paths.some((p) => under(w, p)));
  if (stray.length > 0) throw new LifeboatError('USAGE', `--path ${stray.join(', ')} is not part of source ${source.name}`, { hint: `its paths: ${source.paths.join(', ')}` });
  const base = (p: string): string => path.join(dest.root, 'current', source.name, path.basename(p) || 'root');
  // Every path is looked up before anything is copied: a wrong one must not leave half a restore.
  const copies: { from: string; to: string; dir: boolean }[] = [];
  for (const p of source.paths) {
    const rels = wanted.length === 0 ? [''] : wanted.filter((w) => under(w, p)).map((w) => path.relative(p, w));
    for (const rel of rels) {
      const from = path.join(base(p), rel);
      const st = await fsp.lstat(from).catch(() => undefined);
      if (!st) {
        const list: ListDir = (dir) => fsp.readdir(path.join(base(p), path.relative(p, dir))).catch(() => undefined);
        const missing = (await findMissingPath(path.join(p, rel), p, list)) ?? { path: path.join(p, rel), nearest: p };
        throw missingPathError(missing, `mirror ${dest.name}`);
      }
      // A source path may be a single file: copy it as a file, not into a directory of its name.
      copies.push({ from, to: path.join(target, p, rel), dir: st.isDirectory() });
    }
  }
  let output = '';
  for (const { from, to, dir } of copies) {
    if (!opts.dryRun) await fsp.mkdir(dir ? to : path.dirname(to), { recursive: true });
    const args = ['-aAXH', '--numeric-ids', '--itemize-changes', ...(opts.dryRun ? ['--dry-run'] : []), dir ? from + '/' : from, dir ? to + '/' : to];
    output += (await runRsync(args, opts.signal)).stdout;
  }
  return { kind: 'mirror', destination: dest.name, target, output };
}
