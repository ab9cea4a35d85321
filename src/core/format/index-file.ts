/**
 * Index file JSON (restic-format.md §5.2; restic internal/repository/index.go jsonIndex).
 *
 *   {"supersedes":[<index id>...],             omitted when empty
 *    "packs":[{"id":<pack id>,"blobs":[{"id","type","offset","length","uncompressed_length"}]}]}
 *
 * uncompressed_length appears only for compressed blobs (Go omitempty: 0 means uncompressed).
 * Field order and the trailing newline follow Go's json.Encoder, which restic uses, so our bytes
 * look like restic's. The pre-0.8 format, a bare top-level array of packs, is read but never
 * written. The file around this JSON is the unpacked encoding (unpacked.ts).
 */
import { malformedError } from '../errors.ts';
import { parseId, type Id, type IndexId, type PackId } from '../ids.ts';
import type { BlobType, PackedBlob } from './pack.ts';

export interface IndexPack {
  readonly id: PackId;
  readonly blobs: readonly PackedBlob[];
}

export interface IndexFile {
  readonly supersedes: readonly IndexId[];
  readonly packs: readonly IndexPack[];
  /** True when the file used the legacy top-level-array format (restic: "index has old format"). */
  readonly legacy: boolean;
}

export interface EncodeIndexInput {
  readonly supersedes?: readonly Id[];
  readonly packs: readonly IndexPack[];
}

const MAX_U32 = 0xffffffff;
const HEX64 = /^[0-9a-f]{64}$/;

function checkId(id: string, what: string): void {
  if (!HEX64.test(id)) throw malformedError(`Cannot encode index: invalid ${what} ${JSON.stringify(String(id).slice(0, 80))}`);
}

function checkU32(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_U32) throw malformedError(`Cannot encode index: invalid ${what} ${n}`);
}

/** Encodes an index file's JSON, byte-for-byte in restic's style. */
export function encodeIndex(idx: EncodeIndexInput): Buffer {
  const parts: string[] = ['{'];
  const sup = idx.supersedes ?? [];
  if (sup.length > 0) {
    for (const s of sup) checkId(s, 'superseded index id');
    parts.push('"supersedes":["', sup.join('","'), '"],');
  }
  parts.push('"packs":[');
  idx.packs.forEach((p, i) => {
    checkId(p.id, 'pack id');
    parts.push(i === 0 ? '{"id":"' : ',{"id":"', p.id, '","blobs":[');
    p.blobs.forEach((b, j) => {
      checkId(b.id, 'blob id');
      if (b.type !== 'data' && b.type !== 'tree') throw malformedError(`Cannot encode index: invalid blob type ${String(b.type)}`);
      checkU32(b.offset, 'offset');
      checkU32(b.length, 'length');
      parts.push(j === 0 ? '{"id":"' : ',{"id":"', b.id, '","type":"', b.type, '","offset":', String(b.offset), ',"length":', String(b.length));
      if (b.uncompressedLength) {
        checkU32(b.uncompressedLength, 'uncompressed_length');
        parts.push(',"uncompressed_length":', String(b.uncompressedLength));
      }
      parts.push('}');
    });
    parts.push(']}');
  });
  parts.push(']}\n');
  return Buffer.from(parts.join(''), 'utf8');
}

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function u32(v: Json, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_U32) {
    throw malformedError(`Cannot decode index: ${where} is not an unsigned 32-bit integer`);
  }
  return v;
}

/** Go decodes a JSON null into a nil slice; treat it as empty. */
function list(v: Json, where: string): readonly Json[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw malformedError(`Cannot decode index: ${where} is not an array`);
  return v;
}

function decodeBlob(v: Json, where: string): PackedBlob {
  if (!isObject(v)) throw malformedError(`Cannot decode index: ${where} is not an object`);
  const id = parseId(v.id, `blob id in ${where}`);
  const type = v.type;
  if (type !== 'data' && type !== 'tree') throw malformedError(`Cannot decode index: ${where} has unknown blob type ${JSON.stringify(type)}`);
  const offset = u32(v.offset, `${where}.offset`);
  const length = u32(v.length, `${where}.length`);
  const ul = v.uncompressed_length === undefined || v.uncompressed_length === null ? 0 : u32(v.uncompressed_length, `${where}.uncompressed_length`);
  const t: BlobType = type;
  return ul > 0 ? { type: t, id, offset, length, uncompressedLength: ul } : { type: t, id, offset, length };
}

function decodePack(v: Json, where: string): IndexPack {
  if (!isObject(v)) throw malformedError(`Cannot decode index: ${where} is not an object`);
  const id = parseId(v.id, `pack id in ${where}`) as PackId;
  const blobs = list(v.blobs, `${where}.blobs`).map((b, i) => decodeBlob(b, `${where}.blobs[${i}]`));
  return { id, blobs };
}

/** Decodes and validates an index file's JSON (both the current and the legacy format). */
export function decodeIndex(buf: Buffer): IndexFile {
  let root: Json;
  try {
    root = JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw malformedError(`Cannot decode index: invalid JSON (${(e as Error).message})`, e);
  }
  if (Array.isArray(root)) {
    return { supersedes: [], packs: root.map((p, i) => decodePack(p, `packs[${i}]`)), legacy: true };
  }
  if (!isObject(root)) throw malformedError('Cannot decode index: not a JSON object');
  const supersedes = list(root.supersedes, 'supersedes').map((s) => parseId(s, 'superseded index id') as IndexId);
  const packs = list(root.packs, 'packs').map((p, i) => decodePack(p, `packs[${i}]`));
  return { supersedes, packs, legacy: false };
}
