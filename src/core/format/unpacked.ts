/**
 * restic's "unpacked" file encoding for index, snapshot and lock files (restic-format.md §5.1;
 * restic repository.go SaveUnpacked / LoadUnpacked / decompressUnpacked).
 *
 *   file    = seal(master, payload)            name = sha256(file)
 *   payload = JSON                              v1 repos, and accepted in v2
 *           | 0x02 || zstd(JSON)                what restic writes in v2
 *
 * A reader dispatches on the first payload byte: '{' or '[' means the whole payload is raw JSON,
 * 0x02 means zstd follows, anything else is refused. An empty payload is returned as is.
 * config and key files never use this encoding. Requires initZstd() for version 2.
 */
import { zstdCompress, zstdDecompress } from '../compress/zstd.ts';
import { open, seal, type MasterKey } from '../crypto/crypto.ts';
import { integrityError, malformedError } from '../errors.ts';
import { hashId, type Id } from '../ids.ts';

export type RepoVersion = 1 | 2;

const VERSION_ZSTD = 0x02;

export interface DecodeUnpackedOptions {
  /** The file's name: its sha256 must match (restic: "invalid data returned"). */
  readonly expectedId?: Id;
  /** Cap on the decompressed JSON size; see ZSTD_DEFAULT_MAX_SIZE. */
  readonly maxSize?: number;
}

/** Encodes JSON for a repository of the given version. The file name is hashId(result). */
export function encodeUnpacked(key: MasterKey, json: Buffer, version: RepoVersion): Buffer {
  if (version === 1) return seal(key, json);
  const z = zstdCompress(json);
  const payload = Buffer.allocUnsafe(1 + z.length);
  payload[0] = VERSION_ZSTD;
  payload.set(z, 1);
  return seal(key, payload);
}

/** Opens an unpacked file and returns its JSON bytes. */
export function decodeUnpacked(key: MasterKey, file: Buffer, opts: DecodeUnpackedOptions = {}): Buffer {
  if (opts.expectedId !== undefined && hashId(file) !== opts.expectedId) {
    throw integrityError(`Cannot load file ${opts.expectedId.slice(0, 8)}: content does not match its name`);
  }
  const payload = open(key, file);
  if (payload.length === 0) return payload;
  const first = payload[0];
  if (first === 0x7b || first === 0x5b) return payload;
  if (first === VERSION_ZSTD) {
    const json = zstdDecompress(payload.subarray(1), undefined, opts.maxSize === undefined ? {} : { maxSize: opts.maxSize });
    return Buffer.from(json.buffer, json.byteOffset, json.length);
  }
  throw malformedError(`Cannot decode file: not supported encoding format (first byte 0x${first!.toString(16).padStart(2, '0')})`);
}
