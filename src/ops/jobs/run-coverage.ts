/**
 * `lifeboat run`: every coverage cell (a source x a destination) that is due and whose
 * destination is ready. Plan first (planRun: which cells are due, where each destination
 * stands), then per destination, in order: enrolment marker, per-destination lock (runs never
 * interleave), then each cell: source guards, free-space estimate (mirrors only, see
 * mirrorBytesToWrite), backup (repository) or rsync (mirror). Every outcome but "not due",
 * "destination absent" and "interrupted" included, goes to the state store with its error code.
 * `--dry-run` is the same plan with the source guards run and nothing written or recorded.
 *
 * Outcomes of a destination that is not ready: a USB drive that is unplugged or not mounted is
 * `absent` (skipped: drives come and go); a NAS or local destination is meant to be always there,
 * so the same state is a failure. Both carry DEVICE_UNAVAILABLE. After SIGINT/SIGTERM (the
 * signal) the cell in progress ends `interrupted` and no further cell starts.
 */
import * as path from 'node:path';
import { LocalBackend } from '../../core/backend/index.ts';
import { Repository } from '../../core/repository/repository.ts';
import { backup } from '../../core/archiver/archiver.ts';
import { compilePatterns } from '../../core/filter/index.ts';
import { LifeboatError, errorInfo, type ErrorInfo } from '../../core/errors.ts';
import { closest, nominalIntervalSeconds, type Config, type Destination, type Source } from '../../config/index.ts';
import { checkSpace, isAway, type EnrolledState } from '../devices/index.ts';
import { commandOutput } from '../hooks/command-output.ts';
import { mirrorCopyPath, mirrorSource, mirrorStream } from '../mirror/mirror.ts';
import { repositoryPassword } from '../destination/index.ts';
import { lockDestination } from './destination-lock.ts';
import { cellRefusal, mirrorBytesToWrite, sourceExcludePatterns } from './source-guards.ts';
import { sourceTag, type CellOutcome, type CellResult, type RunDeps } from './cell-context.ts';
import { checkEnrolled, enrolledLastSuccess, repositoryMismatch } from './enrolled-view.ts';

export interface RunSelection {
  readonly source?: string | undefined;
  readonly destination?: string | undefined;
  /** Only cells whose last success is older than their frequency (manual sources never). */
  readonly due?: boolean | undefined;
}

/** A name given on the command line that the config does not have, with the nearest one. */
function noSuch(what: 'source' | 'destination', name: string, names: string[], file: string): LifeboatError {
  const near = closest(name, names);
  return new LifeboatError('USAGE', `No ${what} named ${name} in ${file}${near ? `: did you mean ${near}?` : ''}`, {
    hint: names.length > 0 ? `the ${what}s there: ${names.join(', ')}` : `${file} declares no ${what}s`,
  });
}

