/**
 * Shared parts of the coverage end-to-end suites: run the real CLI (bin/lifeboat --config F) and
 * the real restic binary as child processes, write configs and password files into scratch
 * directories made by the devices module's test-drive helper (so cleanupTestDrives() removes
 * them together with every loop device and mount), and read NDJSON output.
 * Nothing here skips: a missing tool fails the suite.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeScratchDir } from '../../src/ops/devices/test-drive.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LIFEBOAT = path.join(ROOT, 'bin', 'lifeboat');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Fails (never skips) when the suite cannot run here: not root, or a tool missing. */
export function requireEnvironment(): void {
  assert.equal(process.getuid?.(), 0, 'the coverage suites need root (loop devices, mount)');
  for (const t of ['restic', 'rsync', 'losetup', 'mkfs.ext4', 'blkid', 'mount', 'umount']) {
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

function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
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

/** Spawns `lifeboat ARGS --config CONFIG` and hands the child to `drive` while it runs. */
export function spawnLifeboat(config: string, args: readonly string[], drive: (child: ReturnType<typeof spawn>, firstLine: Promise<string>) => void): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(LIFEBOAT, [...args, '--config', config], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let gotLine: (l: string) => void = () => {};
    const firstLine = new Promise<string>((r) => (gotLine = r));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.includes('\n')) gotLine(stdout.slice(0, stdout.indexOf('\n')));
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    drive(child, firstLine);
  });
}

