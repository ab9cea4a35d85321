/**
 * The drill of a mirror destination: a mirror has no blob ids to verify, so its copy is proven
 * by comparing it with the live source (layout: mirror.ts, `<root>/current/<source>/...`).
 *
 * - Every drill lists both trees (metadata only; the source's excludes apply as for the run).
 * - The mirror's files, sorted by live path, are sampled in rotation (drill-slice.ts, the same
 *   cursor and round as a repository drill): a sampled file whose live copy still has the
 *   mirror's size and mtime (rsync -a keeps mtimes; to the nanosecond where the mirror's
 *   filesystem does, else within rsync's 1 s window) must have equal content: both are hashed.
 *   A live file changed since the mirror run cannot be judged and is counted, not compared.
 * - A live file missing from the mirror is a finding when its ctime (which a rename or copy
 *   into the tree also sets) is older than the start of the last successful mirror run: that
 *   run should have copied it. Newer ones simply wait for the next run.
 * - Files in the mirror that the source no longer has are noted, not failed: rsync --delete
 *   removes them on the next run, and their old copies live on under versions/.
 * A command source's mirror holds one file (`<filename>`): it must be there and readable; what
 * loads it (a PostgreSQL dump) is the caller's application drill.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Source } from '../../config/index.ts';
import { compilePatterns, type Env } from '../../core/filter/index.ts';
import { sourceExcludePatterns } from '../jobs/source-guards.ts';
import { keepsNanoseconds, mirrorPaths, type ExcludeMatcher } from '../mirror/mirror.ts';
import { drillSlice, type DrillCursor } from './drill-slice.ts';
import { sha256File } from './file-digest.ts';
import type { DrillFinding } from './snapshot-files.ts';

/** At most this many missing files are named one by one; the rest are counted in one finding. */
const MAX_NAMED_MISSING = 20;

export interface MirrorDrillInput {
  /** The destination's root (holding current/ and versions/). */
  readonly root: string;
  readonly source: Source;
  readonly exclude: ExcludeMatcher | undefined;
  /** Start (ms) of the last successful mirror run of this cell; undefined when none is recorded. */
  readonly lastRunAt: number | undefined;
  readonly cursor: DrillCursor | undefined;
  readonly rotation: number;
  readonly full: boolean;
}

export interface MirrorDrillOutcome {
  readonly filesChecked: number;
  /** Of filesChecked, how many were hashed on both sides (the rest changed live since the run). */
  readonly compared: number;
  readonly bytesChecked: number;
  readonly totalFiles: number;
  readonly coverage: number;
  readonly round: number;
  readonly next: DrillCursor | undefined;
  readonly findings: readonly DrillFinding[];
  readonly notes: readonly string[];
  /** For a command source: the mirrored output file, when it is there. */
  readonly outputFile?: string | undefined;
}

interface Pair {
  /** The live path (what findings name). */
  readonly path: string;
  readonly mirror: string;
}

export async function mirrorDrill(input: MirrorDrillInput): Promise<MirrorDrillOutcome> {
  const { target } = mirrorPaths(input.root, input.source.name, '');
  if (input.source.kind === 'command') return commandOutputDrill(path.join(target, input.source.filename));
  const findings: DrillFinding[] = [];
  const live = new Map<string, { ctimeMs: number }>();
  const mirrored: Pair[] = [];
  for (const src of input.source.paths) {
    const dest = path.join(target, path.basename(src) || 'root');
    let st;
    try {
      st = await fsp.stat(src);
    } catch (e) {
      findings.push({ path: src, problem: `cannot be read on this machine, so its mirror cannot be compared: ${(e as Error).message}` });
      continue;
    }
    if (st.isDirectory()) {
      await walk(src, (abs, s) => void live.set(abs, { ctimeMs: s.ctimeMs }), input.exclude);
      await walk(dest, (abs) => void mirrored.push({ path: path.join(src, path.relative(dest, abs)), mirror: abs }));
    } else {
      live.set(src, { ctimeMs: st.ctimeMs });
      if (await isFile(dest)) mirrored.push({ path: src, mirror: dest });
    }
  }
  mirrored.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  // An unmounted share or an emptied source would make every mirrored file "gone live" and the
  // drill compare nothing: that is no pass.
  if (live.size === 0 && mirrored.length > 0 && findings.length === 0) {
    findings.push({ path: input.source.paths.join(', '), problem: `holds no files on this machine (not mounted?) while the mirror holds ${count(mirrored.length, 'file')}: nothing to compare with` });
  }

  const inMirror = new Set(mirrored.map((m) => m.path));
  const missing = [...live].filter(([p]) => !inMirror.has(p)).sort(([a], [b]) => (a < b ? -1 : 1));
  const notes: string[] = [];
  if (input.lastRunAt === undefined) {
    if (missing.length > 0) notes.push(`${count(missing.length, 'live file')} not in the mirror (no mirror run recorded here to tell whether ${missing.length === 1 ? 'it' : 'they'} should be)`);
  } else {
    const overdue = missing.filter(([, s]) => s.ctimeMs < input.lastRunAt!);
    for (const [p] of overdue.slice(0, MAX_NAMED_MISSING)) findings.push({ path: p, problem: `missing from the mirror, although it was there before the last mirror run (${new Date(input.lastRunAt).toISOString()})` });
    if (overdue.length > MAX_NAMED_MISSING) findings.push({ path: target, problem: `and ${count(overdue.length - MAX_NAMED_MISSING, 'more file')} missing from the mirror` });
    const newer = missing.length - overdue.length;
    if (newer > 0) notes.push(`${count(newer, 'live file')} newer than the last mirror run, not in the mirror yet`);
  }
  const extra = mirrored.filter((m) => !live.has(m.path));
  if (extra.length > 0) notes.push(`${count(extra.length, 'file')} in the mirror no longer in the source (removed by the next run, kept under versions/), e.g. ${extra[0]!.mirror}`);

  const { sample, round, coverage, next } = drillSlice(mirrored, input.cursor, { rotation: input.rotation, full: input.full });
  const ns = (await keepsNanoseconds(input.root)) ?? false;
  let compared = 0;
  let bytes = 0;
  for (const f of sample) {
    const problem = await compareCopy(f, ns);
    if (problem === 'changed') continue;
    compared++;
    if (typeof problem === 'number') bytes += problem;
    else findings.push({ path: f.path, problem });
  }
  const changed = sample.length - compared;
  if (changed > 0) notes.push(`${count(changed, 'sampled file')} changed live since the mirror run, not compared`);
  return { filesChecked: sample.length, compared, bytesChecked: bytes, totalFiles: mirrored.length, coverage, round, next, findings, notes };
}

