/**
 * `lifeboat run`: every coverage cell (a source x a destination) that is due and whose
 * destination is ready. Per destination, in order: device check (absent -> not mounted ->
 * wrong drive -> ready; only ready is written), enrolment marker, per-destination lock (runs
 * never interleave), then each cell: source guards, free-space estimate, backup (repository)
 * or rsync (mirror). Every outcome, "destination absent" included, goes to the state store.
 */
import * as path from 'node:path';
import { LocalBackend } from '../../core/backend/local-backend.ts';
import { Repository } from '../../core/repository/repository.ts';
import { backup } from '../../core/archiver/archiver.ts';
import { compilePatterns, readExcludeFile } from '../../core/filter/index.ts';
import { LifeboatError } from '../../core/errors.ts';
import { nominalIntervalSeconds, type Config, type Destination, type Source } from '../../config/index.ts';
import { checkSpace, isAway } from '../devices/index.ts';
import { commandOutput } from '../hooks/command-output.ts';
import { mirrorSource, mirrorStream } from '../mirror/mirror.ts';
import { destinationPassword } from './destination-password.ts';
import { lockDestination } from './destination-lock.ts';
import { estimateNewBytes, sourceGuardProblem } from './source-guards.ts';
import { sourceTag, type CellOutcome, type CellResult, type RunDeps } from './cell-context.ts';
import { checkEnrolled, enrolledLastSuccess, repositoryMismatch } from './enrolled-view.ts';

export interface RunSelection {
  readonly source?: string | undefined;
  readonly destination?: string | undefined;
  /** Only cells whose last success is older than their frequency (manual sources never). */
  readonly due?: boolean | undefined;
}

export function selectCells(config: Config, sel: RunSelection): { source: Source; destination: Destination }[] {
  if (sel.source && !config.sources.some((s) => s.name === sel.source)) throw new LifeboatError('USAGE', `No source named ${sel.source} in ${config.file}`);
  if (sel.destination && !config.destinations.some((d) => d.name === sel.destination)) throw new LifeboatError('USAGE', `No destination named ${sel.destination} in ${config.file}`);
  const out: { source: Source; destination: Destination }[] = [];
  for (const source of config.sources) {
    if (sel.source && source.name !== sel.source) continue;
    for (const dn of source.destinations) {
      if (sel.destination && dn !== sel.destination) continue;
      const destination = config.destinations.find((d) => d.name === dn);
      if (destination) out.push({ source, destination });
    }
  }
  return out;
}

export function isDue(source: Source, lastSuccessMs: number | undefined, nowMs: number): boolean {
  const interval = nominalIntervalSeconds(source.frequency);
  if (interval === undefined) return false;
  if (lastSuccessMs === undefined) return true;
  // A little slack so a daily timer firing a few seconds early still runs.
  return nowMs - lastSuccessMs >= interval * 1000 * 0.95;
}

export async function runCoverage(config: Config, sel: RunSelection, deps: RunDeps): Promise<CellResult[]> {
  const now = deps.now ?? (() => new Date());
  const cells = selectCells(config, sel);
  const results: CellResult[] = [];
  const byDest = new Map<string, { destination: Destination; sources: Source[] }>();
  for (const c of cells) {
    const e = byDest.get(c.destination.name) ?? { destination: c.destination, sources: [] };
    e.sources.push(c.source);
    byDest.set(c.destination.name, e);
  }
  const finish = (r: CellResult, startedAt: number): void => {
    results.push(r);
    if (r.outcome !== 'not-due') {
      deps.state.recordRun({ source: r.source, destination: r.destination, startedAt, finishedAt: startedAt + r.durationMs, outcome: r.outcome, bytes: r.bytes, files: r.files, snapshot: r.snapshot, error: r.error, repositoryId: r.repositoryId });
    }
    deps.onEvent?.({ type: 'cell-done', result: r });
  };
  for (const { destination, sources } of byDest.values()) {
    const started = now().getTime();
    const due = sources.filter((s) => !sel.due || isDue(s, enrolledLastSuccess(deps.state, s.name, destination.name)?.finishedAt, started));
    for (const s of sources) if (!due.includes(s)) finish({ source: s.name, destination: destination.name, outcome: 'not-due', files: 0, bytes: 0, durationMs: 0 }, started);
    if (due.length === 0) continue;
    const state = await checkEnrolled(destination, deps);
    if (state.state !== 'ready') {
      const outcome: CellOutcome = isAway(state) ? 'absent' : 'failed';
      for (const s of due) finish({ source: s.name, destination: destination.name, outcome, files: 0, bytes: 0, durationMs: 0, error: state.why }, started);
      continue;
    }
    deps.state.markSeen({ destination: destination.name, lastSeen: started, label: state.label, uuid: state.uuid });
    let lock;
    try {
      lock = await lockDestination(config.state_dir, destination.name, { waitMs: deps.lockWaitMs ?? 0 });
    } catch (e) {
      for (const s of due) finish({ source: s.name, destination: destination.name, outcome: 'failed', files: 0, bytes: 0, durationMs: 0, error: (e as Error).message }, started);
      continue;
    }
    try {
      await runDestination(config, destination, state, due, deps, finish, now);
    } finally {
      await lock.release();
    }
  }
  return results;
}

