/**
 * The benchmark's options: argv is parsed, normalised, then validated, and every problem is
 * reported at once (not only the first).
 */
import { parseArgs } from 'node:util';
import * as path from 'node:path';

export interface BenchOptions {
  /** Dataset seed for gen-dataset.sh / mutate-dataset.sh. */
  readonly seed: number;
  /** Dataset scale; 1 is about 1.8 GB, 0.05 a smoke run. */
  readonly scale: number;
  /** Keep the work directory (source copy, both repositories, restic cache) after the run. */
  readonly keep: boolean;
  /** sync + drop the page cache before every measured command (cold runs; affects the whole host). */
  readonly dropCaches: boolean;
  /** Root of everything the benchmark writes: dataset cache, work dir, logs, results.json. */
  readonly benchDir: string;
  /** The restic binary to compare against. */
  readonly resticBin: string;
  /** The lifeboat launcher under test (default: this checkout's bin/lifeboat). */
  readonly lifeboatBin: string;
  /** Folder holding gen-dataset.sh and mutate-dataset.sh. */
  readonly scriptsDir: string;
}

export const BENCH_USAGE = `usage: npm run bench -- [--scale F] [--seed N] [--keep] [--drop-caches]
                        [--dir DIR] [--restic BIN] [--lifeboat BIN] [--scripts DIR]

Backs up, re-backs up, mutates, backs up, restores (to a tmpfs) and checks (--read-data) the
deterministic dataset with lifeboat and with restic, alternating the tools step by step, and
prints wall time, MB/s, CPU time and peak RSS side by side. Needs root (tmpfs mount).

  --scale F       dataset scale (default 1, about 1.8 GB; 0.05 for a quick smoke run)
  --seed N        dataset seed (default 1)
  --keep          keep the work dir (source copy, repositories, restic cache) afterwards
  --drop-caches   sync and drop the page cache before each measured command (cold, host-wide);
                  the default keeps caches warm, as on a server with RAM to spare
  --dir DIR       bench directory (default /tmp/lifeboat-bench): data/ holds the cached
                  datasets, work/ the run, logs/ each command's output, results.json the result
  --restic BIN    restic binary (default /usr/bin/restic)
  --lifeboat BIN  lifeboat launcher (default bin/lifeboat of this checkout; point it at a
                  frozen clone to measure one commit while the checkout keeps changing)
  --scripts DIR   folder with gen-dataset.sh and mutate-dataset.sh (default ../shared/bench)
`;

export type ParsedArgs = { readonly help: true } | { readonly help: false; readonly options: BenchOptions } | { readonly help: false; readonly problems: readonly string[] };

export function parseBenchArgs(argv: readonly string[], repoRoot: string): ParsedArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      allowPositionals: false,
      strict: true,
      options: {
        scale: { type: 'string' },
        seed: { type: 'string' },
        keep: { type: 'boolean' },
        'drop-caches': { type: 'boolean' },
        dir: { type: 'string' },
        restic: { type: 'string' },
        lifeboat: { type: 'string' },
        scripts: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    return { help: false, problems: [(e as Error).message] };
  }
  if (values.help) return { help: true };

  const problems: string[] = [];
  const scale = Number(values.scale ?? '1');
  if (!Number.isFinite(scale) || scale <= 0 || scale > 20) problems.push(`--scale ${values.scale}: use a number above 0 and at most 20`);
  const seed = Number(values.seed ?? '1');
  if (!Number.isSafeInteger(seed) || seed < 0) problems.push(`--seed ${values.seed}: use a whole number from 0`);
  const benchDir = path.resolve(values.dir ?? '/tmp/lifeboat-bench');
  if (benchDir === '/' || benchDir.split('/').length < 3) problems.push(`--dir ${benchDir}: choose a dedicated directory (its work/ is deleted on every run)`);
  if (problems.length > 0) return { help: false, problems };
  return {
    help: false,
    options: {
      seed,
      scale,
      keep: values.keep ?? false,
      dropCaches: values['drop-caches'] ?? false,
      benchDir,
      resticBin: path.resolve(values.restic ?? '/usr/bin/restic'),
      lifeboatBin: path.resolve(values.lifeboat ?? path.join(repoRoot, 'bin', 'lifeboat')),
      scriptsDir: path.resolve(values.scripts ?? path.join(repoRoot, '..', 'shared', 'bench')),
    },
  };
}
