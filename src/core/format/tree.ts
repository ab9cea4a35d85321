/**
 * Tree blobs (restic-format.md §6.2, §6.3; design.rst "Trees and Data").
 *
 * A tree's plaintext is exactly `{"nodes":[…]}\n`, and its id is the SHA-256 of those bytes,
 * so `encodeTree` reproduces restic 0.14's bytes: Go struct field order, Go omitempty rules,
 * Go-quoted names, Go's JSON string escaping, RFC3339Nano times, nodes sorted by raw name bytes.
 * `decodeTree` reads 0.14 trees and newer ones (`linktarget_raw`, `generic_attributes`,
 * `irregular`), keeps uint64 numbers exact, and turns any bad input into a MALFORMED error.
 *
 * Invariants: names are raw bytes, never empty, `.` or `..`, and contain no `/` or NUL (both
 * directions refuse such names, as a restore must never follow them). `decodeTree` keeps the
 * stored order; `treeOrderProblem` reports unsorted or duplicate names for the checker.
 */
import { LifeboatError, malformedError } from '../errors.ts';
import { parseId, type Id } from '../ids.ts';
import { isNodeType, type NodeType } from './file-mode.ts';
import { goJsonBase64, goJsonBytes, goJsonString } from './go-json.ts';
import { JsonObject, parseJson, readArray, readBase64, readObject, readString, readUint, type JsonValue } from './go-json-reader.ts';
import { goQuote, goUnquote, isValidUtf8 } from './go-quote.ts';
import { formatRfc3339Nano, parseRfc3339Nano, ZERO_TIME, type GoTime } from './go-time.ts';

export interface ExtendedAttribute {
  readonly name: string;
  readonly value: Buffer;
}

export interface TreeNode {
  /** Raw name bytes (not necessarily UTF-8). */
  readonly name: Buffer;
  readonly type: NodeType;
  /** Go `os.FileMode` (see file-mode.ts), an unsigned 32-bit number. */
  readonly mode: number;
  readonly mtime: GoTime;
  readonly atime: GoTime;
  readonly ctime: GoTime;
  readonly uid: number;
  readonly gid: number;
  readonly user?: string | undefined;
  readonly group?: string | undefined;
  readonly inode: bigint;
  readonly deviceId: bigint;
  readonly size: bigint;
  readonly links: bigint;
  /** Raw symlink target bytes; empty for non-symlinks. */
  readonly linktarget: Buffer;
  readonly extendedAttributes: readonly ExtendedAttribute[];
  /** restic >= 0.17 `generic_attributes`: key -> compact raw JSON value, kept for round trips. */
  readonly genericAttributes?: ReadonlyMap<string, string> | undefined;
  /** st_rdev for dev/chardev. */
  readonly device: bigint;
  /** Data blob ids of a file ([] for an empty file); null for every other type. */
  readonly content: readonly Id[] | null;
  readonly subtree: Id | null;
  readonly error?: string | undefined;
}

/** Why a name can never be a directory entry, or undefined if it can. */
export function unsafeNodeName(name: Uint8Array): string | undefined {
  if (name.length === 0) return 'empty name';
  if (name.length === 1 && name[0] === 0x2e) return 'name is "."';
  if (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e) return 'name is ".."';
  if (name.includes(0x2f)) return 'name contains "/"';
  if (name.includes(0)) return 'name contains a NUL byte';
  return undefined;
}

/** A name for messages: the UTF-8 text if valid, else Go-quoted. */
export function displayName(name: Uint8Array): string {
  return isValidUtf8(name) ? Buffer.from(name).toString('utf8') : goQuote(name);
}

const U32 = 0xffff_ffffn;
const U64 = 0xffff_ffff_ffff_ffffn;

function checkUint(v: bigint | number, max: bigint, what: string, name: Uint8Array): void {
  const n = typeof v === 'number' ? (Number.isInteger(v) ? BigInt(v) : -1n) : v;
  if (n < 0n || n > max) throw malformedError(`invalid tree: node ${displayName(name)}: ${what} ${String(v)} out of range`);
}

function timeJson(t: GoTime): string {
  return '"' + formatRfc3339Nano(t) + '"';
}

