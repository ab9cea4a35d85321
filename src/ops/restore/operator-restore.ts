/**
 * `lifeboat restore`: restore at the coverage-map level, for an operator under stress. Pick a
 * source, optionally a destination (default: the first one that is here, repositories first),
 * a snapshot (`latest`, a date `YYYY-MM-DD[ HH:MM]` meaning the newest copy at or before it, or
 * an id prefix) and paths. Restore into a target directory, or back in place: in place needs
 * confirmation and first takes a safety snapshot of what will be overwritten (tag
 * `pre-restore`), so a wrong restore can itself be undone. `dryRun` lists what would change.
 * Interrupted restores resume: files already complete at the target are not written again.
 * Mirror destinations restore with rsync from their current copy.
 */
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { LocalBackend } from '../../core/backend/index.ts';
import { Repository } from '../../core/repository/repository.ts';
import { backup } from '../../core/archiver/archiver.ts';
import { restore, type RestoreEvent, type RestoreSummary } from '../../core/restorer/restorer.ts';
import { planRestore, type PlannedEntry } from '../../core/restorer/restore-plan.ts';
import { compilePatterns } from '../../core/filter/index.ts';
import { LifeboatError } from '../../core/errors.ts';
import type { SnapshotId, TreeId } from '../../core/ids.ts';
import type { Snapshot } from '../../core/format/snapshot.ts';
import type { Config, Destination, Source } from '../../config/index.ts';
import { checkDestination, type DeviceProbe } from '../devices/index.ts';
import { deviceView, sourceTag } from '../jobs/cell-context.ts';
import { destinationPassword } from '../jobs/destination-password.ts';
import { runRsync } from '../mirror/mirror.ts';

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

export function pickSnapshot(snaps: readonly { id: SnapshotId; snapshot: Snapshot }[], ref: string | undefined): { id: SnapshotId; snapshot: Snapshot } {
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
  const hits = snaps.filter((s) => s.id.startsWith(ref.toLowerCase()));
  if (hits.length !== 1) throw new LifeboatError(hits.length ? 'AMBIGUOUS' : 'NOT_FOUND', hits.length ? `Snapshot prefix ${ref} is ambiguous` : `No snapshot ${ref} of this source on that destination`);
  return hits[0]!;
}

async function chooseDestination(config: Config, source: Source, name: string | undefined, probe: DeviceProbe): Promise<Destination> {
  const dests = source.destinations.map((d) => config.destinations.find((x) => x.name === d)!).filter(Boolean);
  if (name) {
    const d = dests.find((x) => x.name === name);
    if (!d) throw new LifeboatError('USAGE', `Source ${source.name} is not backed up to ${name}`, { hint: `its destinations: ${source.destinations.join(', ')}` });
    const st = await checkDestination(deviceView(d), probe);
    if (st.state !== 'ready') throw new LifeboatError('USAGE', `Cannot restore from ${name}: ${st.why}`);
    return d;
  }
  const why: string[] = [];
  for (const d of [...dests].sort((a, b) => (a.format === b.format ? 0 : a.format === 'repository' ? -1 : 1))) {
    const st = await checkDestination(deviceView(d), probe);
    if (st.state === 'ready') return d;
    why.push(`${d.name}: ${st.why}`);
  }
  throw new LifeboatError('USAGE', `No destination of ${source.name} is available: ${why.join('; ')}`, { hint: 'plug in or mount one of them' });
}

