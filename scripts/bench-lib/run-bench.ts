/**
 * The benchmark run: lifeboat and restic side by side on the same dataset in one run.
 *
 * Plan: (1) init + first backup, (2) no-change backup, mutate the source in place, (3) backup
 * after the mutation, (4) restore latest to a tmpfs, (5) check --read-data; then, for reading
 * small-scale results, the fixed cost of opening a repository (`cat config`, median of three).
 *
 * Fairness: both tools back up the same absolute path, so both find their parent by host and
 * paths. Within a step the tools run one after the other and the leader alternates between
 * steps, so neither always gets the other's leftovers. Every step starts after `sync`. By default
 * the page cache stays warm (the host has RAM to spare; both tools read a warm source and a warm
 * repository), and restic keeps its cache between commands as a real user's would: it spares
 * restic re-reading index and tree packs from the repository, which is part of what it is.
 * lifeboat has no cache. Both include init (restic calibrates its KDF there) in step 1.
 */
import { existsSync, promises as fsp, statfsSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import * as path from 'node:path';
import { BenchError } from './bench-error.ts';
import type { BenchOptions } from './bench-options.ts';
import { lifeboatTool, resticTool, type BenchTool, type ToolName } from './bench-tool.ts';
import { STEP_TITLES, type BenchResult, type OpenOverhead, type StepId, type StepResult, type ToolStepResult } from './bench-result.ts';
import { copyDataset, datasetScripts, ensureDataset, mutateDataset, treeStats } from './dataset.ts';
import { lockBenchDir } from './bench-lock.ts';
import { measureCommand, requireGnuTime } from './measure-command.ts';
import { runCommand } from './run-command.ts';
import { mountTmpfs, tmpfsSizeFor, unmountTmpfs, isMountPoint } from './tmpfs.ts';
import { runToolStep } from './tool-step.ts';

export type BenchEvent =
  | { readonly type: 'info'; readonly message: string }
  | { readonly type: 'tool-step'; readonly step: StepId; readonly tool: ToolName; readonly result: ToolStepResult };

const STEPS: readonly StepId[] = ['first-backup', 'no-change-backup', 'changed-backup', 'restore', 'check'];
const BYTES_AT_SCALE_1 = 1.8e9;

export async function runBench(opts: BenchOptions, io: { readonly signal?: AbortSignal; readonly onEvent: (e: BenchEvent) => void }): Promise<BenchResult> {
  const info = (message: string): void => io.onEvent({ type: 'info', message });
  const startedAt = new Date().toISOString();
  const loadAvgStart = loadavg();

  if (process.getuid?.() !== 0) throw new BenchError('PREREQUISITE', 'Cannot mount the restore tmpfs: the benchmark must run as root', { hint: 'run it with sudo (or as root in a VM/container)' });
  requireGnuTime();
  if (!existsSync(opts.resticBin)) throw new BenchError('PREREQUISITE', `Cannot find restic at ${opts.resticBin}`, { hint: 'pass --restic BIN' });
  if (!existsSync(opts.lifeboatBin)) throw new BenchError('PREREQUISITE', `Cannot find lifeboat at ${opts.lifeboatBin}`, { hint: 'pass --lifeboat BIN' });
  const scripts = datasetScripts(opts.scriptsDir);

  const work = path.join(opts.benchDir, 'work');
  const logsDir = path.join(opts.benchDir, 'logs');
  const source = path.join(work, 'src');
  const restoreMount = path.join(work, 'restore');
  const repos: Record<ToolName, string> = { lifeboat: path.join(work, 'lifeboat-repo'), restic: path.join(work, 'restic-repo') };
  const tools: Record<ToolName, BenchTool> = { lifeboat: lifeboatTool(opts.lifeboatBin, path.join(work, 'lifeboat-cache')), restic: resticTool(opts.resticBin, path.join(work, 'restic-cache')) };

  const unlock = await lockBenchDir(opts.benchDir);
  try {
    await cleanWork(work, restoreMount);
    requireSpace(opts.benchDir, BYTES_AT_SCALE_1 * opts.scale * 4 + 2 ** 30);

    info(`dataset seed ${opts.seed} scale ${opts.scale}: looking in ${path.join(opts.benchDir, 'data')}`);
    const ds = await ensureDataset({ cacheDir: path.join(opts.benchDir, 'data'), seed: opts.seed, scale: opts.scale, scripts, signal: io.signal, onLine: (l) => info(`  ${l}`) });
    info(ds.generatedSeconds === undefined ? `dataset cached at ${ds.dir}` : `dataset generated in ${ds.generatedSeconds.toFixed(1)} s at ${ds.dir}`);
    await copyDataset(ds.dir, source, io.signal);
    const before = await treeStats(source);
    info(`working copy ${source}: ${before.files} files, ${before.dirs} dirs, ${(before.bytes / 1e6).toFixed(1)} MB`);

    await fsp.rm(logsDir, { recursive: true, force: true });
    await fsp.mkdir(logsDir, { recursive: true });
    const versions = { lifeboat: await versionOf(tools.lifeboat), restic: await versionOf(tools.restic) };
    await mountTmpfs(restoreMount, tmpfsSizeFor(before.bytes));

    const steps: StepResult[] = [];
    let mutation = '';
    let datasetBytes = before.bytes;
    const failed = new Map<ToolName, StepId>();
    try {
      for (const [i, step] of STEPS.entries()) {
        if (step === 'changed-backup') {
          mutation = (await mutateDataset(source, opts.seed, scripts, io.signal)).split('\n').join('; ');
          datasetBytes = (await treeStats(source)).bytes;
          info(mutation);
        }
        info(`${STEP_TITLES[step]} ...`);
        const order: ToolName[] = i % 2 === 0 ? ['lifeboat', 'restic'] : ['restic', 'lifeboat'];
        const results: Partial<Record<ToolName, ToolStepResult>> = {};
        for (const name of order) {
          const earlier = failed.get(name);
          const r: ToolStepResult = earlier
            ? { status: 'skipped', reason: `${STEP_TITLES[earlier]} failed` }
            : await runToolStep(step, { tool: tools[name], repo: repos[name], source, restoreTarget: path.join(restoreMount, name), logsDir, datasetBytes, dropCaches: opts.dropCaches, signal: io.signal });
          if (r.status === 'failed') failed.set(name, step);
          results[name] = r;
          io.onEvent({ type: 'tool-step', step, tool: name, result: r });
        }
        const tr = results as Record<ToolName, ToolStepResult>;
        steps.push({ id: step, title: STEP_TITLES[step], datasetBytes, order, tools: tr, ratio: ratios(tr.lifeboat, tr.restic) });
      }
    } finally {
      await unmountTmpfs(restoreMount);
    }

    const open: Partial<Record<ToolName, OpenOverhead>> = {};
    for (const name of ['lifeboat', 'restic'] as const) {
      if (failed.get(name) !== 'first-backup') open[name] = await openOverhead(tools[name], repos[name], logsDir, io.signal);
    }

    return {
      schema: 'lifeboat-bench/1',
      startedAt,
      finishedAt: new Date().toISOString(),
      options: { seed: opts.seed, scale: opts.scale, dropCaches: opts.dropCaches, keep: opts.keep },
      cachePolicy: opts.dropCaches
        ? 'cold: sync + drop_caches before every step; restic keeps its own cache (RESTIC_CACHE_DIR) between commands'
        : 'warm: sync before every step, page cache kept; restic keeps its own cache (RESTIC_CACHE_DIR) between commands; tools alternate who goes first',
      host: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memBytes: totalmem(), kernel: release(), node: process.version, loadAvgStart, loadAvgEnd: loadavg() },
      versions,
      dataset: { cacheDir: ds.dir, source, generatedSeconds: ds.generatedSeconds, files: before.files, dirs: before.dirs, bytes: before.bytes, mutation, bytesAfterMutation: datasetBytes },
      steps,
      open,
      logsDir,
    };
  } finally {
    if (!opts.keep) await cleanWork(work, restoreMount).catch(() => {});
    await unlock();
  }
}

