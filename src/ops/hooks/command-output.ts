/**
 * Database dump hooks: a source's `command` runs as an argv (a command line from the config
 * arrives as /bin/sh -c TEXT, a list as written) and its stdout is streamed into the destination as
 * one file. The stream fails, and with it the run, when the command exits non-zero or is
 * killed: a failed dump must never be stored as if it were a good one.
 */
import { spawn } from 'node:child_process';
import { LifeboatError } from '../../core/errors.ts';

export interface CommandOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly signal?: AbortSignal;
}

export async function* commandOutput(source: string, argv: readonly string[], opts: CommandOptions = {}): AsyncGenerator<Uint8Array> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new LifeboatError('USAGE', `source ${source} has an empty command`);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env, cwd: opts.cwd, signal: opts.signal });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<{ code: number | null; sig: NodeJS.Signals | null; err?: Error }>((resolve) => {
    child.on('error', (err) => resolve({ code: null, sig: null, err }));
    child.on('close', (code, sig) => resolve({ code, sig }));
  });
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
  const r = await exited;
  if (r.err) throw new LifeboatError('HOOK_FAILED', `Cannot run the command of source ${source}: ${r.err.message}`, { cause: r.err });
  if (r.code !== 0) {
    const tail = stderr.trim().split('\n').slice(-3).join(' | ');
    throw new LifeboatError('HOOK_FAILED', `The command of source ${source} failed (${r.sig ? `killed by ${r.sig}` : `exit code ${r.code}`})${tail ? `: ${tail}` : ''}`, {
      hint: 'nothing was stored for this run; fix the command and run again',
    });
  }
}
