/**
 * The real `age` program, run to decrypt with an identity file. The identity is passed as a
 * path and ciphertext as a file or on stdin, so no secret is ever in an argv; plaintext goes to
 * /dev/null, except a SOPS data key, which comes back on stdout to the caller alone. age runs
 * in a session of its own without a terminal, so an identity that wants a passphrase fails
 * instead of prompting.
 */
import { spawn } from 'node:child_process';

export type AgeOutcome =
  | { readonly kind: 'ok'; readonly stdout: Buffer }
  /** The program could not be started (not installed, not on PATH). */
  | { readonly kind: 'missing'; readonly why: string }
  /** age ran and refused: its own first line of complaint, "age: error: " left off. */
  | { readonly kind: 'failed'; readonly why: string };

export interface AgeRunOptions {
  /** The program; default `age` from PATH. */
  readonly command?: string | undefined;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
}

const MAX_STDOUT = 64 * 1024;
const MAX_STDERR = 16 * 1024;

/** Decrypts `file` with `identity`, discarding the plaintext: proof the identity opens it. */
export function ageDecryptFile(identity: string, file: string, options: AgeRunOptions = {}): Promise<AgeOutcome> {
  return runAge(['--decrypt', '-i', identity, '-o', '/dev/null', '--', file], undefined, options);
}

/** Decrypts ASCII-armored `ciphertext` (fed on stdin) with `identity`; the plaintext comes back. */
export function ageDecryptArmored(identity: string, ciphertext: string, options: AgeRunOptions = {}): Promise<AgeOutcome> {
  return runAge(['--decrypt', '-i', identity], ciphertext, options);
}

function runAge(args: readonly string[], input: string | undefined, options: AgeRunOptions): Promise<AgeOutcome> {
  const command = options.command ?? 'age';
  return new Promise((resolve) => {
    let settled = false;
    // Our own timer: spawn's `timeout` option outlives a child that never started (ENOENT).
    let timer: NodeJS.Timeout | undefined;
    const done = (o: AgeOutcome): void => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      resolve(o);
    };
    const child = spawn(command, args, {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true, // setsid: no controlling terminal, so no passphrase prompt can hang a drill
      signal: options.signal,
    });
    timer = setTimeout(() => child.kill('SIGTERM'), options.timeoutMs ?? 120_000);
    const out: Buffer[] = [];
    let outLen = 0;
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      outLen += d.length;
      if (outLen <= MAX_STDOUT) out.push(d);
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      if (err.length < MAX_STDERR) err += d;
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'EACCES') done({ kind: 'missing', why: `${command} ${e.code === 'ENOENT' ? 'is not installed or not on PATH' : 'cannot be run (permission denied)'}` });
      else done({ kind: 'failed', why: e.message });
    });
    child.on('close', (code, signal) => {
      if (code === 0 && outLen <= MAX_STDOUT) {
        const stdout = Buffer.concat(out);
        for (const b of out) b.fill(0); // a SOPS data key: keep one copy, the caller's
        return done({ kind: 'ok', stdout });
      }
      const first = err.split('\n').find((l) => l.trim() !== '')?.replace(/^age: (error: )?/, '');
      const why = first ?? (signal ? `age was stopped by ${signal}${signal === 'SIGTERM' ? ' (timed out)' : ''}` : outLen > MAX_STDOUT ? 'age printed more than expected' : `age exited with status ${code}`);
      done({ kind: 'failed', why });
    });
    if (input !== undefined && child.stdin) {
      child.stdin.on('error', () => {}); // age may exit before reading it all; the exit status says why
      child.stdin.end(input);
    }
  });
}
