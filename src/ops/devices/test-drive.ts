/**
 * Test helper (needs root): real "USB drives" made of loop devices, for any test that wants a
 * labelled ext4 drive to find, mount and unplug. Not part of the module's public face.
 *
 * Every drive, mount and scratch directory lives under /tmp/lifeboat-testdrive-<pid>-<random>,
 * so cleanup finds all of them from the mount table and `losetup --list`, including mounts made
 * by the code under test. Call cleanupTestDrives() from an `after` hook in every test file that
 * uses this; sweepStaleTestDrives() (run on first use) detaches what killed earlier runs left.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMountinfo, type MountEntry } from './mountinfo.ts';
import { runCommand } from './run-command.ts';

const PREFIX = 'lifeboat-testdrive-';
const OWN_TAG = `${PREFIX}${process.pid}-`;
const scratchDirs = new Set<string>();
const loops = new Set<string>();
let swept = false;

export interface TestDrive {
  readonly label: string;
  readonly uuid: string;
  /** The loop device, e.g. /dev/loop3. */
  readonly device: string;
  readonly image: string;
  /** Private scratch directory of this drive; make its mountpoints here. */
  readonly workDir: string;
  /** mkdir -p `dir`, then mount the drive there (read-write unless asked). */
  mount(dir: string, opts?: { readOnly?: boolean }): Promise<void>;
  /** Unmounts the drive everywhere, detaches the loop device, deletes the image. */
  cleanup(): Promise<void>;
}

/** A label unique per call, within ext4's 16 characters: BU-TEST-XXXXXXXX. */
export function randomLabel(prefix = 'BU-TEST-'): string {
  return (prefix + randomBytes(8).toString('hex').toUpperCase()).slice(0, 16);
}

/** A fresh scratch directory under /tmp, removed by cleanupTestDrives(). */
export async function makeScratchDir(): Promise<string> {
  if (!swept) {
    swept = true;
    await sweepStaleTestDrives();
  }
  const dir = await mkdtemp(join('/tmp', OWN_TAG));
  scratchDirs.add(dir);
  return dir;
}

async function mountTable(): Promise<MountEntry[]> {
  return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

function under(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir + '/');
}

/** Unmounts every mount matching `pick`, newest first, lazily when a mount stays busy. */
async function unmountWhere(pick: (m: MountEntry) => boolean): Promise<void> {
  for (let round = 0; round < 32; round++) {
    const hits = (await mountTable()).filter(pick);
    const last = hits[hits.length - 1];
    if (last === undefined) return;
    try {
      await runCommand('umount', ['--', last.mountPoint], { timeoutMs: 10_000 });
    } catch {
      await runCommand('umount', ['-l', '--', last.mountPoint], { timeoutMs: 10_000 }).catch(() => undefined);
    }
  }
}

async function loopList(): Promise<{ name: string; backFile: string }[]> {
  const r = await runCommand('losetup', ['--list', '--json', '-O', 'NAME,BACK-FILE'], { timeoutMs: 10_000 });
  if (r.stdout.trim() === '') return [];
  const doc = JSON.parse(r.stdout) as { loopdevices?: { name?: string; 'back-file'?: string }[] };
  return (doc.loopdevices ?? []).map((l) => ({ name: l.name ?? '', backFile: l['back-file'] ?? '' }));
}

async function detach(device: string): Promise<void> {
  await unmountWhere((m) => m.source === device);
  await runCommand('losetup', ['-d', device], { timeoutMs: 10_000 }).catch(() => undefined);
  loops.delete(device);
}

async function removeDir(dir: string): Promise<void> {
  await unmountWhere((m) => under(m.mountPoint, dir));
  // Never delete through a mount: a bind mount could lead rm into a real directory.
  if ((await mountTable()).some((m) => under(m.mountPoint, dir))) {
    throw new Error(`test cleanup: ${dir} still has mounts under it; not deleting it`);
  }
  await rm(dir, { recursive: true, force: true });
  scratchDirs.delete(dir);
}

