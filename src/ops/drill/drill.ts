/**
 * Restore drills: a backup is only as good as its latest restore test.
 *
 * For each cell (source x repository destination) a drill takes the source's newest snapshot,
 * lists its files in path order and restores the next slice of them into a scratch directory,
 * so that after `rotation` drills every file has been restored once (drill-slice.ts; the cursor
 * and round live in the state store; coverage = share of files restored in the current round).
 * Every byte is verified against the blob ids on the way; a restored file whose live original
 * still has the snapshot's size and mtime must also equal the live file. A rotating `check
 * --read-data-subset n/rotation` re-reads a slice of the packs. Application drills: a
 * PostgreSQL dump, a command's output or dump files kept in a paths source
 * (dump-files-drill.ts), is loaded into a throwaway server and queried (postgres-drill.ts); with
 * an `age_identity`, age and SOPS files are decrypted with it (age-drill.ts). A passed drill tags
 * the snapshot `verified` (the last-known-good copy retention never drops), which rewrites it
 * under a new id as `restic tag` does: the result names both. A mirror destination has no
 * snapshot: its drill compares the mirror with the live source (mirror-drill.ts), with the same
 * rotation. A cell that cannot be drilled (no repository, a wrong password) fails with its
 * reason and the drills of the other cells go on.
 */
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { tmpdir } from 'node:os';
import { LocalBackend } from '../../core/backend/index.ts';
import { Repository } from '../../core/repository/repository.ts';
import { check } from '../../core/checker/checker.ts';
import { addSnapshotTags } from '../../core/repository/snapshot-tags.ts';
import { errorInfo } from '../../core/errors.ts';
import { toUnixNs } from '../../core/format/go-time.ts';
import type { SnapshotId, TreeId } from '../../core/ids.ts';
import type { Config, Destination, Source } from '../../config/index.ts';
import type { Env } from '../../core/filter/index.ts';
import { checkDestination, type DeviceProbe } from '../devices/index.ts';
import { mirrorPaths } from '../mirror/mirror.ts';
import type { StateStore } from '../state/state-store.ts';
import { deviceView, sourceTag } from '../jobs/cell-context.ts';
import { openDestinationRepository } from '../destination/index.ts';
import { selectCells } from '../jobs/run-coverage.ts';
import { enrolledLastSuccess } from '../jobs/enrolled-view.ts';
import { postgresDrill } from './postgres-drill.ts';
import { dumpFilesDrill } from './dump-files-drill.ts';
import { ageDrill, isAgeName } from './age-drill.ts';
import { sha256File } from './file-digest.ts';
import { mirrorDrill, sourceExcludes } from './mirror-drill.ts';
import { drillSlice } from './drill-slice.ts';
import { listFiles, restoreFile, type DrillFinding, type FileEntry } from './snapshot-files.ts';

export type { DrillFinding } from './snapshot-files.ts';

export const VERIFIED_TAG = 'verified';

export interface DrillResult {
  readonly source: string;
  readonly destination: string;
  readonly outcome: 'passed' | 'failed' | 'skipped';
  /** The snapshot as it exists now: after a pass, the one tagged `verified`. */
  readonly snapshot?: string | undefined;
  /** The id the drilled snapshot had before tagging rewrote it (as `restic tag` does); set only when it changed. */
  readonly retaggedFrom?: string | undefined;
  readonly filesChecked: number;
  readonly bytesChecked: number;
  readonly totalFiles: number;
  readonly coverage: number;
  readonly round: number;
  readonly packsRead: number;
  readonly findings: readonly DrillFinding[];
  readonly app?: string | undefined;
  readonly why?: string | undefined;
  /** A mirror is drilled by comparing it with the live source (mirror-drill.ts), a repository by restoring. */
  readonly format: 'repository' | 'mirror';
  /** What the drill saw that is no failure (a mirror's files the source no longer has, ...). */
  readonly notes: readonly string[];
}

async function liveMatches(entry: FileEntry, restoredSha: string): Promise<string | undefined> {
  let st;
  try {
    st = await fsp.lstat(entry.path, { bigint: true });
  } catch {
    return undefined; // gone from the live system: nothing to compare
  }
  if (!st.isFile() || st.size !== entry.node.size || st.mtimeNs !== toUnixNs(entry.node.mtime)) return undefined; // changed since: fine
  return (await sha256File(entry.path)).sha === restoredSha ? undefined : 'differs from the live file although size and mtime are unchanged (silent corruption on one side)';
}

export interface DrillOptions {
  readonly source?: string | undefined;
  readonly destination?: string | undefined;
  readonly full?: boolean | undefined;
  /** Drills per full round (default 7: a weekly rotation of daily drills). */
  readonly rotation?: number;
}