function ratios(l: ToolStepResult, r: ToolStepResult): StepResult['ratio'] {
  if (l.status !== 'ok' || r.status !== 'ok') return {};
  return { wall: l.metrics.wallSeconds / r.metrics.wallSeconds, cpu: l.metrics.cpuSeconds / r.metrics.cpuSeconds, rss: l.metrics.maxRssKiB / r.metrics.maxRssKiB };
}

async function openOverhead(tool: BenchTool, repo: string, logsDir: string, signal?: AbortSignal): Promise<OpenOverhead | undefined> {
  const runs = [];
  for (let i = 1; i <= 3; i++) {
    const m = await measureCommand(tool.open(repo), { env: tool.env, logBase: path.join(logsDir, `open-${tool.name}-${i}`), signal });
    if (m.exitCode !== 0) return undefined;
    runs.push(m);
  }
  runs.sort((a, b) => a.wallSeconds - b.wallSeconds);
  return { wallSeconds: runs[1]!.wallSeconds, maxRssKiB: Math.max(...runs.map((m) => m.maxRssKiB)) };
}

async function versionOf(tool: BenchTool): Promise<string> {
  const [cmd, ...args] = tool.version();
  return (await runCommand(cmd, args, { env: tool.env }).catch((e: Error) => `unknown (${e.message})`)).trim();
}

/** Removes the previous run's work dir, unmounting a tmpfs a crashed run left behind. */
async function cleanWork(work: string, restoreMount: string): Promise<void> {
  if (await isMountPoint(restoreMount)) await unmountTmpfs(restoreMount);
  await fsp.rm(work, { recursive: true, force: true });
}

function requireSpace(dir: string, bytes: number): void {
  const s = statfsSync(dir);
  const free = s.bavail * s.bsize;
  if (free < bytes) {
    throw new BenchError('PREREQUISITE', `Cannot run at this scale: ${dir} has ${(free / 1e9).toFixed(1)} GB free, the run needs about ${(bytes / 1e9).toFixed(1)} GB`, {
      hint: 'free some space, lower --scale, or pass --dir on a larger filesystem',
    });
  }
}
