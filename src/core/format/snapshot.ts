/**
 * Snapshot documents (restic-format.md §6.1; design.rst "Snapshots").
 *
 * `encodeSnapshot` writes what restic's `json.Marshal(snapshot)` writes (no trailing newline):
 * Go struct field order, omitempty rules (`uid`/`gid` left out when 0, `parent`, `hostname`,
 * `username`, `excludes`, `tags`, `original` when empty), `paths` always present. It also
 * writes restic >= 0.17's `program_version` and `summary` when given, in their Go order.
 * `decodeSnapshot` requires a valid `time` and `tree`; other fields take Go's zero values.
 *
 * The `time` string is kept verbatim and written back verbatim, so a snapshot read and written
 * again keeps its bytes even where Go would normalise (`+00:00` -> `Z`).
 */
import { LifeboatError, malformedError } from '../errors.ts';
import { parseId, type Id } from '../ids.ts';
import { goJsonString } from './go-json.ts';
import { JsonObject, parseJson, readInt64, readObject, readString, readStringArray, readUint, type JsonValue } from './go-json-reader.ts';
import { formatRfc3339Nano, parseRfc3339Nano, ZERO_TIME, type GoTime } from './go-time.ts';

/** restic >= 0.17 backup statistics (`SnapshotSummary`); every field is always written. */
export interface SnapshotSummary {
  readonly backupStart: GoTime;
  readonly backupEnd: GoTime;
  readonly filesNew: bigint;
  readonly filesChanged: bigint;
  readonly filesUnmodified: bigint;
  readonly dirsNew: bigint;
  readonly dirsChanged: bigint;
  readonly dirsUnmodified: bigint;
  /** Go `int` (signed). */
  readonly dataBlobs: bigint;
  /** Go `int` (signed). */
  readonly treeBlobs: bigint;
  readonly dataAdded: bigint;
  readonly dataAddedPacked: bigint;
  readonly totalFilesProcessed: bigint;
  readonly totalBytesProcessed: bigint;
}

export interface Snapshot {
  /** RFC3339Nano as stored; authoritative for encoding. */
  readonly time: string;
  /** `time` parsed (nanoseconds and zone kept). Set by decodeSnapshot; ignored by encodeSnapshot. */
  readonly timeValue?: GoTime | undefined;
  readonly parent?: Id | undefined;
  readonly tree: Id;
  readonly paths: readonly string[];
  readonly hostname?: string | undefined;
  readonly username?: string | undefined;
  readonly uid?: number | undefined;
  readonly gid?: number | undefined;
  readonly excludes?: readonly string[] | undefined;
  readonly tags?: readonly string[] | undefined;
  /** Set once when a snapshot is rewritten: the id of the first one. */
  readonly original?: Id | undefined;
  /** restic >= 0.17. */
  readonly programVersion?: string | undefined;
  /** restic >= 0.17. */
  readonly summary?: SnapshotSummary | undefined;
}

/** The `time` and `timeValue` fields for a snapshot taken at `t`. */
export function snapshotTimeFields(t: GoTime): { time: string; timeValue: GoTime } {
  return { time: formatRfc3339Nano(t), timeValue: t };
}

const SUMMARY_COUNTS = [
  ['files_new', 'filesNew', 'uint'],
  ['files_changed', 'filesChanged', 'uint'],
  ['files_unmodified', 'filesUnmodified', 'uint'],
  ['dirs_new', 'dirsNew', 'uint'],
  ['dirs_changed', 'dirsChanged', 'uint'],
  ['dirs_unmodified', 'dirsUnmodified', 'uint'],
  ['data_blobs', 'dataBlobs', 'int'],
  ['tree_blobs', 'treeBlobs', 'int'],
  ['data_added', 'dataAdded', 'uint'],
  ['data_added_packed', 'dataAddedPacked', 'uint'],
  ['total_files_processed', 'totalFilesProcessed', 'uint'],
  ['total_bytes_processed', 'totalBytesProcessed', 'uint'],
] as const;

function stringList(a: readonly string[]): string {
  return '[' + a.map(goJsonString).join(',') + ']';
}

function encodeSummary(s: SnapshotSummary): string {
  let out = `{"backup_start":"${formatRfc3339Nano(s.backupStart)}","backup_end":"${formatRfc3339Nano(s.backupEnd)}"`;
  for (const [key, field, kind] of SUMMARY_COUNTS) {
    const v = s[field];
    const ok = kind === 'uint' ? v >= 0n && v === BigInt.asUintN(64, v) : v === BigInt.asIntN(64, v);
    if (!ok) throw malformedError(`invalid snapshot: summary ${key} ${v} out of range`);
    out += `,"${key}":${v}`;
  }
  return out + '}';
}

