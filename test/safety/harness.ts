/**
 * Shared parts of the safety suites: run the real CLI and the real restic 0.14 binary as child
 * processes, build deterministic source trees from a seed, compare trees, damage files.
 * Nothing here is skipped when a tool is missing: `requireTools` fails the test instead.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalBackend } from '../../src/core/backend/local-backend.ts';
import { Repository } from '../../src/core/repository/repository.ts';
import { xorshift32Unit } from '../support/prng.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LIFEBOAT = path.join(ROOT, 'bin', 'lifeboat');
export const PASSWORD = 'correct horse battery staple';

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Fails (never skips) when a tool the suite depends on is absent. */
export function requireTools(...tools: string[]): void {
  for (const t of tools) {
    const r = spawnSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${t} is required by this suite (apt-get install it; see .ci/run)`);
  }
  if (tools.includes('restic')) {
    const v = spawnSync('restic', ['version'], { encoding: 'utf8' });
    assert.match(v.stdout, /^restic 0\.1[4-9]/, `restic >= 0.14 is required, got ${v.stdout.trim()}`);
  }
}

export function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // The tree memo goes to a scratch cache, not the home directory of whoever runs the tests.
  const env: NodeJS.ProcessEnv = { ...process.env, LIFEBOAT_PASSWORD: PASSWORD, RESTIC_PASSWORD: PASSWORD, LIFEBOAT_CACHE_DIR: path.join(tmpdir(), 'lifeboat-test-cache'), ...extra };
  // Other settings of the caller must not leak into what the suite proves.
  for (const k of ['LIFEBOAT_PASSWORD_FILE', 'RESTIC_PASSWORD_FILE', 'RESTIC_REPOSITORY', 'LIFEBOAT_REPOSITORY', 'LIFEBOAT_DEBUG']) delete env[k];
  Object.assign(env, extra);
  return env;
}

const running = new Set<ChildProcess>();

/** SIGKILLs every child this suite started that is still running (for `after` hooks). */
export async function killStragglers(): Promise<number> {
  const left = [...running];
  for (const c of left) c.kill('SIGKILL');
  await Promise.all(left.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('close', r)) : undefined)));
  return left.length;
}

export interface Started {
  readonly child: ChildProcess;
  readonly done: Promise<RunResult>;
}

/** Starts a process; `done` resolves once it has exited and been reaped (its PID is then dead). */
export function start(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: 'pipe' | 'ignore' } = {}): Started {
  const t0 = Date.now();
  const child = spawn(cmd, args, { env: opts.env ?? baseEnv(), cwd: opts.cwd, stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin?.on('error', () => {}); // EPIPE once the child is gone
  running.add(child);
  child.on('close', () => running.delete(child));
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 }));
  });
  return { child, done };
}

export async function run(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const s = start(cmd, args, opts);
  const timer = setTimeout(() => s.child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  try {
    return await s.done;
  } finally {
    clearTimeout(timer);
  }
}

export function lifeboat(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return run(LIFEBOAT, args, opts);
}

/** restic against a repository, without a cache so nothing is written outside the test's dirs. */
export function restic(repo: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return run('restic', ['--repo', repo, '--no-cache', ...args], opts);
}

/**
 * Creates a repository through the engine with a cheap scrypt setting (key files carry their
 * own KDF parameters, and restic honours them), so that the many short CLI and restic runs of
 * these suites do not each spend half a second deriving the key. `lifeboat repo init` itself is
 * exercised where it matters (full-disk.test.ts) and in the CLI's own tests.
 */
export async function initRepo(dir: string): Promise<void> {
  const repo = await Repository.init(new LocalBackend(dir), PASSWORD, { kdf: { N: 1024, r: 8, p: 1 } });
  await repo.close();
}

export function describeRun(r: RunResult): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout ---\n${r.stdout.slice(-3000)}\n--- stderr ---\n${r.stderr.slice(-3000)}`;
}

export function assertExit(r: RunResult, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: expected exit ${code}\n${describeRun(r)}`);
}

/** An error report of the CLI: no stack trace, exactly one `lifeboat:` line (hints may follow). */
export function assertCleanError(r: RunResult, code: string): string {
  assert.doesNotMatch(r.stderr, /^\s+at /m, `stack trace in stderr:\n${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  const main = lines.filter((l) => l.startsWith('lifeboat: '));
  assert.equal(main.length, 1, `expected one error line, got:\n${r.stderr}`);
  assert.ok(main[0]!.endsWith(`[${code}]`), `expected [${code}] in: ${main[0]}`);
  for (const l of lines) assert.ok(l.startsWith('lifeboat: ') || l.startsWith('  hint: '), `unexpected stderr line: ${JSON.stringify(l)}`);
  return main[0]!;
}

export async function tempDir(label: string, base = tmpdir()): Promise<string> {
  return fsp.mkdtemp(path.join(base, `lifeboat-safety-${label}-`));
}

/** AES-256-CTR keystream keyed by the seed: the same seed always gives the same bytes, fast. */
export function seededBytes(seed: string, length: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const c = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([c.update(Buffer.alloc(length)), c.final()]);
}

/** xorshift32 in [0, 1), for deterministic choices (delays, sizes, positions). */
export const prng = xorshift32Unit;

/**
 * A multi-file tree of about `totalBytes` (random, so incompressible and undeduplicated):
 * a few large files, many small ones, nested directories, an empty file and an empty dir.
 */
export async function makeTree(dir: string, seed: string, totalBytes: number): Promise<{ files: number; bytes: number }> {
  const rnd = prng(parseInt(createHash('sha256').update(seed).digest('hex').slice(0, 8), 16));
  await fsp.mkdir(path.join(dir, 'empty-dir'), { recursive: true });
  await fsp.writeFile(path.join(dir, 'empty'), '');
  let bytes = 0;
  let files = 1;
  for (let i = 0; bytes < totalBytes; i++) {
    const big = i % 5 === 0;
    const size = Math.min(totalBytes - bytes, big ? Math.floor((4 + rnd() * 8) * 1024 * 1024) : Math.floor(1 + rnd() * 900 * 1024));
    const sub = path.join(dir, `d${i % 4}`, i % 3 === 0 ? `deep${i % 2}` : '');
    await fsp.mkdir(sub, { recursive: true });
    await fsp.writeFile(path.join(sub, `file-${i}.bin`), seededBytes(`${seed}/${i}`, size));
    bytes += size;
    files++;
  }
  return { files, bytes };
}

/** path -> sha256:size for every regular file, and path -> "dir" for directories. */
export async function treeDigest(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const rec = async (d: string): Promise<void> => {
    for (const n of (await fsp.readdir(d)).sort()) {
      const p = path.join(d, n);
      const st = await fsp.lstat(p);
      const rel = path.relative(dir, p);
      if (st.isDirectory()) {
        out.set(rel, 'dir');
        await rec(p);
      } else if (st.isFile()) {
        out.set(rel, `${createHash('sha256').update(await fsp.readFile(p)).digest('hex')}:${st.size}`);
      } else out.set(rel, 'other');
    }
  };
  await rec(dir);
  return out;
}

/** Asserts that `restored` holds exactly the files and directories of `source`, byte for byte; returns the restored bytes. */
export async function assertSameTree(source: string, restored: string, sourceDigest?: Map<string, string>): Promise<number> {
  const a = sourceDigest ?? (await treeDigest(source));
  const b = await treeDigest(restored);
  const missing = [...a.keys()].filter((k) => !b.has(k));
  const extra = [...b.keys()].filter((k) => !a.has(k));
  const differ = [...a.keys()].filter((k) => b.has(k) && a.get(k) !== b.get(k));
  assert.deepEqual({ missing, extra, differ }, { missing: [], extra: [], differ: [] }, `restore of ${source} differs`);
  let bytes = 0; // what the restore actually holds, counted from its side
  for (const v of b.values()) if (v !== 'dir' && v !== 'other') bytes += Number(v.split(':')[1]);
  return bytes;
}

/** Flips one byte of a (read-only) repository file in place. */
export async function flipByte(file: string, at: number): Promise<void> {
  const fh = await fsp.open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0x5a;
    await fh.write(b, 0, 1, at);
  } finally {
    await fh.close();
  }
}

/** Files of one repository directory (`locks`, `index`, `snapshots`, or `data` one level down). */
export async function repoFiles(repo: string, dir: 'locks' | 'index' | 'snapshots' | 'data' | 'keys'): Promise<{ name: string; path: string; size: number }[]> {
  const dirs = dir === 'data' ? (await fsp.readdir(path.join(repo, 'data'))).map((d) => path.join(repo, 'data', d)) : [path.join(repo, dir)];
  const out: { name: string; path: string; size: number }[] = [];
  for (const d of dirs) {
    for (const n of await fsp.readdir(d)) {
      const p = path.join(d, n);
      try {
        out.push({ name: n, path: p, size: (await fsp.stat(p)).size });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // a temp file renamed meanwhile
      }
    }
  }
  return out.sort((x, y) => (x.name < y.name ? -1 : 1));
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until the repository holds a finished lock file (not a temp file) and returns its id. */
export function waitForLock(repo: string, timeoutMs = 60_000): Promise<string> {
  return waitFor(`a lock in ${repo}`, async () => (await repoFiles(repo, 'locks')).find((f) => /^[0-9a-f]{64}$/.test(f.name))?.name, timeoutMs);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sends `signal` to a child we started and waits until it is reaped. */
export async function killAndReap(s: Started, signal: NodeJS.Signals = 'SIGKILL'): Promise<RunResult> {
  s.child.kill(signal);
  return s.done;
}
