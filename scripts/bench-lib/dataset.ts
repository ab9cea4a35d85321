/**
 * The benchmark dataset: generated once per (seed, scale) by ../shared/bench/gen-dataset.sh into
 * a cache that is never modified, then copied to the work dir for each run and mutated there.
 *
 * Invariants: a cache entry exists only complete (generated under a temporary name, then
 * renamed); reruns are deterministic because every run starts from a pristine copy (cp -a keeps
 * modes and mtimes; inodes and ctimes are new, which neither tool's first backup can tell).
 */
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { BenchError } from './bench-error.ts';
import { runCommand } from './run-command.ts';

export interface TreeStats {
  readonly files: number;
  readonly dirs: number;
  readonly bytes: number;
}

export interface DatasetScripts {
  readonly generate: string;
  readonly mutate: string;
}

export function datasetScripts(dir: string): DatasetScripts {
  const s = { generate: path.join(dir, 'gen-dataset.sh'), mutate: path.join(dir, 'mutate-dataset.sh') };
  for (const f of Object.values(s)) {
    if (!existsSync(f)) throw new BenchError('PREREQUISITE', `Cannot find the dataset script ${f}`, { hint: 'pass --scripts DIR (the folder holding gen-dataset.sh)' });
  }
  return s;
}

/** Cache key: both parameters that change the bytes. */
export function datasetKey(seed: number, scale: number): string {
  return `seed${seed}-scale${scale}`;
}

/** Returns the cached pristine dataset, generating it first when absent. */
export async function ensureDataset(opts: {
  readonly cacheDir: string;
  readonly seed: number;
  readonly scale: number;
  readonly scripts: DatasetScripts;
  readonly signal?: AbortSignal;
  readonly onLine?: (line: string) => void;
}): Promise<{ readonly dir: string; readonly generatedSeconds: number | undefined }> {
  const dir = path.join(opts.cacheDir, datasetKey(opts.seed, opts.scale));
  if (existsSync(dir)) return { dir, generatedSeconds: undefined };
  await fsp.mkdir(opts.cacheDir, { recursive: true });
  const tmp = `${dir}.partial-${process.pid}`;
  await fsp.rm(tmp, { recursive: true, force: true });
  const t0 = performance.now();
  try {
    await runCommand('bash', [opts.scripts.generate, '--seed', String(opts.seed), '--scale', String(opts.scale), tmp], { signal: opts.signal, onLine: opts.onLine });
    await fsp.rename(tmp, dir);
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return { dir, generatedSeconds: (performance.now() - t0) / 1000 };
}

/** A fresh working copy of the pristine dataset; it keeps modes and mtimes. */
export async function copyDataset(from: string, to: string, signal?: AbortSignal): Promise<void> {
  await fsp.rm(to, { recursive: true, force: true });
  await fsp.mkdir(path.dirname(to), { recursive: true });
  await runCommand('cp', ['-a', '--', from, to], { signal });
}

/** Applies mutate-dataset.sh (about 1% changed) to the working copy, in place. */
export async function mutateDataset(dir: string, seed: number, scripts: DatasetScripts, signal?: AbortSignal): Promise<string> {
  return (await runCommand('bash', [scripts.mutate, '--seed', String(seed), dir], { signal })).trim();
}

/** Counts regular files, directories and file bytes (what "dataset bytes" means in MB/s). */
export async function treeStats(root: string): Promise<TreeStats> {
  let files = 0;
  let dirs = 0;
  let bytes = 0;
  const walk = async (dir: string): Promise<void> => {
    dirs++;
    for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        files++;
        bytes += (await fsp.lstat(p)).size;
      }
    }
  };
  await walk(root);
  return { files, dirs, bytes };
}