function checkU32(v: number | undefined, what: string): number {
  const n = v ?? 0;
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw malformedError(`invalid snapshot: ${what} ${n} out of range`);
  return n;
}

/** The snapshot file's plaintext exactly as restic's `json.Marshal` writes it. */
export function encodeSnapshot(s: Snapshot): Buffer {
  parseRfc3339Nano(s.time); // refuse to write a time restic could not read
  const uid = checkU32(s.uid, 'uid');
  const gid = checkU32(s.gid, 'gid');
  let out = `{"time":${goJsonString(s.time)}`;
  if (s.parent) out += `,"parent":"${parseId(s.parent, 'parent id')}"`;
  out += `,"tree":"${parseId(s.tree, 'tree id')}"`;
  out += `,"paths":${stringList(s.paths)}`;
  if (s.hostname) out += `,"hostname":${goJsonString(s.hostname)}`;
  if (s.username) out += `,"username":${goJsonString(s.username)}`;
  if (uid !== 0) out += `,"uid":${uid}`;
  if (gid !== 0) out += `,"gid":${gid}`;
  if (s.excludes && s.excludes.length > 0) out += `,"excludes":${stringList(s.excludes)}`;
  if (s.tags && s.tags.length > 0) out += `,"tags":${stringList(s.tags)}`;
  if (s.original) out += `,"original":"${parseId(s.original, 'original id')}"`;
  if (s.programVersion) out += `,"program_version":${goJsonString(s.programVersion)}`;
  if (s.summary) out += `,"summary":${encodeSummary(s.summary)}`;
  return Buffer.from(out + '}', 'utf8');
}

function optionalId(v: JsonValue | undefined, what: string): Id | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw malformedError(`invalid ${what}: expected an id string`);
  return parseId(v, what);
}

function readTime(v: JsonValue | undefined, what: string): GoTime {
  if (v === undefined || v === null) return ZERO_TIME;
  if (typeof v !== 'string') throw malformedError(`invalid ${what}: expected a time string`);
  return parseRfc3339Nano(v);
}

function decodeSummary(o: JsonObject): SnapshotSummary {
  const counts: Record<string, bigint> = {};
  for (const [key, field, kind] of SUMMARY_COUNTS) {
    counts[field] = kind === 'uint' ? readUint(o.get(key), 64, `summary.${key}`) : readInt64(o.get(key), `summary.${key}`);
  }
  return {
    backupStart: readTime(o.get('backup_start'), 'summary.backup_start'),
    backupEnd: readTime(o.get('backup_end'), 'summary.backup_end'),
    ...(counts as Omit<SnapshotSummary, 'backupStart' | 'backupEnd'>),
  };
}

function nonEmpty<T>(v: T[] | null): T[] | undefined {
  return v === null || v.length === 0 ? undefined : v;
}

/** Parses a snapshot file's plaintext (also accepts the indented output of `restic cat snapshot`). */
export function decodeSnapshot(buf: Uint8Array): Snapshot {
  try {
    const o = parseJson(buf);
    if (!(o instanceof JsonObject)) throw malformedError('expected a JSON object');
    const time = o.get('time');
    if (typeof time !== 'string') throw malformedError('invalid time: missing or not a string');
    const timeValue = parseRfc3339Nano(time);
    const tree = o.get('tree');
    if (typeof tree !== 'string') throw malformedError('invalid tree: missing or not an id string');
    const summary = readObject(o.get('summary'), 'summary');
    const fields: Snapshot = {
      time,
      timeValue,
      parent: optionalId(o.get('parent'), 'parent'),
      tree: parseId(tree, 'tree'),
      paths: readStringArray(o.get('paths'), 'paths') ?? [],
      hostname: readString(o.get('hostname'), 'hostname') || undefined,
      username: readString(o.get('username'), 'username') || undefined,
      uid: Number(readUint(o.get('uid'), 32, 'uid')) || undefined,
      gid: Number(readUint(o.get('gid'), 32, 'gid')) || undefined,
      excludes: nonEmpty(readStringArray(o.get('excludes'), 'excludes')),
      tags: nonEmpty(readStringArray(o.get('tags'), 'tags')),
      original: optionalId(o.get('original'), 'original'),
      programVersion: readString(o.get('program_version'), 'program_version') || undefined,
      summary: summary === null ? undefined : decodeSummary(summary),
    };
    // Leave out absent optional fields rather than carrying `undefined` values around.
    return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as unknown as Snapshot;
  } catch (e) {
    if (e instanceof LifeboatError) throw malformedError(`invalid snapshot: ${e.message}`, e);
    throw malformedError(`invalid snapshot: ${e instanceof Error ? e.message : String(e)}`, e);
  }
}
