/**
 * Running the two programs under test: the real restic 0.14 binary and lifeboat's CLI from this
 * checkout (bin/lifeboat), each in a sandbox with its own password, restic cache and temp dirs.
 * A missing tool fails the suite (requireTools); nothing here skips.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

export const LIFEBOAT = fileURLToPath(new URL('../../bin/lifeboat', import.meta.url));
export const PASSWORD = 'interop test password';

/** Throws unless every command is on PATH (and restic is 0.14.x, the version we target). */
export function requireTools(...names: string[]): void {
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean);
  const missing = names.filter(
    (n) =>
      !dirs.some((d) => {
        try {
          accessSync(path.join(d, n), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      }),
  );
  if (missing.length > 0) throw new Error(`The interop suite needs these tools on PATH: ${missing.join(', ')} (apt-get install restic acl attr coreutils)`);
  if (names.includes('restic')) {
    const v = spawnSync('restic', ['version'], { encoding: 'utf8' }).stdout;
    if (!/^restic 0\.14\./.test(v)) throw new Error(`The interop suite targets restic 0.14, found: ${v.trim()}`);
  }
}

export interface RunResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A temp dir with its own environment for restic and lifeboat; dispose() removes it. */
export class Sandbox {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;

  constructor(label: string) {
    this.dir = mkdtempSync(path.join(tmpdir(), `lifeboat-interop-${label}-`));
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!/^(RESTIC_|LIFEBOAT_)/.test(k)) env[k] = v;
    }
    env.RESTIC_PASSWORD = PASSWORD;
    env.LIFEBOAT_PASSWORD = PASSWORD;
    env.RESTIC_CACHE_DIR = path.join(this.dir, 'restic-cache');
    env.LIFEBOAT_CACHE_DIR = path.join(this.dir, 'lifeboat-cache');
    // A zone with a negative, half-hour, DST-switching offset: restic writes node and snapshot
    // times in local time, so both programs must carry offsets other than Z exactly.
    env.TZ = 'America/St_Johns';
    mkdirSync(env.RESTIC_CACHE_DIR, { recursive: true });
    env.RESTIC_PROGRESS_FPS = '0.01';
    this.env = env;
  }

  /** An absolute path inside the sandbox (not created). */
  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  /** Runs a command; returns its exit status and output, never throws for a non-zero status. */
  exec(cmd: string, args: readonly string[], input?: string | Buffer): RunResult {
    const r = spawnSync(cmd, args, { env: this.env, input, encoding: 'utf8', maxBuffer: 512 << 20 });
    if (r.error) throw r.error;
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs restic; fails the test with its output unless it exits 0. */
  restic(...args: string[]): RunResult {
    return expectOk(`restic ${args.join(' ')}`, this.exec('restic', args));
  }

  /** Runs ./bin/lifeboat; fails the test with its output unless it exits 0. */
  lifeboat(...args: string[]): RunResult {
    return expectOk(`lifeboat ${args.join(' ')}`, this.exec(LIFEBOAT, args));
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function expectOk(what: string, r: RunResult): RunResult {
  assert.equal(r.status, 0, `${what} exited ${r.status}\n--- stdout:\n${r.stdout.slice(-4000)}\n--- stderr:\n${r.stderr.slice(-4000)}`);
  return r;
}

/** Parses NDJSON output (one JSON value a line; other lines are ignored). */
export function ndjson(out: string): Record<string, unknown>[] {
  const docs: Record<string, unknown>[] = [];
  for (const line of out.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    docs.push(JSON.parse(t) as Record<string, unknown>);
  }
  return docs;
}

/** The one document with message_type "summary" in a --json backup/restore output. */
export function summaryOf(out: string): Record<string, number | string> {
  const s = ndjson(out).filter((d) => d.message_type === 'summary');
  assert.equal(s.length, 1, `expected exactly one summary line in:\n${out.slice(-4000)}`);
  return s[0] as Record<string, number | string>;
}

/** Node paths from `restic ls --json` or `lifeboat repo ls --json`, sorted. */
export function lsPaths(out: string): string[] {
  return ndjson(out)
    .filter((d) => d.struct_type === 'node')
    .map((d) => String(d.path))
    .sort();
}