/** The matcher a run of `source` excludes with (as run-coverage builds it), undefined when it excludes nothing. */
export async function sourceExcludes(source: Source, env: Env): Promise<ExcludeMatcher | undefined> {
  const patterns = await sourceExcludePatterns(source, env);
  return patterns.length > 0 ? compilePatterns(patterns) : undefined;
}

/** Bytes compared when the copy equals the live file; 'changed' when the live file moved on; else the problem. */
async function compareCopy(f: Pair, nanoseconds: boolean): Promise<number | 'changed' | string> {
  let l, m;
  try {
    l = await fsp.lstat(f.path, { bigint: true });
  } catch {
    return 'changed'; // gone live since the listing: nothing to compare with
  }
  try {
    m = await fsp.lstat(f.mirror, { bigint: true });
  } catch (e) {
    return `cannot be read from the mirror (${f.mirror}): ${(e as Error).message}`;
  }
  const window = nanoseconds ? 0n : 1_000_000_000n;
  const dt = l.mtimeNs - m.mtimeNs;
  if (!l.isFile() || l.size !== m.size || dt > window || -dt > window) return 'changed';
  let copy, orig;
  try {
    copy = await sha256File(f.mirror);
  } catch (e) {
    return `cannot be read from the mirror (${f.mirror}): ${(e as Error).message}`;
  }
  try {
    orig = await sha256File(f.path);
  } catch {
    return 'changed';
  }
  return copy.sha === orig.sha ? copy.size : `the mirror's copy ${f.mirror} differs from the live file although size and mtime are unchanged (silent corruption on one side)`;
}

async function commandOutputDrill(file: string): Promise<MirrorDrillOutcome> {
  const base = { filesChecked: 1, totalFiles: 1, coverage: 1, round: 1, next: undefined, notes: [] };
  try {
    const r = await sha256File(file);
    return { ...base, compared: 1, bytesChecked: r.size, findings: [], outputFile: file };
  } catch (e) {
    return { ...base, compared: 0, bytesChecked: 0, findings: [{ path: file, problem: `the mirrored output cannot be read: ${(e as Error).message}` }] };
  }
}

/** Calls `onFile` for every regular file below `dir` (symlinks are not followed); excluded paths are skipped with what is below them. */
async function walk(dir: string, onFile: (abs: string, st: { ctimeMs: number }) => void, exclude?: ExcludeMatcher): Promise<void> {
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return; // an unreadable or absent directory: its files count as missing on that side
  }
  for (const e of entries) {
    const abs = path.join(dir, e.name);
    if (exclude?.excludes(abs)) continue;
    if (e.isDirectory()) await walk(abs, onFile, exclude);
    else if (e.isFile()) {
      const st = await fsp.lstat(abs).catch(() => undefined);
      if (st) onFile(abs, st);
    }
  }
}

async function isFile(p: string): Promise<boolean> {
  return (await fsp.lstat(p).catch(() => undefined))?.isFile() ?? false;
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
