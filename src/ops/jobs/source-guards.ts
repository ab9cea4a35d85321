/**
 * Source guards: an unmounted NAS or Samba source must be refused, not stored as an empty
 * directory (which retention would then happily treat as the newest copy).
 */
import { promises as fsp } from 'node:fs';
import type { PathsSource } from '../../config/index.ts';
import { isMountPoint, parseMountinfo } from '../devices/index.ts';
import type { DeviceProbe } from '../devices/index.ts';

/** Returns a reason to refuse the source, or undefined when it may be backed up. */
export async function sourceGuardProblem(source: PathsSource, probe: DeviceProbe): Promise<string | undefined> {
  for (const p of source.paths) {
    try {
      await fsp.lstat(p);
    } catch {
      return `source ${source.name}: ${p} does not exist`;
    }
  }
  if (source.must_be_mountpoint) {
    const mounts = parseMountinfo(await probe.mountinfo());
    for (const p of source.paths) {
      if (!isMountPoint(p, mounts)) return `source ${source.name}: ${p} is not a mount point (must_be_mountpoint): is the share mounted?`;
    }
  }
  if (source.min_files > 0) {
    let n = 0;
    const walk = async (d: string): Promise<void> => {
      if (n >= source.min_files) return;
      let entries;
      try {
        entries = await fsp.readdir(d, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (n >= source.min_files) return;
        if (e.isFile()) n++;
        else if (e.isDirectory()) await walk(`${d}/${e.name}`);
      }
    };
    for (const p of source.paths) {
      const st = await fsp.stat(p);
      if (st.isFile()) n++;
      else await walk(p);
    }
    if (n < source.min_files) return `source ${source.name} holds ${n} files, fewer than min_files ${source.min_files}: refusing to store it as if it were empty (is it mounted?)`;
  }
  return undefined;
}

/** Bytes likely to be written: files changed since `since` (all when undefined), plus slack. */
export async function estimateNewBytes(paths: readonly string[], sinceMs: number | undefined): Promise<number> {
  let total = 0;
  const walk = async (p: string): Promise<void> => {
    let st;
    try {
      st = await fsp.lstat(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      let names: string[] = [];
      try {
        names = await fsp.readdir(p);
      } catch {
        return;
      }
      for (const n of names) await walk(`${p === '/' ? '' : p}/${n}`);
    } else if (st.isFile() && (sinceMs === undefined || st.mtimeMs > sinceMs || st.ctimeMs > sinceMs)) {
      total += st.size;
    }
  };
  for (const p of paths) await walk(p);
  return total + Math.ceil(total * 0.01) + (16 << 20);
}
