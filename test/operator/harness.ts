/**
 * Shared parts of the operator end-to-end suites (restore, drill, check): run the real CLI
 * (bin/lifeboat ... --config F) and the real restic as child processes with stdin closed (so
 * never a TTY), keep every scratch directory under one temp root per test file, and find where
 * a file's data lives inside a repository (through restic's own view of trees and indexes) so a
 * test can damage exactly one blob. Nothing here skips: a missing tool fails the suite.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LIFEBOAT = path.join(ROOT, 'bin', 'lifeboat');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Fails (never skips) when a tool the suite drives is missing. */
export function requireTools(...tools: string[]): void {
  for (const t of ['restic', ...tools]) {
    const r = spawnSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${t} is required by this suite (apt-get install it; see .ci/run)`);
  }
}

/** The caller's environment without anything that would steer lifeboat or restic. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(RESTIC_|LIFEBOAT_)/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

export function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `./bin/lifeboat ARGS --config CONFIG`; asserts it never printed a stack trace. */
export async function lifeboat(config: string, args: readonly string[]): Promise<CliResult> {
  const r = await run(LIFEBOAT, [...args, '--config', config]);
  assertNoStack(r);
  return r;
}

/** Runs `./bin/lifeboat ARGS` without a config (the repository commands). */
export async function lifeboatRaw(args: readonly string[]): Promise<CliResult> {
  const r = await run(LIFEBOAT, args);
  assertNoStack(r);
  return r;
}

export function assertNoStack(r: CliResult): void {
  for (const [name, text] of [['stderr', r.stderr], ['stdout', r.stdout]] as const) {
    assert.doesNotMatch(text, /^ {4}at /m, `a stack trace on ${name}:\n${text}`);
    assert.doesNotMatch(text, /\[INTERNAL\]/, `an internal error on ${name}:\n${text}`);
  }
}

export function show(r: CliResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** Runs the real restic on `repo` with the password file, in a private cache directory. */
export function restic(repo: string, passwordFile: string, args: readonly string[]): Promise<CliResult> {
  const cache = path.join(path.dirname(passwordFile), 'restic-cache');
  return run('restic', ['-r', repo, '--no-lock', ...args], cleanEnv({ RESTIC_PASSWORD_FILE: passwordFile, RESTIC_CACHE_DIR: cache }));
}

export interface ResticSnapshot {
  readonly id: string;
  readonly short_id: string;
  readonly time: string;
  readonly tree: string;
  readonly paths: string[];
  readonly tags?: string[];
}

/** `restic snapshots --json [--tag T]`, oldest first. */
export async function resticSnapshots(repo: string, passwordFile: string, tag?: string): Promise<ResticSnapshot[]> {
  const r = await restic(repo, passwordFile, ['snapshots', '--json', ...(tag !== undefined ? ['--tag', tag] : [])]);
  assert.equal(r.code, 0, `restic snapshots on ${repo} failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as ResticSnapshot[]).sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
}

/** lifeboat.yaml text: one local repository destination named `repo`, then `sources` (YAML lines under `sources:`). */
export function localRepoConfig(o: { readonly stateDir: string; readonly hostname: string; readonly repo: string; readonly passwordFile: string; readonly sources: string }): string {
  return `state_dir: ${o.stateDir}
hostname: ${o.hostname}
destinations:
  repo:
    kind: local
    path: ${o.repo}
    password_file: ${o.passwordFile}
sources:
${o.sources}`;
}

/** One temp root per test file; everything a test makes lives below it. */
export class Scratch {
  private constructor(readonly dir: string) {}

  static async create(name: string): Promise<Scratch> {
    const dir = await fsp.mkdtemp(path.join(tmpdir(), `lifeboat-${name}-`));
    await fsp.chmod(dir, 0o755);
    return new Scratch(dir);
  }

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  /** A password file, mode 0600, in a 0700 directory. */
  async passwordFile(): Promise<string> {
    const dir = this.path('secrets');
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const f = path.join(dir, 'password');
    await fsp.writeFile(f, 'operator suite password\n', { mode: 0o600 });
    return f;
  }

  async cleanup(): Promise<void> {
    await fsp.rm(this.dir, { recursive: true, force: true });
  }
}

export { seededBytes, writeTree } from '../support/files.ts';

/** Every regular file under `dir` as relative path -> sha256 (directories implied). */
export async function treeDigest(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const e of await fsp.readdir(abs, { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(path.join(abs, e.name), r);
      else out[r] = createHash('sha256').update(await fsp.readFile(path.join(abs, e.name))).digest('hex');
    }
  };
  await walk(dir, '');
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Every path under `dir`, relative, sorted (directories end in '/'); [] when absent. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const e of await fsp.readdir(abs, { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        out.push(r + '/');
        await walk(path.join(abs, e.name), r);
      } else out.push(r);
    }
  };
  try {
    await walk(dir, '');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return out.sort();
}

/** NDJSON lines of a `--json` command. */
export function jsonLines<T = Record<string, unknown>>(stdout: string): T[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

/** Local calendar date YYYY-MM-DD (the restore command reads dates in local time). */
export function localDate(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** Local `YYYY-MM-DD HH:MM:SS` (to the second, rounded down), the restore command's finest date. */
export function localDateTime(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${localDate(d)} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export interface BlobLocation {
  readonly blob: string;
  readonly pack: string;
  readonly offset: number;
  readonly length: number;
}

/**
 * Where the one data blob of a small file lives, as restic's index says. A file below the
 * chunker's minimum chunk size (512 KiB) is stored as a single blob whose id is the SHA-256 of
 * its content (restic design, "Backups and Deduplication"), so no tree needs walking.
 */
export async function locateSmallFile(repo: string, passwordFile: string, content: Buffer): Promise<BlobLocation> {
  assert.ok(content.length > 0 && content.length < 512 * 1024, 'a single-blob file is smaller than the minimum chunk size');
  const blob = createHash('sha256').update(content).digest('hex');
  const list = await restic(repo, passwordFile, ['list', 'index']);
  assert.equal(list.code, 0, list.stderr);
  for (const id of list.stdout.split('\n').filter(Boolean)) {
    const idx = await restic(repo, passwordFile, ['cat', 'index', id]);
    assert.equal(idx.code, 0, idx.stderr);
    for (const p of (JSON.parse(idx.stdout) as { packs: { id: string; blobs: { id: string; type: string; offset: number; length: number }[] }[] }).packs) {
      const b = p.blobs.find((x) => x.id === blob && x.type === 'data');
      if (b) return { blob, pack: p.id, offset: b.offset, length: b.length };
    }
  }
  assert.fail(`data blob ${blob} is in no index of ${repo}`);
}

/** Flips every bit of the byte at `offset` of pack `pack` (files in a repository are 0400). */
export async function flipPackByte(repo: string, pack: string, offset: number): Promise<void> {
  const file = path.join(repo, 'data', pack.slice(0, 2), pack);
  await fsp.chmod(file, 0o600);
  const fh = await fsp.open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
  await fsp.chmod(file, 0o400);
}
