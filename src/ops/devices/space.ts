/**
 * Free space before a run: the destination must hold what the run may write. Call it only on a
 * destination checkDestination found ready: statfs(2) on an automount point triggers the mount.
 */
import { statfs } from 'node:fs/promises';
import { LifeboatError } from '../../core/errors.ts';
import type { DeviceProbe } from './probe.ts';

export type SpaceCheck =
  | { readonly ok: true; readonly path: string; readonly free: number; readonly needed: number }
  | { readonly ok: false; readonly path: string; readonly free: number; readonly needed: number; readonly why: string };

export interface SpaceOptions {
  /** Where to ask; defaults to statfs(2) directly. */
  readonly probe?: Pick<DeviceProbe, 'statfs'>;
  /** Bytes to keep free on top of the estimate (filesystem slack, index and lock files). */
  readonly reserve?: number;
}

/** Bytes an unprivileged writer may still use on the filesystem holding `path` (f_bavail x f_bsize). */
export async function freeBytes(path: string, opts: Pick<SpaceOptions, 'probe'> = {}): Promise<number> {
  if (opts.probe !== undefined) return (await opts.probe.statfs(path)).free;
  try {
    const s = await statfs(path);
    return s.bavail * s.bsize;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LifeboatError(code === 'ENOENT' ? 'NOT_FOUND' : 'IO', `Cannot measure free space at ${path}`, { cause: e });
  }
}

/** Human sizes for messages: binary units, one decimal. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Compares free space at `path` with `needed` bytes (an estimate of what the run will write). */
export async function checkSpace(path: string, needed: number, opts: SpaceOptions = {}): Promise<SpaceCheck> {
  if (!Number.isFinite(needed) || needed < 0) {
    throw new LifeboatError('USAGE', `Cannot check free space at ${path}: ${needed} is not a byte count`);
  }
  const free = await freeBytes(path, opts);
  const want = needed + (opts.reserve ?? 0);
  if (free >= want) return { ok: true, path, free, needed };
  return {
    ok: false,
    path,
    free,
    needed,
    why: `Only ${formatBytes(free)} free at ${path}, but this run may write about ${formatBytes(needed)}${
      opts.reserve ? ` and ${formatBytes(opts.reserve)} are kept in reserve` : ''
    }: free space there or make the run smaller`,
  };
}
