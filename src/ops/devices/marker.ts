/**
 * The drive marker `<root>/.lifeboat-drive.json`: written once per drive by enroll, read before
 * every run. It ties a repository/mirror directory to the destination, the drive (label, UUID)
 * and the repository id it was enrolled with, so a drive swapped for another one, a clone, or a
 * directory copied onto the wrong drive is refused by name instead of written to.
 *
 * Invariants: writeMarker never creates directories (enroll makes the root on a destination
 * checkDestination found ready); a marker on disk is always complete (temp file, fsync, then
 * link or rename, then fsync of the directory).
 */
import { link, open, readFile, rename, unlink } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LifeboatError } from '../../core/errors.ts';

export const MARKER_FILE = '.lifeboat-drive.json';
export const MARKER_FORMAT = 1;

export interface DriveMarker {
  readonly destination: string;
  /** Filesystem label of the drive at enroll time; null for destinations without one (nas, local). */
  readonly label: string | null;
  readonly uuid: string | null;
  readonly repository_id?: string;
  readonly format: typeof MARKER_FORMAT;
  /** ISO 8601, UTC. */
  readonly enrolled_at: string;
  readonly hostname: string;
}

export type MarkerState =
  | { readonly state: 'missing'; readonly path: string }
  | { readonly state: 'invalid'; readonly path: string; readonly why: string }
  | { readonly state: 'present'; readonly path: string; readonly marker: DriveMarker };

export interface MarkerExpectation {
  readonly destination: string;
  /** The label of the drive actually mounted (from checkDestination's ready state). */
  readonly label?: string;
  readonly uuid?: string;
  readonly repositoryId?: string;
}

export function markerPath(root: string): string {
  return join(root, MARKER_FILE);
}

/** Builds the marker enroll writes. */
export function newMarker(input: {
  destination: string;
  label?: string;
  uuid?: string;
  repositoryId?: string;
  now?: Date;
  hostname?: string;
}): DriveMarker {
  return {
    destination: input.destination,
    label: input.label ?? null,
    uuid: input.uuid ?? null,
    ...(input.repositoryId !== undefined ? { repository_id: input.repositoryId } : {}),
    format: MARKER_FORMAT,
    enrolled_at: (input.now ?? new Date()).toISOString(),
    hostname: input.hostname ?? osHostname(),
  };
}

/** Checks the decoded JSON; returns the marker or what is wrong with it. */
function validate(doc: unknown): DriveMarker | string {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'it is not a JSON object';
  const o = doc as Record<string, unknown>;
  if (o['format'] !== MARKER_FORMAT) {
    return typeof o['format'] === 'number' && o['format'] > MARKER_FORMAT
      ? `it has format ${o['format']}, written by a newer lifeboat`
      : 'it has no known format number';
  }
  const nullableString = (k: string): boolean => o[k] === null || typeof o[k] === 'string';
  if (typeof o['destination'] !== 'string' || o['destination'] === '') return 'it names no destination';
  if (!nullableString('label') || !nullableString('uuid')) return 'its label or uuid is not a string';
  if (o['repository_id'] !== undefined && typeof o['repository_id'] !== 'string') return 'its repository_id is not a string';
  if (typeof o['enrolled_at'] !== 'string' || typeof o['hostname'] !== 'string') return 'it lacks enrolled_at or hostname';
  return {
    destination: o['destination'],
    label: o['label'] as string | null,
    uuid: o['uuid'] as string | null,
    ...(typeof o['repository_id'] === 'string' ? { repository_id: o['repository_id'] } : {}),
    format: MARKER_FORMAT,
    enrolled_at: o['enrolled_at'],
    hostname: o['hostname'],
  };
}

/** Reads `<root>/.lifeboat-drive.json`. Missing or unparsable markers are states, not errors. */
export async function readMarker(root: string): Promise<MarkerState> {
  const path = markerPath(root);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { state: 'missing', path };
    throw new LifeboatError('IO', `Cannot read the drive marker ${path}: ${(e as Error).message}`, { cause: e });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { state: 'invalid', path, why: 'it is not valid JSON' };
  }
  const v = validate(doc);
  return typeof v === 'string' ? { state: 'invalid', path, why: v } : { state: 'present', path, marker: v };
}