export async function operatorRestore(config: Config, opts: OperatorRestoreOptions, deps: { probe: DeviceProbe }): Promise<OperatorRestoreResult> {
  const source = config.sources.find((s) => s.name === opts.source);
  if (!source) throw new LifeboatError('USAGE', `No source named ${opts.source} in ${config.file}`, { hint: `known: ${config.sources.map((s) => s.name).join(', ')}` });
  if (!!opts.target === !!opts.inPlace) throw new LifeboatError('USAGE', 'Give exactly one of --target DIR and --in-place');
  // A command's output has no live place to go back to: in place it would land at /<filename>.
  if (opts.inPlace && source.kind === 'command') throw new LifeboatError('USAGE', `Source ${source.name} stores a command's output (${source.filename}), which has no place to restore to in place`, { hint: `restore it with --target DIR, then load it from there (e.g. psql -f DIR/${source.filename})` });
  if (opts.inPlace && !opts.dryRun && !opts.confirmed) throw new LifeboatError('USAGE', 'An in-place restore overwrites live files: confirm it (--yes), or try --dry-run first');
  const dest = await chooseDestination(config, source, opts.destination, deps.probe);
  const include = opts.paths && opts.paths.length > 0 ? compilePatterns(opts.paths.map((p) => p.replace(/[\\*?[]/g, (c) => '\\' + c))) : undefined;
  if (dest.format === 'mirror') return mirrorRestore(source, dest, opts);
  const password = await destinationPassword({ name: dest.name, passwordFile: dest.password.kind === 'file' ? dest.password.path : undefined, passwordCommand: dest.password.kind === 'command' ? dest.password.command.argv : undefined });
  const repo = await Repository.open(new LocalBackend(dest.root), { password });
  try {
    await repo.loadIndex();
    const snaps = (await repo.listSnapshots({ onError: () => {} })).filter((s) => s.snapshot.tags?.includes(sourceTag(source)) && !s.snapshot.tags?.includes('pre-restore'));
    const { id, snapshot } = pickSnapshot(snaps, opts.snapshot);
    const target = opts.inPlace ? '/' : path.resolve(opts.target!);
    if (opts.dryRun) return { kind: 'plan', destination: dest.name, snapshot: id, entries: await planRestore(repo, { tree: snapshot.tree as TreeId, target, include, inPlace: !!opts.inPlace }) };
    let safetySnapshot: string | undefined;
    if (opts.inPlace) {
      // What will be overwritten is saved first; a mistaken restore can be undone from it.
      const live = (opts.paths && opts.paths.length > 0 ? opts.paths : snapshot.paths).filter((p) => existsSync(p));
      if (live.length > 0) {
        const lock = await repo.lock(false, 30_000);
        try {
          const s = await backup(repo, { paths: live, tags: [sourceTag(source), 'pre-restore'], host: opts.hostname, parent: null });
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
  const wanted = (opts.paths ?? []).map((p) => path.resolve(p));
  const under = (w: string, p: string): boolean => w === p || w.startsWith(p.replace(/\/?$/, '/'));
  const stray = wanted.filter((w) => !source.paths.some((p) => under(w, p)));
  if (stray.length > 0) throw new LifeboatError('USAGE', `--path ${stray.join(', ')} is not part of source ${source.name}`, { hint: `its paths: ${source.paths.join(', ')}` });
  let output = '';
  for (const p of source.paths) {
    const base = path.join(dest.root, 'current', source.name, path.basename(p) || 'root');
    const rels = wanted.length === 0 ? [''] : wanted.filter((w) => under(w, p)).map((w) => path.relative(p, w));
    for (const rel of rels) {
      const from = path.join(base, rel);
      const to = path.join(target, p, rel);
      const st = await fsp.lstat(from).catch(() => undefined);
      if (!st) throw new LifeboatError('NOT_FOUND', `${path.join(p, rel)} is not in mirror ${dest.name}`);
      // A source path may be a single file: copy it as a file, not into a directory of its name.
      const dir = st.isDirectory();
      if (!opts.dryRun) await fsp.mkdir(dir ? to : path.dirname(to), { recursive: true });
      const args = ['-aAXH', '--numeric-ids', '--itemize-changes', ...(opts.dryRun ? ['--dry-run'] : []), dir ? from + '/' : from, dir ? to + '/' : to];
      output += (await runRsync(args, opts.signal)).stdout;
    }
  }
  return { kind: 'mirror', destination: dest.name, target, output };
}
