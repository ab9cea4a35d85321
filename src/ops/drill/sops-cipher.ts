/**
 * SOPS's value cipher: `ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<t>]`, AES-256-GCM
 * under the file's 32-byte data key with a 32-byte nonce, the tag stored apart from the
 * ciphertext and the additional authenticated data chosen by the caller (a value's key path
 * joined by ":" plus a trailing ":"; the MAC's is `sops.lastmodified`). Read from getsops/sops
 * aes/cipher.go: the pattern is anchored at the start only, the base64 is standard with padding,
 * the nonce length is whatever the iv holds. Pure data: no I/O.
 */
import { createDecipheriv } from 'node:crypto';

/** One value as sops stores it. */
export interface EncValue {
  readonly data: Buffer;
  readonly iv: Buffer;
  readonly tag: Buffer;
  /** str, int, float, bool, bytes, time or comment. */
  readonly type: string;
}

export const SOPS_TYPES: ReadonlySet<string> = new Set(['str', 'int', 'float', 'bool', 'bytes', 'time', 'comment']);

// sops's own expression: greedy groups, anchored at the start only.
const ENC = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Whether a string is in sops's encrypted-value format (it may still fail to parse). */
export function looksEncrypted(text: string): boolean {
  return ENC.test(text);
}

/** The parts of an `ENC[...]` string; throws SopsValueError when it is not one. */
export function parseEncValue(text: string): EncValue {
  const m = ENC.exec(text);
  if (m === null) throw new SopsValueError('NOT_ENCRYPTED', 'is not in sops\'s ENC[AES256_GCM,...] format');
  const field = (name: string, b64: string | undefined): Buffer => {
    if (b64 === undefined || !BASE64.test(b64)) throw new SopsValueError('BAD_FORMAT', `has a ${name} that is not standard base64`);
    return Buffer.from(b64, 'base64');
  };
  return { data: field('data', m[1]), iv: field('iv', m[2]), tag: field('tag', m[3]), type: m[4] ?? '' };
}

/**
 * Decrypts one value to its plaintext bytes (as sops hashes them for the MAC). Throws
 * SopsValueError AUTHENTICATION when the key, the additional data or the bytes are wrong.
 */
export function decryptEncValue(value: EncValue, key: Buffer, additionalData: string): Buffer {
  if (key.length !== 32) throw new SopsValueError('BAD_KEY', `cannot be decrypted: the data key is ${key.length} bytes, not 32`);
  if (!SOPS_TYPES.has(value.type)) throw new SopsValueError('BAD_FORMAT', `has an unknown type "${value.type}"`);
  if (value.iv.length === 0 || value.tag.length !== 16) throw new SopsValueError('BAD_FORMAT', `has an iv of ${value.iv.length} bytes and a tag of ${value.tag.length} (a 16-byte tag is expected)`);
  try {
    const d = createDecipheriv('aes-256-gcm', key, value.iv, { authTagLength: 16 });
    d.setAAD(Buffer.from(additionalData, 'utf8'));
    d.setAuthTag(value.tag);
    return Buffer.concat([d.update(value.data), d.final()]);
  } catch {
    throw new SopsValueError('AUTHENTICATION', 'does not decrypt with the data key (AES-GCM authentication failed)');
  }
}

export type SopsValueErrorCode = 'NOT_ENCRYPTED' | 'BAD_FORMAT' | 'BAD_KEY' | 'AUTHENTICATION';

/** Why one value cannot be read; the message reads after the value's name ("the MAC ..."). */
export class SopsValueError extends Error {
  constructor(
    readonly code: SopsValueErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SopsValueError';
  }
}
