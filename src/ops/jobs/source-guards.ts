/**
 * Source guards: an unmounted NAS or Samba source must be refused, not stored as an empty
 * directory (which retention would then happily treat as the newest copy).
 */
import { promises as fsp } from 'node:fs';
import { LifeboatError } from '../../core/errors.ts';
import type { Destination, PathsSource, Source } from '../../config/index.ts';
import { isMountPoint, parseMountinfo } from '../devices/index.ts';
import type { DeviceProbe } from '../devices/index.ts';
import { readExcludeFile, type Env } from '../../core/filter/index.ts';

/**
 * Why this cell must not be written, checked before anything is: a sensitive source to an
 * unencrypted mirror (POLICY_REFUSED), a source that is not there as configured
 * (SOURCE_UNAVAILABLE). A run and `run --dry-run` both ask here.
 */
export async function cellRefusal(source: Source, destination: Destination, probe: DeviceProbe): Promise<LifeboatError | undefined> {
  if (destination.format === 'mirror' && source.sensitive) {
    return new LifeboatError('POLICY_REFUSED', `source ${source.name} is sensitive and ${destination.name} is an unencrypted mirror: refusing to copy it there`, {
      hint: `back ${source.name} up to a repository destination instead (remove ${destination.name} from its destinations)`,
    });
  }
  const guard = source.kind === 'paths' ? await sourceGuardProblem(source, probe) : undefined;
  return guard ? new LifeboatError('SOURCE_UNAVAILABLE', guard, { hint: 'mount or fill the source, then run again; nothing was written' }) : undefined;
}

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

/**
 * Bytes a mirror run will write: the size of every source file whose size or mtime differ from
 * its copy in the mirror (rsync's quick check, to the second; a file with no copy counts in full), plus 1% and
 * 1 MiB for directories and rsync's temp names. `copyOf` maps a source path to its place in the
 * mirror. Replaced files are moved into versions/ (a rename on the same filesystem), so they
 * take no new space; excluded files are not counted.
 */
export async function mirrorBytesToWrite(paths: readonly string[], copyOf: (sourcePath: string) => string, exclude?: { excludes(path: string): boolean }): Promise<number> {
  let total = 0;
  const walk = async (p: string, copy: string): Promise<void> => {
    if (exclude?.excludes(p)) return;
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
      for (const n of names) await walk(`${p === '/' ? '' : p}/${n}`, `${copy}/${n}`);
    } else if (st.isFile()) {
      const old = await fsp.lstat(copy).catch(() => undefined);
      // Within a second counts as the same time: a FAT drive keeps 2 s steps, and rsync is run
      // with --modify-window=1 there. On ext4 rsync compares nanoseconds, so a same-size edit
      // within one second is missed here: an estimate too low by one file ends in a clean NO_SPACE.
      if (!old || old.size !== st.size || Math.abs(old.mtimeMs - st.mtimeMs) > 1000) total += st.size;
    }
  };
  for (const p of paths) await walk(p, copyOf(p));
  return total + Math.ceil(total * 0.01) + (1 << 20);
}

/** A source's exclude patterns: its `exclude` list, then each `exclude_from` file's (run and mirror drill share them). */
export async function sourceExcludePatterns(source: Source, env: Env): Promise<string[]> {
  if (source.kind !== 'paths') return [];
  const patterns = [...source.exclude];
  for (const f of source.exclude_from) patterns.push(...(await readExcludeFile(f, env)));
  return patterns;
}