/** Detaches loop devices and removes scratch directories left by test processes that are gone. */
export async function sweepStaleTestDrives(): Promise<void> {
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  const stale = (path: string): string | undefined => {
    const m = new RegExp(`(/tmp/${PREFIX}(\\d+)-[^/ ]+)`).exec(path);
    return m?.[1] !== undefined && m[2] !== undefined && !alive(Number(m[2])) ? m[1] : undefined;
  };
  for (const l of await loopList()) if (stale(l.backFile) !== undefined) await detach(l.name);
  for (const name of await readdir('/tmp')) {
    const dir = stale(join('/tmp', name));
    if (dir !== undefined) await removeDir(dir).catch(() => undefined);
  }
}

/** Creates a 32 MiB ext4 image with a unique label (or the one given) and attaches it to a loop device. */
export async function createTestDrive(opts: { label?: string; uuid?: string; sizeMiB?: number } = {}): Promise<TestDrive> {
  const workDir = await makeScratchDir();
  const label = opts.label ?? randomLabel();
  const uuid = opts.uuid ?? randomUUID();
  const image = join(workDir, 'drive.img');
  const fh = await open(image, 'wx');
  await fh.truncate((opts.sizeMiB ?? 32) * 1024 * 1024); // sparse, like truncate -s 32M
  await fh.close();
  await runCommand('mkfs.ext4', ['-q', '-L', label, '-U', uuid, '-E', 'nodiscard', image]);
  let device = '';
  for (let attempt = 0; ; attempt++) {
    try {
      // Another test process may grab the same free loop device between find and attach.
      device = (await runCommand('losetup', ['-f', '--show', image], { timeoutMs: 10_000 })).stdout.trim();
      break;
    } catch (e) {
      if (attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    }
  }
  loops.add(device);
  return {
    label,
    uuid,
    device,
    image,
    workDir,
    async mount(dir, mopts = {}) {
      await mkdir(dir, { recursive: true });
      await runCommand('mount', ['-o', mopts.readOnly === true ? 'ro' : 'rw', '--', device, dir]);
    },
    async cleanup() {
      await detach(device);
      await removeDir(workDir);
    },
  };
}

/** Runs `fn` with a fresh drive and always cleans it up. */
export async function withTestDrive<T>(fn: (d: TestDrive) => Promise<T>, opts?: { label?: string; uuid?: string }): Promise<T> {
  const d = await createTestDrive(opts);
  try {
    return await fn(d);
  } finally {
    await d.cleanup();
  }
}

/** Mounts a small tmpfs at `dir` (created); unmounted by cleanupTestDrives() when under a scratch dir. */
export async function mountTmpfs(dir: string, opts: { readOnly?: boolean } = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  await runCommand('mount', ['-t', 'tmpfs', '-o', `size=8m${opts.readOnly === true ? ',ro' : ''}`, 'tmpfs', dir]);
}

/** Bind-mounts `src` at `dst` (created). */
export async function bindMount(src: string, dst: string): Promise<void> {
  await mkdir(dst, { recursive: true });
  await runCommand('mount', ['--bind', '--', src, dst]);
}

/** Unmounts, detaches and deletes everything this process made with this helper. */
export async function cleanupTestDrives(): Promise<void> {
  const problems: string[] = [];
  for (const d of [...loops]) await detach(d).catch((e: unknown) => problems.push(String(e)));
  // Loops attached by this process but lost from the set (a failed create) are found by back-file.
  for (const l of await loopList()) if (l.backFile.includes(`/tmp/${OWN_TAG}`)) await detach(l.name);
  for (const dir of [...scratchDirs]) await removeDir(dir).catch((e: unknown) => problems.push(String(e)));
  if (problems.length > 0) throw new Error(`test cleanup incomplete: ${problems.join('; ')}`);
}