function writeError(path: string, e: unknown): LifeboatError {
  if (e instanceof LifeboatError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  return new LifeboatError(code === 'ENOENT' ? 'NOT_FOUND' : 'IO', `Cannot write the drive marker ${path}: ${(e as Error).message}`, {
    cause: e,
    ...(code === 'ENOENT' ? { hint: 'the repository directory must exist; enroll creates it on a ready destination' } : {}),
  });
}

/**
 * Writes the marker crash-safely. Without `replace`, an existing marker is never overwritten
 * (USAGE error): re-enrolling a drive is a deliberate act. Returns the marker's path.
 */
export async function writeMarker(root: string, marker: DriveMarker, opts: { replace?: boolean } = {}): Promise<string> {
  const check = validate(marker);
  if (typeof check === 'string') throw new LifeboatError('USAGE', `Cannot write a drive marker: ${check}`);
  const path = markerPath(root);
  const tmp = join(root, `${MARKER_FILE}.tmp-${randomBytes(6).toString('hex')}`);
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(JSON.stringify(marker, null, 2) + '\n', 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (opts.replace === true) {
      await rename(tmp, path);
    } else {
      try {
        await link(tmp, path); // fails with EEXIST, atomically, when a marker is already there
        await unlink(tmp);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') {
          throw new LifeboatError('USAGE', `Cannot enroll ${root}: it already carries a drive marker (${path})`, {
            hint: 're-enrolling replaces the drive identity on purpose only',
          });
        }
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
        // vfat/exfat have no hard links: fall back to check-then-rename.
        if ((await readMarker(root)).state !== 'missing') {
          throw new LifeboatError('USAGE', `Cannot enroll ${root}: it already carries a drive marker (${path})`);
        }
        await rename(tmp, path);
      }
    }
    const dir = await open(root, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return path;
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw writeError(path, e);
  }
}

/**
 * Compares a marker with what this run expects. Returns undefined when it may proceed, else the
 * reason it is refused, naming the drive and the destinations involved.
 */
export function verifyMarker(state: MarkerState, expected: MarkerExpectation): string | undefined {
  const drive = expected.label ?? (expected.uuid !== undefined ? `the drive with UUID ${expected.uuid}` : `destination '${expected.destination}'`);
  if (state.state === 'missing') {
    const what = expected.label !== undefined || expected.uuid !== undefined ? `${drive} was never enrolled for destination '${expected.destination}'` : `Destination '${expected.destination}' was never enrolled`;
    return `${what} (no ${state.path}): enroll it once before the first run with \`lifeboat drive enroll ${expected.destination}\``;
  }
  if (state.state === 'invalid') return `The drive marker ${state.path} cannot be trusted: ${state.why}`;
  const m = state.marker;
  if (m.destination !== expected.destination) {
    return `${drive} is enrolled for destination '${m.destination}', not '${expected.destination}': refusing to write to it`;
  }
  if (expected.label !== undefined && m.label !== expected.label) {
    return `${state.path} was written for drive ${m.label ?? '(no label)'}, but the drive mounted there is ${expected.label}: refusing to write to it`;
  }
  if (expected.uuid !== undefined && (m.uuid ?? '').toLowerCase() !== expected.uuid.toLowerCase()) {
    return `${drive} has UUID ${expected.uuid}, but its marker was written for UUID ${m.uuid ?? '(none)'}: it is a copy or a different drive, refusing to write to it`;
  }
  if (expected.repositoryId !== undefined && m.repository_id !== expected.repositoryId) {
    return `${drive} holds repository ${m.repository_id ?? '(none recorded)'}, not ${expected.repositoryId} of destination '${expected.destination}': refusing to write to it`;
  }
  return undefined;
}