export function selectCells(config: Config, sel: RunSelection): { source: Source; destination: Destination }[] {
  if (sel.source && !config.sources.some((s) => s.name === sel.source)) throw noSuch('source', sel.source, config.sources.map((s) => s.name), config.file);
  if (sel.destination && !config.destinations.some((d) => d.name === sel.destination)) throw noSuch('destination', sel.destination, config.destinations.map((d) => d.name), config.file);
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

/** One destination of a run's plan: where it stands and which of its cells are due. */
export interface DestinationPlan {
  readonly destination: Destination;
  readonly state: EnrolledState;
  readonly due: Source[];
  readonly notDue: Source[];
}

/** What a run would do, touching nothing: due cells and destination states, per destination. */
export async function planRun(config: Config, sel: RunSelection, deps: Pick<RunDeps, 'probe' | 'state'>, nowMs: number): Promise<DestinationPlan[]> {
  const byDest = new Map<string, { destination: Destination; sources: Source[] }>();
  for (const c of selectCells(config, sel)) {
    const e = byDest.get(c.destination.name) ?? { destination: c.destination, sources: [] };
    e.sources.push(c.source);
    byDest.set(c.destination.name, e);
  }
  const plan: DestinationPlan[] = [];
  for (const { destination, sources } of byDest.values()) {
    const due = sources.filter((s) => !sel.due || isDue(s, enrolledLastSuccess(deps.state, s.name, destination.name)?.finishedAt, nowMs));
    // The plan records nothing (run --dry-run shows it); the run checks again before it writes.
    plan.push({ destination, state: await checkEnrolled(destination, deps, { adopt: false }), due, notDue: sources.filter((s) => !due.includes(s)) });
  }
  return plan;
}

/** A destination that is not ready, as an outcome: a drive may be away, a share or local disk may not. */
export function unavailable(destination: Destination, state: Exclude<EnrolledState, { state: 'ready' }>): { outcome: CellOutcome } & ErrorInfo {
  // The enrolled repository gone from a drive or share that is here: a lost backup (its sentence says so).
  if (state.state === 'missing') return { outcome: 'failed', code: 'NO_REPOSITORY', message: state.why };
  const hint =
    state.state === 'not-enrolled'
      ? `prepare it once with \`lifeboat drive enroll ${destination.name}\``
      : destination.kind !== 'usb' && isAway(state)
        ? `mount ${destination.kind === 'nas' ? 'the share' : 'the disk'} that holds ${destination.root}, then run again`
        : undefined; // a drive's sentence names the drive expected and what to do
  return { outcome: isAway(state) && destination.kind === 'usb' ? 'absent' : 'failed', code: 'DEVICE_UNAVAILABLE', message: state.why, ...(hint ? { hint } : {}) };
}

export async function runCoverage(config: Config, sel: RunSelection, deps: RunDeps): Promise<CellResult[]> {
  const now = deps.now ?? (() => new Date());
  const results: CellResult[] = [];
  const finish = (r: CellResult, startedAt: number): void => {
    results.push(r);
    if (r.outcome !== 'not-due') {
      deps.state.recordRun({ source: r.source, destination: r.destination, startedAt, finishedAt: startedAt + r.durationMs, outcome: r.outcome, bytes: r.bytes, files: r.files, snapshot: r.snapshot, error: r.error, code: r.code, repositoryId: r.repositoryId });
    }
    deps.onEvent?.({ type: 'cell-done', result: r });
  };
  for (const { destination, due, notDue } of await planRun(config, sel, deps, now().getTime())) {
    const started = now().getTime();
    for (const s of notDue) finish({ source: s.name, destination: destination.name, outcome: 'not-due', files: 0, filesWritten: 0, bytes: 0, durationMs: 0 }, started);
    if (due.length === 0) continue;
    if (deps.signal?.aborted) break;
    // Checked again right before the writes: the cells of the destinations before this one may
    // have taken an hour, and the plan's answer is only what `--dry-run` shows.
    const state = await checkEnrolled(destination, deps);
    if (state.state !== 'ready') {
      const u = unavailable(destination, state);
      for (const s of due) finish(failedCell(s, destination, u, 0, u.outcome), started);
      continue;
    }
    deps.state.markSeen({ destination: destination.name, lastSeen: started, label: state.label, uuid: state.uuid });
    let lock;
    try {
      lock = await lockDestination(config.state_dir, destination.name, { waitMs: deps.lockWaitMs ?? 0 });
    } catch (e) {
      for (const s of due) finish(failedCell(s, destination, errorInfo(e), 0), started);
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

/** A cell that did not run to the end; an abort is `interrupted`, whatever the caller thought. */
function failedCell(source: Source, destination: Destination, info: ErrorInfo, durationMs: number, outcome: CellOutcome = 'failed'): CellResult {
  return {
    source: source.name,
    destination: destination.name,
    outcome: info.code === 'INTERRUPTED' ? 'interrupted' : outcome,
    files: 0,
    filesWritten: 0,
    bytes: 0,
    durationMs,
    error: info.message,
    code: info.code,
    ...(info.hint ? { hint: info.hint } : {}),
  };
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
  let setupError: ErrorInfo | undefined;
  if (destination.format === 'repository') {
    try {
      const password = await repositoryPassword(destination);
      repo = await Repository.open(new LocalBackend(destination.root), { password });
      const mismatch = repositoryMismatch(destination.name, { actual: repo.config.id, marker: state.marker.repository_id, enrolment: deps.state.enrolment(destination.name) });
      if (mismatch) setupError = { code: 'DEVICE_UNAVAILABLE', message: mismatch };
    } catch (e) {
      setupError = errorInfo(e);
    }
  }
  try {
    for (const source of sources) {
      // After a signal no cell starts: the one in progress is recorded as interrupted, the rest not at all.
      if (deps.signal?.aborted) break;
      const startedAt = now().getTime();
      deps.onEvent?.({ type: 'cell-start', source: source.name, destination: destination.name });
      if (setupError) {
        finish(failedCell(source, destination, setupError, 0), startedAt);
        continue;
      }
      try {
        const r = await runCell(config, source, destination, repo, deps);
        finish({ ...r, durationMs: now().getTime() - startedAt, ...(repo !== undefined ? { repositoryId: repo.config.id } : {}) }, startedAt);
      } catch (e) {
        const info = deps.signal?.aborted ? errorInfo(deps.signal.reason) : errorInfo(e);
        finish(failedCell(source, destination, info.code === 'NO_SPACE' && repo ? { ...info, hint: `free space on ${destination.name}; \`lifeboat forget --prune --destination ${destination.name}\` removes what this run left there` } : info, now().getTime() - startedAt), startedAt);
      }
    }
  } finally {
    await repo?.close();
  }
}

async function runCell(config: Config, source: Source, destination: Destination, repo: Repository | undefined, deps: RunDeps): Promise<Omit<CellResult, 'durationMs'>> {
  const base = { source: source.name, destination: destination.name };
  const refusal = await cellRefusal(source, destination, deps.probe);
  if (refusal) throw refusal;
  const patterns = await sourceExcludePatterns(source, deps.env);
  const exclude = patterns.length > 0 ? compilePatterns(patterns) : undefined;
  // Only a mirror is estimated: rsync writes exactly the files its quick check finds changed.
  // A repository is not: deduplication decides what it writes, and no estimate from file
  // metadata knows that (files touched, moved or restored are counted in full, and a nearly full
  // drive refused every run from then on, although each would add a few KiB). Running out
  // of space there is a clean NO_SPACE failure instead: the archiver writes packs before the
  // index that names them and leaves no temp file and no snapshot, so the repository stays valid
  // (restic checks it); the packs it finished are in no index, and `forget --prune` removes them.
  // The price: a run that truly does not fit fills the drive before it fails, where an estimate
  // would have refused it early. An estimate that refuses runs which fit costs more: no backup.
  if (destination.format === 'mirror' && source.kind === 'paths') {
    const needed = await mirrorBytesToWrite(source.paths, (p) => mirrorCopyPath(destination.root, source.name, p), exclude);
    const space = await checkSpace(destination.root, needed, { probe: deps.probe });
    if (!space.ok) throw new LifeboatError('NO_SPACE', space.why, { hint: 'the mirror is as the last run left it' });
  }
  const progress = (e: { type: string; files?: number; bytes?: number; totalFiles?: number | undefined; totalBytes?: number | undefined; path?: string; message?: string }): void => {
    if (e.type === 'progress') deps.onEvent?.({ type: 'progress', ...base, files: e.files ?? 0, bytes: e.bytes ?? 0, totalFiles: e.totalFiles, totalBytes: e.totalBytes });
    else if (e.type === 'error') deps.onEvent?.({ type: 'file-error', ...base, path: e.path ?? '', message: e.message ?? '' });
  };
  if (destination.format === 'mirror') {
    if (source.kind === 'paths') {
      const r = await mirrorSource({ root: destination.root, name: source.name, paths: source.paths, exclude, ...(deps.signal ? { signal: deps.signal } : {}) });
      return { ...base, outcome: 'success', files: r.files, filesWritten: r.filesWritten, bytes: r.bytes };
    }
    const r = await mirrorStream({ root: destination.root, name: source.name, filename: source.filename, stream: commandOutput(source.name, source.command.argv, deps.signal ? { signal: deps.signal } : {}) });
    return { ...base, outcome: 'success', files: r.files, filesWritten: r.filesWritten, bytes: r.bytes };
  }
  if (!repo) throw new LifeboatError('INTERNAL', `Cannot back up ${source.name} to ${destination.name}: the repository is not open`);
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
      filesWritten: summary.filesNew + summary.filesChanged,
      bytes: summary.dataAdded,
      ...(summary.errors.length > 0 ? { error: `${summary.errors.length === 1 ? '1 file' : `${summary.errors.length} files`} could not be read, e.g. ${summary.errors[0]!.path}: ${summary.errors[0]!.message}`, code: 'IO' as const } : {}),
    };
  } finally {
    await lock.release();
  }
}
