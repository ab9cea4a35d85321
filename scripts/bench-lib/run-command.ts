/**
 * Runs a helper command that is not measured (dataset generation, copies, mounts) and returns
 * its output. Children get their own process group so an abort ends the whole group, by id.
 */
import { spawn } from 'node:child_process';
import { BenchError } from './bench-error.ts';

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly signal?: AbortSignal;
  /** Called with each line of stdout, as it arrives (progress of long helpers). */
  readonly onLine?: (line: string) => void;
}

export async function runCommand(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  opts.signal?.throwIfAborted();
  const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const stopGroup = (): void => killGroup(child.pid);
  opts.signal?.addEventListener('abort', stopGroup, { once: true });
  let out = '';
  let err = '';
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    if (!opts.onLine) return;
    const lines = (partial + s).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) opts.onLine(l);
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c) => resolve(c));
    });
    if (partial && opts.onLine) opts.onLine(partial);
    opts.signal?.throwIfAborted();
    if (code !== 0) {
      const tail = err.trim().split('\n').slice(-5).join('\n  ');
      throw new BenchError('COMMAND', `Cannot run ${cmd} ${args.join(' ')}: exit ${code ?? 'by signal'}${tail ? `\n  ${tail}` : ''}`);
    }
    return out;
  } catch (e) {
    if (e instanceof BenchError) throw e;
    if (opts.signal?.aborted) throw new BenchError('INTERRUPTED', 'Interrupted', { cause: e });
    throw new BenchError('COMMAND', `Cannot run ${cmd}: ${(e as Error).message}`, { cause: e });
  } finally {
    opts.signal?.removeEventListener('abort', stopGroup);
  }
}

/** Ends a process group we started (negative pid), ignoring one that has already gone. */
export function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
}