function encodeNode(n: TreeNode): string {
  const why = unsafeNodeName(n.name);
  if (why) throw malformedError(`invalid tree: node ${displayName(n.name)}: ${why}`);
  if (!isNodeType(n.type)) throw malformedError(`invalid tree: node ${displayName(n.name)}: unknown type ${String(n.type)}`);
  checkUint(n.mode, U32, 'mode', n.name);
  checkUint(n.uid, U32, 'uid', n.name);
  checkUint(n.gid, U32, 'gid', n.name);
  for (const [v, what] of [
    [n.inode, 'inode'],
    [n.deviceId, 'device_id'],
    [n.size, 'size'],
    [n.links, 'links'],
    [n.device, 'device'],
  ] as const) {
    checkUint(v, U64, what, n.name);
  }
  let s = `{"name":${goJsonString(goQuote(n.name))},"type":${goJsonString(n.type)}`;
  if (n.mode !== 0) s += `,"mode":${n.mode}`;
  s += `,"mtime":${timeJson(n.mtime)},"atime":${timeJson(n.atime)},"ctime":${timeJson(n.ctime)}`;
  s += `,"uid":${n.uid},"gid":${n.gid}`;
  if (n.user) s += `,"user":${goJsonString(n.user)}`;
  if (n.group) s += `,"group":${goJsonString(n.group)}`;
  if (n.inode !== 0n) s += `,"inode":${n.inode}`;
  if (n.deviceId !== 0n) s += `,"device_id":${n.deviceId}`;
  if (n.size !== 0n) s += `,"size":${n.size}`;
  if (n.links !== 0n) s += `,"links":${n.links}`;
  if (n.linktarget.length > 0) {
    s += `,"linktarget":${goJsonBytes(n.linktarget)}`;
    // restic >= 0.16 adds the raw bytes when the target is not UTF-8; 0.14 ignores the field.
    if (!isValidUtf8(n.linktarget)) s += `,"linktarget_raw":${goJsonBase64(n.linktarget)}`;
  }
  if (n.extendedAttributes.length > 0) {
    s += `,"extended_attributes":[${n.extendedAttributes.map((a) => `{"name":${goJsonString(a.name)},"value":${goJsonBase64(a.value)}}`).join(',')}]`;
  }
  if (n.genericAttributes && n.genericAttributes.size > 0) {
    // Go writes map keys in byte order.
    const keys = [...n.genericAttributes.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    s += `,"generic_attributes":{${keys.map((k) => `${goJsonString(k)}:${n.genericAttributes!.get(k)!}`).join(',')}}`;
  }
  if (n.device !== 0n) s += `,"device":${n.device}`;
  s += `,"content":${n.content === null ? 'null' : `[${n.content.map((id) => `"${parseId(id, 'content id')}"`).join(',')}]`}`;
  if (n.subtree !== null) s += `,"subtree":"${parseId(n.subtree, 'subtree id')}"`;
  if (n.error) s += `,"error":${goJsonString(n.error)}`;
  return s + '}';
}

/**
 * The exact tree blob restic 0.14 writes for these nodes. Nodes are sorted by raw name bytes;
 * duplicate or unsafe names, out-of-range numbers and times outside years 0..9999 are refused.
 */
export function encodeTree(nodes: readonly TreeNode[]): Buffer {
  const sorted = [...nodes].sort((a, b) => Buffer.compare(a.name, b.name));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i - 1]!.name.equals(sorted[i]!.name)) {
      throw malformedError(`invalid tree: duplicate name ${displayName(sorted[i]!.name)}`);
    }
  }
  return Buffer.from(`{"nodes":[${sorted.map(encodeNode).join(',')}]}\n`, 'utf8');
}

function readTime(v: JsonValue | undefined, what: string): GoTime {
  if (v === undefined || v === null) return ZERO_TIME;
  if (typeof v !== 'string') throw malformedError(`invalid ${what}: expected a time string`);
  return parseRfc3339Nano(v);
}

function readId(v: JsonValue, what: string): Id {
  if (typeof v !== 'string') throw malformedError(`invalid ${what}: expected an id string`);
  return parseId(v, what);
}

