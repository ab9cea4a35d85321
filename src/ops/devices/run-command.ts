/**
 * Runs one system tool with an argument array (never a shell: labels and paths reach argv
 * untouched) and collects its output. Internal to the devices module; the public seam is
 * DeviceProbe.
 */
import { spawn } from 'node:child_process';
import { LifeboatError } from '../../core/errors.ts';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Exit codes that are answers rather than failures (blkid exits 2 when it finds nothing). */
  readonly okCodes?: readonly number[];
  readonly timeoutMs?: number;
}

/**
 * Resolves with the output when the exit code is 0 or listed in okCodes. Rejects with
 * LifeboatError: NOT_FOUND when the tool is not installed (the ENOENT is kept as `cause`), IO for
 * any other failure, with the tool's own stderr in the message.
 */
export function runCommand(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  const okCodes = opts.okCodes ?? [0];
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const what = [cmd, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], signal: AbortSignal.timeout(timeoutMs) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(new LifeboatError('NOT_FOUND', `Cannot run ${cmd}: it is not installed`, { cause: e }));
      } else if (e.name === 'AbortError') {
        reject(new LifeboatError('IO', `Cannot run ${what}: no answer after ${timeoutMs / 1000} s`, { cause: e }));
      } else {
        reject(new LifeboatError('IO', `Cannot run ${what}: ${e.message}`, { cause: e }));
      }
    });
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code !== null && okCodes.includes(code)) {
        resolve({ code, stdout, stderr });
        return;
      }
      const why = stderr.trim().split('\n').pop() || (signal !== null ? `killed by ${signal}` : `exit code ${code}`);
      reject(new LifeboatError('IO', `Cannot run ${what}: ${why}`, { cause: { code, signal, stderr } }));
    });
  });
}

/** True when `err` says the tool itself is missing (as opposed to the tool failing). */
export function isNotInstalled(err: unknown): boolean {
  return (
    err instanceof LifeboatError &&
    err.code === 'NOT_FOUND' &&
    (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
  );
}