async function runDestination(
  config: Config,
  destination: Destination,
  state: { root: string; marker: { repository_id?: string | undefined } },
  sources: Source[],
  deps: RunDeps,
  finish: (r: CellResult, startedAt: number) => void,
  now: () => Date,
): Promise<void> {
  let repo: Repository | undefined;
  let setupError: string | undefined;
  if (destination.format === 'repository') {
    try {
      const password = await destinationPassword({ name: destination.name, passwordFile: destination.password.kind === 'file' ? destination.password.path : undefined, passwordCommand: destination.password.kind === 'command' ? destination.password.command.argv : undefined });
      repo = await Repository.open(new LocalBackend(destination.root), { password });
      setupError = repositoryMismatch(destination.name, { actual: repo.config.id, marker: state.marker.repository_id, enrolment: deps.state.enrolment(destination.name) });
    } catch (e) {
      setupError = (e as Error).message;
    }
  }
  try {
    for (const source of sources) {
      const startedAt = now().getTime();
      deps.onEvent?.({ type: 'cell-start', source: source.name, destination: destination.name });
      if (setupError) {
        finish({ source: source.name, destination: destination.name, outcome: 'failed', files: 0, bytes: 0, durationMs: 0, error: setupError }, startedAt);
        continue;
      }
      try {
        const r = await runCell(config, source, destination, repo, deps);
        finish({ ...r, durationMs: now().getTime() - startedAt, ...(repo !== undefined ? { repositoryId: repo.config.id } : {}) }, startedAt);
      } catch (e) {
        finish({ source: source.name, destination: destination.name, outcome: 'failed', files: 0, bytes: 0, durationMs: now().getTime() - startedAt, error: (e as Error).message }, startedAt);
      }
    }
  } finally {
    await repo?.close();
  }
}

async function runCell(config: Config, source: Source, destination: Destination, repo: Repository | undefined, deps: RunDeps): Promise<Omit<CellResult, 'durationMs'>> {
  const base = { source: source.name, destination: destination.name };
  if (destination.format === 'mirror' && source.sensitive) {
    throw new LifeboatError('USAGE', `source ${source.name} is sensitive and ${destination.name} is an unencrypted mirror: refusing to copy it there`);
  }
  if (source.kind === 'paths') {
    const problem = await sourceGuardProblem(source, deps.probe);
    if (problem) throw new LifeboatError('USAGE', problem);
    const last = enrolledLastSuccess(deps.state, source.name, destination.name);
    const needed = await estimateNewBytes(source.paths, last?.startedAt);
    const space = await checkSpace(destination.root, needed, { probe: deps.probe });
    if (!space.ok) throw new LifeboatError('NO_SPACE', space.why);
  }
  const patterns: string[] = [];
  if (source.kind === 'paths') {
    patterns.push(...source.exclude);
    for (const f of source.exclude_from) patterns.push(...(await readExcludeFile(f, deps.env)));
  }
  const exclude = patterns.length > 0 ? compilePatterns(patterns) : undefined;
  const progress = (e: { type: string; files?: number; bytes?: number; totalFiles?: number | undefined; totalBytes?: number | undefined; path?: string; message?: string }): void => {
    if (e.type === 'progress') deps.onEvent?.({ type: 'progress', ...base, files: e.files ?? 0, bytes: e.bytes ?? 0, totalFiles: e.totalFiles, totalBytes: e.totalBytes });
    else if (e.type === 'error') deps.onEvent?.({ type: 'file-error', ...base, path: e.path ?? '', message: e.message ?? '' });
  };
  if (destination.format === 'mirror') {
    if (source.kind === 'paths') {
      const r = await mirrorSource({ root: destination.root, name: source.name, paths: source.paths, exclude, ...(deps.signal ? { signal: deps.signal } : {}) });
      return { ...base, outcome: 'success', files: r.files, bytes: r.bytes };
    }
    const r = await mirrorStream({ root: destination.root, name: source.name, filename: source.filename, stream: commandOutput(source.name, source.command.argv, deps.signal ? { signal: deps.signal } : {}) });
    return { ...base, outcome: 'success', files: r.files, bytes: r.bytes };
  }
  if (!repo) throw new Error('repository not open');
  const lock = await repo.lock(false, 30_000);
  try {
    // The tree memo and the decoded index live in the state directory (tree-memo.ts, index-cache.ts).
    const cache = path.join(config.state_dir, 'cache');
    repo.useIndexCache(cache);
    await repo.ensureIndex();
    const tags = [sourceTag(source), ...source.tags];
    const summary =
      source.kind === 'paths'
        ? await backup(repo, { paths: source.paths, exclude, excludePatterns: patterns, tags, host: deps.hostname, onEvent: progress, memoDir: cache, ...(deps.signal ? { signal: deps.signal } : {}) })
        : await backup(repo, { stdin: { stream: commandOutput(source.name, source.command.argv, deps.signal ? { signal: deps.signal } : {}), filename: source.filename }, tags, host: deps.hostname, onEvent: progress, ...(deps.signal ? { signal: deps.signal } : {}) });
    return {
      ...base,
      outcome: summary.errors.length > 0 ? 'partial' : 'success',
      snapshot: summary.snapshotId,
      files: summary.totalFilesProcessed,
      bytes: summary.dataAdded,
      ...(summary.errors.length > 0 ? { error: `${summary.errors.length} files could not be read, e.g. ${summary.errors[0]!.path}: ${summary.errors[0]!.message}` } : {}),
    };
  } finally {
    await lock.release();
  }
}