function decodeNode(o: JsonObject): TreeNode {
  const quoted = o.get('name');
  if (typeof quoted !== 'string') throw malformedError('invalid name: missing or not a string');
  const name = goUnquote(quoted);
  // Unsafe names (.., /, empty) are decoded, not rejected: the restorer refuses such a node by
  // name and restores its siblings; the checker reports it. Encoding still refuses them.
  const type = o.get('type');
  if (typeof type !== 'string') throw malformedError('invalid type: missing or not a string');
  if (!isNodeType(type)) throw malformedError(`invalid type ${JSON.stringify(type.slice(0, 40))}`);

  const raw = readBase64(o.get('linktarget_raw'), 'linktarget_raw');
  const linktarget = raw ?? Buffer.from(readString(o.get('linktarget'), 'linktarget'), 'utf8');

  const xattrs = (readArray(o.get('extended_attributes'), 'extended_attributes') ?? []).map((x, i) => {
    const a = readObject(x, `extended_attributes[${i}]`);
    if (a === null) throw malformedError(`invalid extended_attributes[${i}]: null`);
    return {
      name: readString(a.get('name'), `extended_attributes[${i}].name`),
      value: readBase64(a.get('value'), `extended_attributes[${i}].value`) ?? Buffer.alloc(0),
    };
  });

  let genericAttributes: Map<string, string> | undefined;
  const ga = readObject(o.get('generic_attributes'), 'generic_attributes');
  if (ga !== null && ga.members.length > 0) {
    genericAttributes = new Map(ga.members.map((m) => [m.key, ga.rawText(m)])); // last duplicate wins, as in Go
  }

  const contentList = readArray(o.get('content'), 'content');
  const subtree = o.get('subtree');
  const user = readString(o.get('user'), 'user');
  const group = readString(o.get('group'), 'group');
  const error = readString(o.get('error'), 'error');
  return {
    name,
    type,
    mode: Number(readUint(o.get('mode'), 32, 'mode')),
    mtime: readTime(o.get('mtime'), 'mtime'),
    atime: readTime(o.get('atime'), 'atime'),
    ctime: readTime(o.get('ctime'), 'ctime'),
    uid: Number(readUint(o.get('uid'), 32, 'uid')),
    gid: Number(readUint(o.get('gid'), 32, 'gid')),
    ...(user ? { user } : {}),
    ...(group ? { group } : {}),
    inode: readUint(o.get('inode'), 64, 'inode'),
    deviceId: readUint(o.get('device_id'), 64, 'device_id'),
    size: readUint(o.get('size'), 64, 'size'),
    links: readUint(o.get('links'), 64, 'links'),
    linktarget,
    extendedAttributes: xattrs,
    ...(genericAttributes ? { genericAttributes } : {}),
    device: readUint(o.get('device'), 64, 'device'),
    content: contentList === null ? null : contentList.map((v, i) => readId(v, `content[${i}]`)),
    subtree: subtree === undefined || subtree === null ? null : readId(subtree, 'subtree'),
    ...(error ? { error } : {}),
  };
}

/**
 * Parses a tree blob. Missing optional fields take Go's zero values; missing or unusable
 * `name`/`type`, wrong JSON types, numbers out of range, bad ids, times or escapes are MALFORMED.
 * Node order is kept as stored (see `treeOrderProblem`).
 */
export function decodeTree(buf: Uint8Array): TreeNode[] {
  let i = -1;
  try {
    const top = parseJson(buf);
    if (!(top instanceof JsonObject)) throw malformedError('expected a JSON object');
    const list = readArray(top.get('nodes'), 'nodes') ?? [];
    const out: TreeNode[] = [];
    for (i = 0; i < list.length; i++) {
      const o = list[i];
      if (!(o instanceof JsonObject)) throw malformedError('expected a JSON object');
      out.push(decodeNode(o));
    }
    return out;
  } catch (e) {
    const where = i < 0 ? 'invalid tree' : `invalid tree: node ${i}`;
    if (e instanceof LifeboatError) throw malformedError(`${where}: ${e.message}`, e);
    throw malformedError(`${where}: ${e instanceof Error ? e.message : String(e)}`, e);
  }
}

export type TreeOrderProblem =
  | { readonly kind: 'unsorted'; readonly index: number; readonly name: Buffer }
  | { readonly kind: 'duplicate'; readonly index: number; readonly name: Buffer };

/** The first place where stored nodes break restic's strictly-ascending byte order, if any. */
export function treeOrderProblem(nodes: readonly TreeNode[]): TreeOrderProblem | undefined {
  for (let i = 1; i < nodes.length; i++) {
    const c = Buffer.compare(nodes[i - 1]!.name, nodes[i]!.name);
    if (c === 0) return { kind: 'duplicate', index: i, name: nodes[i]!.name };
    if (c > 0) return { kind: 'unsorted', index: i, name: nodes[i]!.name };
  }
  return undefined;
}
