/**
 * restic's authenticated encryption (design.rst "Keys, Encryption and MAC"):
 *   sealed = IV(16) || AES-256-CTR(key.encrypt, IV, plaintext) || Poly1305-AES(ciphertext)
 * The Poly1305 one-time key is mask(mac.r) || AES-128(mac.k, IV); the MAC covers the ciphertext
 * only. Opening checks the MAC before decrypting anything. Overhead is exactly 32 bytes.
 */
import { createCipheriv, randomBytes, randomFillSync } from 'node:crypto';
import { loadPosix } from '../fs/posix.ts';
import { integrityError, malformedError } from '../errors.ts';

export const IV_SIZE = 16;
export const MAC_SIZE = 16;
export const CRYPTO_OVERHEAD = IV_SIZE + MAC_SIZE;

export interface MasterKey {
  readonly encrypt: Buffer; // 32 bytes AES-256
  readonly macK: Buffer; // 16 bytes AES-128 key for the nonce
  readonly macR: Buffer; // 16 bytes Poly1305 r, masked
}

/** Clamps r as Poly1305 requires (the same clamp as RFC 8439). Idempotent. */
export function maskR(r: Uint8Array): Buffer {
  const m = Buffer.from(r);
  m[3]! &= 0x0f;
  m[7]! &= 0x0f;
  m[11]! &= 0x0f;
  m[15]! &= 0x0f;
  m[4]! &= 0xfc;
  m[8]! &= 0xfc;
  m[12]! &= 0xfc;
  return m;
}

export function makeKey(encrypt: Uint8Array, macK: Uint8Array, macR: Uint8Array): MasterKey {
  if (encrypt.length !== 32 || macK.length !== 16 || macR.length !== 16) {
    throw malformedError('invalid key: wrong key lengths');
  }
  const key = { encrypt: Buffer.from(encrypt), macK: Buffer.from(macK), macR: maskR(macR) };
  if (key.encrypt.every((b) => b === 0) || key.macK.every((b) => b === 0) || key.macR.every((b) => b === 0)) {
    throw malformedError('invalid key: all-zero key material');
  }
  return key;
}

export function randomKey(): MasterKey {
  return makeKey(randomBytes(32), randomBytes(16), randomBytes(16));
}

/** encrypt || macK || macR, the layout the native sealInto/openInto take (src/native/aead.c). */
const packedKeys = new WeakMap<MasterKey, Uint8Array>();

function keysOf(key: MasterKey): Uint8Array {
  let k = packedKeys.get(key);
  if (!k) {
    k = new Uint8Array(64);
    k.set(key.encrypt, 0);
    k.set(key.macK, 32);
    k.set(key.macR, 48);
    packedKeys.set(key, k);
  }
  return k;
}

/** Random IVs are drawn 256 at a time: one getrandom call per IV cost more than the AES of a small blob. */
const ivPool = Buffer.allocUnsafeSlow(IV_SIZE * 256);
let ivNext = ivPool.length;

function newIv(): Uint8Array {
  for (;;) {
    if (ivNext === ivPool.length) {
      randomFillSync(ivPool);
      ivNext = 0;
    }
    const iv = ivPool.subarray(ivNext, ivNext + IV_SIZE);
    ivNext += IV_SIZE;
    if (!iv.every((b) => b === 0)) return iv;
  }
}

/**
 * Encrypts and authenticates plaintext; the result is 32 bytes longer. `alloc` supplies the
 * output (a file worker's seal ring) instead of fresh memory.
 */
export function seal(key: MasterKey, plaintext: Uint8Array, alloc: (n: number) => Buffer = Buffer.allocUnsafe): Buffer {
  const out = alloc(plaintext.length + CRYPTO_OVERHEAD);
  loadPosix().sealInto(keysOf(key), newIv(), plaintext, out);
  return out;
}

/** Verifies the MAC, then decrypts. Throws INTEGRITY on any mismatch. */
export function open(key: MasterKey, sealed: Uint8Array): Buffer {
  checkSealed(sealed);
  const out = Buffer.allocUnsafe(sealed.length - CRYPTO_OVERHEAD);
  if (!loadPosix().openInto(keysOf(key), sealed, out)) throw integrityError('ciphertext verification failed');
  return out;
}

/**
 * As open(), but decrypts over the sealed bytes themselves: the plaintext is the returned view
 * of `sealed` (which the caller must own and no longer needs sealed).
 */
export function openInPlace(key: MasterKey, sealed: Uint8Array): Buffer {
  checkSealed(sealed);
  const out = Buffer.from(sealed.buffer, sealed.byteOffset + IV_SIZE, sealed.length - CRYPTO_OVERHEAD);
  if (!loadPosix().openInto(keysOf(key), sealed, out)) throw integrityError('ciphertext verification failed');
  return out;
}

function checkSealed(sealed: Uint8Array): void {
  if (sealed.length < CRYPTO_OVERHEAD) throw integrityError('ciphertext too short');
  let zero = true;
  for (let i = 0; i < IV_SIZE && zero; i++) zero = sealed[i] === 0;
  if (zero) throw integrityError('invalid nonce: all zero');
}

function mac(key: MasterKey, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const ecb = createCipheriv('aes-128-ecb', key.macK, null);
  ecb.setAutoPadding(false);
  const k = new Uint8Array(32);
  k.set(key.macR, 0);
  k.set(ecb.update(iv), 16);
  return loadPosix().poly1305(ciphertext, k);
}

/** Checks a sealed object's MAC without decrypting. */
export function verifies(key: MasterKey, sealed: Uint8Array): boolean {
  try {
    if (sealed.length < CRYPTO_OVERHEAD) return false;
    const iv = sealed.subarray(0, IV_SIZE);
    const want = mac(key, iv, sealed.subarray(IV_SIZE, sealed.length - MAC_SIZE));
    return Buffer.compare(Buffer.from(want), sealed.subarray(sealed.length - MAC_SIZE)) === 0;
  } catch {
    return false;
  }
}

export function keyToJson(key: MasterKey): { mac: { k: string; r: string }; encrypt: string } {
  return {
    mac: { k: key.macK.toString('base64'), r: key.macR.toString('base64') },
    encrypt: key.encrypt.toString('base64'),
  };
}

export function keyFromJson(j: unknown): MasterKey {
  const o = j as { mac?: { k?: unknown; r?: unknown }; encrypt?: unknown } | null;
  if (!o || typeof o !== 'object' || !o.mac || typeof o.mac.k !== 'string' || typeof o.mac.r !== 'string' || typeof o.encrypt !== 'string') {
    throw malformedError('invalid master key JSON');
  }
  return makeKey(Buffer.from(o.encrypt, 'base64'), Buffer.from(o.mac.k, 'base64'), Buffer.from(o.mac.r, 'base64'));
}
