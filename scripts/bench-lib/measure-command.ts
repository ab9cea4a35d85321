/**
 * Runs one measured command under GNU time and returns wall time, CPU time and peak RSS.
 *
 * Wall time is taken here with a monotonic clock around the spawn (GNU time's %e has only 10 ms
 * resolution); CPU and memory come from GNU time, which reads the child's rusage on exit. %M is
 * the largest maximum resident set of any single process in the tree, not a sum: exact for
 * restic (one process) and for lifeboat (one node process; its worker threads share that RSS).
 * stdout and stderr go to log files so a failure can be read afterwards.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, promises as fsp } from 'node:fs';
import { BenchError } from './bench-error.ts';
import { killGroup } from './run-command.ts';

export const GNU_TIME = '/usr/bin/time';

export interface Measurement {
  readonly command: readonly string[];
  readonly exitCode: number | null;
  readonly wallSeconds: number;
  readonly userSeconds: number;
  readonly sysSeconds: number;
  readonly maxRssKiB: number;
  readonly stdoutLog: string;
  readonly stderrLog: string;
}

/** Fails with an operator hint unless GNU time is installed where we call it. */
export function requireGnuTime(): void {
  const r = existsSync(GNU_TIME) ? spawnSync(GNU_TIME, ['--version'], { encoding: 'utf8' }) : undefined;
  if (!r || !/GNU/.test(`${r.stdout}${r.stderr}`)) {
    throw new BenchError('PREREQUISITE', `Cannot measure peak RSS: GNU time is not installed at ${GNU_TIME}`, {
      hint: 'install it with `apt-get install -y time` (busybox or shell `time` do not report %M)',
    });
  }
}

export async function measureCommand(
  argv: readonly [string, ...string[]],
  opts: { readonly env: NodeJS.ProcessEnv; readonly logBase: string; readonly cwd?: string; readonly signal?: AbortSignal },
): Promise<Measurement> {
  opts.signal?.throwIfAborted();
  const timeFile = `${opts.logBase}.time`;
  const stdoutLog = `${opts.logBase}.out`;
  const stderrLog = `${opts.logBase}.err`;
  const outFd = openSync(stdoutLog, 'w');
  const errFd = openSync(stderrLog, 'w');
  const t0 = process.hrtime.bigint();
  let child;
  try {
    child = spawn(GNU_TIME, ['-o', timeFile, '-f', '%e %U %S %M', ...argv], {
      env: opts.env,
      cwd: opts.cwd,
      stdio: ['ignore', outFd, errFd],
      detached: true,
    });
  } finally {
    closeSync(outFd);
    closeSync(errFd);
  }
  const stop = (): void => killGroup(child.pid);
  opts.signal?.addEventListener('abort', stop, { once: true });
  let exitCode: number | null;
  try {
    exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c) => resolve(c));
    });
  } finally {
    opts.signal?.removeEventListener('abort', stop);
  }
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (opts.signal?.aborted) throw new BenchError('INTERRUPTED', 'Interrupted');
  // GNU time prefixes "Command exited with non-zero status N" on failure; the numbers are last.
  const lines = (await fsp.readFile(timeFile, 'utf8')).trim().split('\n');
  const nums = (lines[lines.length - 1] ?? '').trim().split(/\s+/).map(Number);
  if (nums.length !== 4 || nums.some((n) => !Number.isFinite(n))) {
    throw new BenchError('COMMAND', `Cannot read GNU time's report ${timeFile}: ${JSON.stringify(lines.join(' | '))}`);
  }
  const [, userSeconds, sysSeconds, maxRssKiB] = nums as [number, number, number, number];
  return { command: argv, exitCode, wallSeconds, userSeconds, sysSeconds, maxRssKiB, stdoutLog, stderrLog };
}
