/**
 * restic's authenticated encryption (design.rst "Keys, Encryption and MAC"):
 *   sealed = IV(16) || AES-256-CTR(key.encrypt, IV, plaintext) || Poly1305-AES(ciphertext)
 * The Poly1305 one-time key is mask(mac.r) || AES-128(mac.k, IV); the MAC covers the ciphertext
 * only. Opening checks the MAC before decrypting anything. Overhead is exactly 32 bytes.
 */
import { createCipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
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

function polyKey(key: MasterKey, iv: Uint8Array): Uint8Array {
  const ecb = createCipheriv('aes-128-ecb', key.macK, null);
  ecb.setAutoPadding(false);
  const s = ecb.update(iv);
  const k = new Uint8Array(32);
  k.set(key.macR, 0);
  k.set(s, 16);
  return k;
}

function mac(key: MasterKey, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  // Native Poly1305 (src/native/poly1305.c): the pure-JS one was the slowest step of sealing.
  return loadPosix().poly1305(ciphertext, polyKey(key, iv));
}

function newIv(): Buffer {
  for (;;) {
    const iv = randomBytes(IV_SIZE);
    if (!iv.every((b) => b === 0)) return iv;
  }
}

/** Encrypts and authenticates plaintext; the result is 32 bytes longer. */
export function seal(key: MasterKey, plaintext: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(plaintext.length + CRYPTO_OVERHEAD);
  const iv = newIv();
  iv.copy(out, 0);
  const c = createCipheriv('aes-256-ctr', key.encrypt, iv);
  const n1 = c.update(plaintext).copy(out, IV_SIZE);
  c.final().copy(out, IV_SIZE + n1);
  const ct = out.subarray(IV_SIZE, IV_SIZE + plaintext.length);
  out.set(mac(key, iv, ct), IV_SIZE + plaintext.length);
  return out;
}

/** Verifies the MAC, then decrypts. Throws INTEGRITY on any mismatch. */
export function open(key: MasterKey, sealed: Uint8Array): Buffer {
  if (sealed.length < CRYPTO_OVERHEAD) throw integrityError('ciphertext too short');
  const iv = sealed.subarray(0, IV_SIZE);
  if (iv.every((b) => b === 0)) throw integrityError('invalid nonce: all zero');
  const ct = sealed.subarray(IV_SIZE, sealed.length - MAC_SIZE);
  const tag = sealed.subarray(sealed.length - MAC_SIZE);
  const want = mac(key, iv, ct);
  if (!timingSafeEqual(Buffer.from(want), Buffer.from(tag.buffer, tag.byteOffset, tag.length))) {
    throw integrityError('ciphertext verification failed');
  }
  const d = createCipheriv('aes-256-ctr', key.encrypt, Buffer.from(iv));
  return Buffer.concat([d.update(ct), d.final()]);
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