export interface DrillDeps {
  readonly probe: DeviceProbe;
  readonly state: StateStore;
  /** For `$VAR`s in a source's exclude files (a mirror drill applies the source's excludes). */
  readonly env?: Env | undefined;
  readonly now?: () => Date;
  readonly onResult?: (r: DrillResult) => void;
}

export async function runDrills(config: Config, opts: DrillOptions, deps: DrillDeps): Promise<DrillResult[]> {
  const results: DrillResult[] = [];
  const now = deps.now ?? (() => new Date());
  for (const { source, destination } of selectCells(config, { source: opts.source, destination: opts.destination })) {
    // One destination that cannot be drilled (no repository, a wrong password) is a failed drill
    // of its cells, never the end of the drills of the others.
    const r = await drillCell(source, destination, opts, deps, now).catch((e: unknown): DrillResult => {
      const info = errorInfo(e);
      return { ...emptyResult(source, destination), outcome: 'failed', why: `${info.message} [${info.code}]` };
    });
    results.push(r);
    if (r.outcome !== 'skipped') {
      deps.state.recordDrill({ source: source.name, destination: destination.name, snapshot: r.snapshot ?? '', at: now().getTime(), ok: r.outcome === 'passed', filesChecked: r.filesChecked, bytesChecked: r.bytesChecked, coverage: r.coverage, details: r.findings.length ? JSON.stringify(r.findings.slice(0, 50)) : r.why });
    }
    deps.onResult?.(r);
  }
  return results;
}

function emptyResult(source: Source, destination: Destination): Omit<DrillResult, 'outcome'> {
  return { source: source.name, destination: destination.name, filesChecked: 0, bytesChecked: 0, totalFiles: 0, coverage: 0, round: 0, packsRead: 0, findings: [], format: destination.format, notes: [] };
}

function rotationOf(opts: DrillOptions): number {
  return Math.max(1, opts.rotation ?? 7);
}

/** A command source whose output is a PostgreSQL dump, which the PostgreSQL drill loads. */
function dumpsPostgres(source: Source): source is Source & { kind: 'command' } {
  return source.kind === 'command' && /pg_dump/.test(source.command.text);
}

