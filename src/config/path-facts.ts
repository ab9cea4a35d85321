/**
 * What the loader learns about this machine's filesystem before judging the config: which
 * source paths and password files exist (and can be read), where PostgreSQL's data files are,
 * and which filesystem each nas and local destination sits on. Everything is looked up first,
 * through the injected `stat`, so the rules that judge it stay synchronous and pure.
 *
 * Device identity is the filesystem's st_dev as major:minor (as /proc/self/mountinfo writes
 * it): two bind mounts of one share have one st_dev, so they count as one device, as they
 * should. A destination's device is that of the nearest existing directory above its root. A
 * nas whose share is not mounted has no device (it would read as the root filesystem): its
 * mountpoint, when given, must be on another device than the directory above it, and without a
 * mountpoint its path must not be on the root filesystem. USB drives are told apart by label
 * and UUID instead (an unplugged drive's mountpoint is just a directory on the root disk).
 */
import { constants, promises as fsp } from 'node:fs';
import { posix } from 'node:path';
import type { Config, Destination } from './config.ts';

export interface PathStat {
  readonly kind: 'file' | 'directory' | 'other';
  readonly size: number;
  /** major:minor of the filesystem holding it. */
  readonly device: string;
  /** Whether this process may read it. */
  readonly readable: boolean;
}

/** stat(2), following symlinks; undefined when nothing is there. */
export type StatPath = (path: string) => Promise<PathStat | undefined>;

/** path -> what is there, null for nothing; paths never looked up are absent. */
export type PathFacts = ReadonlyMap<string, PathStat | null>;

/** Where PostgreSQL keeps its data files on Debian/NixOS and on Red Hat. */
export const POSTGRES_DATA_ROOTS: readonly string[] = ['/var/lib/postgresql', '/var/lib/pgsql'];

/** The real filesystem. */
export const statPath: StatPath = async (path) => {
  let st;
  try {
    st = await fsp.stat(path, { bigint: true });
  } catch {
    return undefined;
  }
  const dev = st.dev;
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n);
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n);
  const readable = await fsp.access(path, constants.R_OK).then(
    () => true,
    () => false,
  );
  return { kind: st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other', size: Number(st.size), device: `${major}:${minor}`, readable };
};

/** Looks up every path the machine rules and deviceOf need. */
export async function lookUpPaths(config: Config, stat: StatPath): Promise<PathFacts> {
  const wanted = new Set<string>(['/', ...POSTGRES_DATA_ROOTS]);
  for (const s of config.sources) {
    if (s.kind !== 'paths') continue;
    for (const p of s.paths) {
      wanted.add(p);
      wanted.add(posix.join(p, 'PG_VERSION'));
    }
  }
  for (const d of config.destinations) {
    if (d.format === 'repository' && d.password.kind === 'file') wanted.add(d.password.path);
    if (d.kind === 'usb') continue;
    for (const p of ancestors(d.root)) wanted.add(p);
    if (d.kind === 'nas' && d.mountpoint !== undefined) wanted.add(posix.dirname(d.mountpoint));
  }
  const paths = [...wanted];
  const stats = await Promise.all(paths.map((p) => stat(p)));
  return new Map(paths.map((p, i) => [p, stats[i] ?? null]));
}

/** deviceOf for the policy rules: a nas or local destination's filesystem, when it is known. */
export function devicesFrom(config: Config, facts: PathFacts): (destination: string) => string | undefined {
  const byName = new Map(config.destinations.map((d) => [d.name, d]));
  return (name) => {
    const d = byName.get(name);
    return d === undefined ? undefined : deviceOf(d, facts);
  };
}

function deviceOf(d: Destination, facts: PathFacts): string | undefined {
  if (d.kind === 'usb') return undefined;
  const device = ancestors(d.root)
    .map((p) => facts.get(p))
    .find((st) => st)?.device;
  if (device === undefined || d.kind === 'local') return device;
  if (d.mountpoint !== undefined) {
    const mp = facts.get(d.mountpoint);
    const above = facts.get(posix.dirname(d.mountpoint));
    return mp && above && mp.device !== above.device ? device : undefined;
  }
  return device === facts.get('/')?.device ? undefined : device;
}

/** `/a/b/c` -> [`/a/b/c`, `/a/b`, `/a`, `/`]. */
function ancestors(path: string): string[] {
  const out = [path];
  for (let p = path; p !== '/'; ) {
    p = posix.dirname(p);
    out.push(p);
  }
  return out;
}
