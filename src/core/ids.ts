/**
 * Content ids (design.rst "Terminology"): SHA-256 digests written as 64 lowercase hex chars.
 * Branded string types keep pack, blob, tree and snapshot ids from being mixed up.
 */
import { createHash } from 'node:crypto';
import { malformedError } from './errors.ts';

declare const brand: unique symbol;
export type Id = string & { readonly [brand]: 'Id' };
export type BlobId = Id;
export type TreeId = Id;
export type PackId = Id;
export type SnapshotId = Id;
export type IndexId = Id;

const HEX64 = /^[0-9a-f]{64}$/;

export function isId(s: string): boolean {
  return HEX64.test(s);
}

/** Parses an id as restic writes it (lowercase; uppercase accepted and folded, as Go does). */
export function parseId(s: unknown, what = 'id'): Id {
  if (typeof s !== 'string') throw malformedError(`invalid ${what}: not a string`);
  const lower = s.toLowerCase();
  if (!HEX64.test(lower)) throw malformedError(`invalid ${what}: ${JSON.stringify(s.slice(0, 80))}`);
  return lower as Id;
}

export function hashId(data: Uint8Array): Id {
  return createHash('sha256').update(data).digest('hex') as Id;
}

export function idFromBytes(b: Uint8Array): Id {
  if (b.length !== 32) throw malformedError('invalid id: expected 32 bytes');
  return Buffer.from(b.buffer, b.byteOffset, 32).toString('hex') as Id;
}

export function idToBytes(id: Id): Buffer {
  return Buffer.from(id, 'hex');
}

export const ZERO_ID = '0'.repeat(64) as Id;

export function shortId(id: string): string {
  return id.slice(0, 8);
}