async function drillCell(source: Source, destination: Destination, opts: DrillOptions, deps: DrillDeps, now: () => Date): Promise<DrillResult> {
  const base = emptyResult(source, destination);
  const st = await checkDestination(deviceView(destination), deps.probe);
  if (st.state !== 'ready') return { ...base, outcome: 'skipped', why: st.why };
  if (destination.format === 'mirror') return drillMirror(source, destination, opts, deps);
  // A drill passes only for the repository enrolled on this server: it tags what it verified.
  const repo = await openDestinationRepository(destination, st, { others: source.destinations.filter((d) => d !== destination.name), enrolledRepositoryId: deps.state.enrolment(destination.name)?.repositoryId });
  const scratch = await fsp.mkdtemp(path.join(tmpdir(), 'lifeboat-drill-'));
  try {
    await repo.loadIndex();
    // Safety snapshots taken before an in-place restore hold whatever was live then, not a backup.
    const snaps = (await repo.listSnapshots({ onError: () => {} })).filter((s) => s.snapshot.tags?.includes(sourceTag(source)) && !s.snapshot.tags?.includes('pre-restore'));
    const latest = snaps[snaps.length - 1];
    if (!latest) return { ...base, outcome: 'skipped', why: 'no snapshot of this source yet' };
    const findings: DrillFinding[] = [];
    const files: FileEntry[] = [];
    await listFiles(repo, latest.snapshot.tree as TreeId, '/', files, findings);
    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const rotation = rotationOf(opts);
    const { sample, round, coverage, next } = drillSlice(files, deps.state.drillCursor(source.name, destination.name), { rotation, full: opts.full === true });
    let bytes = 0;
    let i = 0;
    for (const f of sample) {
      const dest = path.join(scratch, `f${i++}`);
      try {
        const r = await restoreFile(repo, f.node, dest);
        bytes += r.size;
        const live = source.kind === 'paths' ? await liveMatches(f, r.sha) : undefined;
        if (live) findings.push({ path: f.path, problem: live });
      } catch (e) {
        findings.push({ path: f.path, problem: `cannot be restored: ${(e as Error).message}` });
      } finally {
        await fsp.rm(dest, { force: true });
      }
    }
    if (next) deps.state.setDrillCursor(source.name, destination.name, next.cursor, next.round);
    // Rotate through the packs as well: subset n of `rotation`.
    const n = ((round - 1) * rotation + Math.floor(coverage * rotation)) % rotation + 1;
    const c = await check(repo, { readData: opts.full ? { n: 1, m: 1 } : { n, m: rotation } });
    for (const e of c.errors) {
      const what = `${e.kind} ${e.id.slice(0, 8)}`;
      findings.push({ path: what, problem: e.message.startsWith(what + ': ') ? e.message.slice(what.length + 2) : e.message });
    }
    const apps: string[] = [];
    if (dumpsPostgres(source) && findings.length === 0) {
      const dump = files.find((f) => f.path === '/' + source.filename);
      if (dump) {
        const dest = path.join(scratch, 'dump.sql');
        await restoreFile(repo, dump.node, dest);
        const pg = await postgresDrill(dest);
        apps.push(pg.summary);
        if (!pg.ok) findings.push({ path: '/' + source.filename, problem: `PostgreSQL drill failed: ${pg.summary}` });
      }
    }
    if (source.kind === 'paths') {
      const dumps = await dumpFilesDrill({
        files,
        position: sample[0] !== undefined ? files.indexOf(sample[0]) / files.length : 0,
        full: opts.full === true,
        scratch,
        skip: new Set(findings.map((f) => f.path)),
        restore: (f, dest) => restoreFile(repo, f.node, dest),
      });
      if (dumps.summary !== undefined) apps.push(dumps.summary);
      findings.push(...dumps.findings);
    }
    if (source.age_identity !== undefined) {
      const age = await ageDrill({
        identity: source.age_identity,
        files,
        startAt: sample[0]?.path,
        full: opts.full === true,
        rotation,
        scratch,
        skip: new Set(findings.map((f) => f.path)),
        restore: (f, dest) => restoreFile(repo, f.node, dest),
      });
      apps.push(age.summary);
      findings.push(...age.findings);
    } else if (source.sensitive) {
      const named = files.filter((f) => isAgeName(f.path)).length;
      if (named > 0) apps.push(`age: ${named} *.age file${named === 1 ? '' : 's'} not decryption-tested (no age_identity)`);
    }
    const app = apps.length > 0 ? apps.join('; ') : undefined;
    const ok = findings.length === 0;
    // Tagging rewrites the snapshot under a new id (as `restic tag`); report the one that exists.
    let snapshotId: string = latest.id;
    if (ok) {
      const lock = await repo.lock(true, 30_000);
      try {
        snapshotId = await addSnapshotTags(repo, latest.id as SnapshotId, [VERIFIED_TAG]);
      } finally {
        await lock.release();
      }
    }
    void now;
    return { source: source.name, destination: destination.name, outcome: ok ? 'passed' : 'failed', snapshot: snapshotId, ...(snapshotId !== latest.id ? { retaggedFrom: latest.id } : {}), filesChecked: sample.length, bytesChecked: bytes, totalFiles: files.length, coverage, round, packsRead: c.packsRead, findings, app, format: 'repository', notes: [] };
  } finally {
    await fsp.rm(scratch, { recursive: true, force: true });
    await repo.close();
  }
}

async function drillMirror(source: Source, destination: Destination, opts: DrillOptions, deps: DrillDeps): Promise<DrillResult> {
  const lastRunAt = enrolledLastSuccess(deps.state, source.name, destination.name)?.startedAt;
  if (lastRunAt === undefined && !existsSync(mirrorPaths(destination.root, source.name, '').target)) {
    return { ...emptyResult(source, destination), outcome: 'skipped', why: 'no mirror run of this source yet' };
  }
  const m = await mirrorDrill({
    root: destination.root,
    source,
    exclude: await sourceExcludes(source, deps.env ?? {}),
    lastRunAt,
    cursor: deps.state.drillCursor(source.name, destination.name),
    rotation: rotationOf(opts),
    full: opts.full === true,
  });
  if (m.next) deps.state.setDrillCursor(source.name, destination.name, m.next.cursor, m.next.round);
  const findings = [...m.findings];
  let app: string | undefined;
  if (m.outputFile !== undefined && dumpsPostgres(source) && findings.length === 0) {
    const pg = await postgresDrill(m.outputFile);
    app = pg.summary;
    if (!pg.ok) findings.push({ path: m.outputFile, problem: `PostgreSQL drill failed: ${pg.summary}` });
  }
  const { filesChecked, bytesChecked, totalFiles, coverage, round, notes } = m;
  return { ...emptyResult(source, destination), outcome: findings.length === 0 ? 'passed' : 'failed', filesChecked, bytesChecked, totalFiles, coverage, round, findings, notes, app };
}
