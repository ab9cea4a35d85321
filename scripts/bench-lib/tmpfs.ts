/**
 * The restore target: a tmpfs mounted for the run, so restore speed measures the tool and not
 * the disk it writes to. Sized to hold the restored dataset with room to spare (at least 4 GiB).
 */
import { promises as fsp } from 'node:fs';
import { runCommand } from './run-command.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** Room for one restored tree (the next tool's restore starts after this one is deleted). */
export function tmpfsSizeFor(datasetBytes: number): number {
  return Math.max(4 * GiB, Math.ceil((datasetBytes * 1.25 + 512 * MiB) / MiB) * MiB);
}

export async function isMountPoint(dir: string): Promise<boolean> {
  const mounts = await fsp.readFile('/proc/self/mounts', 'utf8');
  // Mount points are octal-escaped in /proc/self/mounts (space as \040).
  return mounts.split('\n').some((l) => (l.split(' ')[1] ?? '').replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))) === dir);
}

export async function mountTmpfs(dir: string, sizeBytes: number): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  if (await isMountPoint(dir)) await unmountTmpfs(dir);
  await runCommand('mount', ['-t', 'tmpfs', '-o', `size=${Math.ceil(sizeBytes / MiB)}m,mode=0755`, 'tmpfs', dir]);
}

export async function unmountTmpfs(dir: string): Promise<void> {
  if (await isMountPoint(dir)) await runCommand('umount', [dir]);
}