/** Resolves once `file` exists (polled every 100 ms): how a test knows a slow command has started. */
export async function untilExists(file: string): Promise<void> {
  for (;;) {
    if (await fsp.access(file).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs `./bin/lifeboat ARGS --config CONFIG`. */
export function lifeboat(config: string, args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return run(LIFEBOAT, [...args, '--config', config], cleanEnv(env));
}

/** Runs the real restic on `repo` with the password file, in a private cache directory. */
export async function restic(repo: string, passwordFile: string, args: readonly string[]): Promise<CliResult> {
  const cache = path.join(path.dirname(passwordFile), 'restic-cache');
  return run('restic', ['-r', repo, '--no-lock', ...args], cleanEnv({ RESTIC_PASSWORD_FILE: passwordFile, RESTIC_CACHE_DIR: cache }));
}

export interface ResticSnapshot {
  readonly id: string;
  readonly short_id: string;
  readonly time: string;
  readonly paths: string[];
  readonly tags?: string[];
  readonly hostname: string;
}

/** `restic snapshots --json` (optionally `--tag T`), asserting restic opened the repository. */
export async function resticSnapshots(repo: string, passwordFile: string, tag?: string): Promise<ResticSnapshot[]> {
  const r = await restic(repo, passwordFile, ['snapshots', '--json', ...(tag !== undefined ? ['--tag', tag] : [])]);
  assert.equal(r.code, 0, `restic snapshots on ${repo} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ResticSnapshot[];
}

/** The NDJSON lines of `run --json`: cell results and the summary. */
export interface CellLine {
  readonly type: 'cell';
  readonly source: string;
  readonly destination: string;
  readonly outcome: 'success' | 'partial' | 'failed' | 'absent' | 'interrupted' | 'not-due';
  readonly snapshot?: string;
  readonly files: number;
  readonly files_written: number;
  readonly bytes_added: number;
  /** Deprecated alias of bytes_added. */
  readonly bytes: number;
  readonly error?: string;
  readonly code?: string;
  readonly hint?: string;
}
export interface SummaryLine {
  readonly type: 'summary';
  readonly cells: number;
  readonly succeeded: number;
  readonly partial: number;
  readonly failed: number;
  readonly absent: number;
  readonly interrupted: number;
  readonly not_due: number;
}

export function runLines(stdout: string): { cells: CellLine[]; summary: SummaryLine } {
  const lines = stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { type: string });
  const summary = lines.filter((l) => l.type === 'summary');
  assert.equal(summary.length, 1, `run --json printed ${summary.length} summary lines:\n${stdout}`);
  return { cells: lines.filter((l) => l.type === 'cell') as CellLine[], summary: summary[0] as SummaryLine };
}

/** The cell for source x destination; fails when it is missing. */
export function cell<T extends { source: string; destination: string }>(cells: readonly T[], source: string, destination: string): T {
  const c = cells.find((x) => x.source === source && x.destination === destination);
  assert.ok(c, `no cell ${source} -> ${destination} among ${cells.map((x) => `${x.source}->${x.destination}`).join(', ')}`);
  return c;
}

export interface StatusCellJson {
  readonly source: string;
  readonly destination: string;
  readonly state: 'OK' | 'DUE' | 'STALE' | 'NEVER' | 'ABSENT' | 'FAILED' | 'INTERRUPTED' | 'MISSING';
  readonly last_success: string | null;
  readonly snapshot: string | null;
  readonly snapshots: number | null;
  readonly last_error: string | null;
  readonly last_code: string | null;
  readonly bytes_added: number | null;
  readonly destination_present: boolean;
  readonly destination_state: string;
  readonly destination_why: string | null;
  readonly last_seen: string | null;
  readonly last_drill: string | null;
}

export async function statusJson(config: string): Promise<{ code: number | null; cells: StatusCellJson[]; warnings: { code: string; message: string }[] }> {
  const r = await lifeboat(config, ['status', '--json']);
  assert.equal(r.stderr, '', `status --json wrote to stderr: ${r.stderr}`);
  const doc = JSON.parse(r.stdout) as { cells: StatusCellJson[]; warnings: { code: string; message: string }[] };
  return { code: r.code, ...doc };
}

/** A scratch directory (removed by cleanupTestDrives()) with a password file, mode 0600. */
export async function scratch(): Promise<{ dir: string; passwordFile: string }> {
  const dir = await makeScratchDir();
  await fsp.mkdir(path.join(dir, 'secrets'), { mode: 0o700 });
  const passwordFile = path.join(dir, 'secrets', 'password');
  await fsp.writeFile(passwordFile, 'coverage suite password\n', { mode: 0o600 });
  await fsp.chmod(passwordFile, 0o600);
  return { dir, passwordFile };
}

export { seededBytes, writeTree } from '../support/files.ts';

/** The most common map in these suites: one source backed up to one USB drive. */
export interface UsbCell {
  readonly dir: string;
  readonly passwordFile: string;
  readonly destination: string;
  readonly label: string;
  readonly mountpoint: string;
  readonly source: string;
  readonly paths: readonly string[];
  readonly priority: string;
  readonly frequency: string;
}

/** Writes <dir>/lifeboat.yaml for a UsbCell (state in <dir>/state); returns its path. */
export async function writeUsbCellConfig(c: UsbCell): Promise<string> {
  const config = path.join(c.dir, 'lifeboat.yaml');
  await fsp.writeFile(
    config,
    `state_dir: ${c.dir}/state
destinations:
  ${c.destination}:
    kind: usb
    label: ${c.label}
    mountpoint: ${c.mountpoint}
    password_file: ${c.passwordFile}
sources:
  ${c.source}:
    paths: [${c.paths.join(', ')}]
    priority: ${c.priority}
    frequency: ${c.frequency}
    destinations: [${c.destination}]
`,
  );
  return config;
}

/** `drive enroll DESTINATION`, which must succeed. */
export async function enroll(config: string, destination: string): Promise<void> {
  const e = await lifeboat(config, ['drive', 'enroll', destination]);
  assert.equal(e.code, 0, e.stderr);
}

/** Every path under `dir`, relative, sorted (directories end in '/'). */
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
  await walk(dir, '');
  return out.sort();
}

/** Whether `dir` is a mount point now, from the kernel's mount table. */
export async function isMounted(dir: string): Promise<boolean> {
  const text = await fsp.readFile('/proc/self/mountinfo', 'utf8');
  const decode = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text.split('\n').some((l) => decode(l.split(' ')[4] ?? '') === dir);
}

export async function umount(dir: string): Promise<void> {
  const r = await run('umount', ['--', dir], cleanEnv());
  assert.equal(r.code, 0, `umount ${dir}: ${r.stderr}`);
}

/**
 * "Unplugs" a test drive as far as lifeboat can tell: unmounts it everywhere and relabels its
 * filesystem, so blkid no longer finds a drive with the configured label. The loop device stays
 * attached on purpose: the test-drive helper remembers loop devices by name and detaches them at
 * cleanup, and a name freed here could meanwhile belong to another test process's drive.
 * plugIn() gives the label back.
 */
export async function unplug(drive: { device: string; label: string }): Promise<void> {
  const away = `X${drive.label.slice(1)}`; // unique, and no configured label
  const r = await run('sh', ['-c', 'for m in $(findmnt -rn -S "$1" -o TARGET); do umount -- "$m" || exit 1; done; e2label "$1" "$2"', 'unplug', drive.device, away], cleanEnv());
  assert.equal(r.code, 0, `unplug ${drive.device}: ${r.stderr}`);
}

export async function plugIn(drive: { device: string; label: string }): Promise<void> {
  const r = await run('e2label', [drive.device, drive.label], cleanEnv());
  assert.equal(r.code, 0, `e2label ${drive.device}: ${r.stderr}`);
}

export async function mountDevice(device: string, dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  const r = await run('mount', ['--', device, dir], cleanEnv());
  assert.equal(r.code, 0, `mount ${device} ${dir}: ${r.stderr}`);
}
