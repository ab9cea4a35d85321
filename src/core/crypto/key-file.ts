/**
 * Key files (design.rst "Keys, Encryption and MAC"; restic-format.md §2.1). A key file is
 * plaintext JSON in keys/<sha256 of its bytes>; its `data` field seals the repository's master
 * key with a user key derived by scrypt from the password. Several key files may wrap the same
 * master key (one per password). restic refuses salts other than 64 bytes.
 */
import { randomBytes, scrypt as scryptCb } from 'node:crypto';
import { hostname } from 'node:os';
import { currentUser } from '../fs/current-user.ts';
import { LifeboatError, malformedError } from '../errors.ts';
import { keyFromJson, keyToJson, makeKey, open, seal, type MasterKey } from './crypto.ts';
import { formatGoTime } from './time-now.ts';

export interface KdfParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export interface KeyFile {
  readonly created: string;
  readonly username: string;
  readonly hostname: string;
  readonly kdf: 'scrypt';
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: string;
  readonly data: string;
}

/** Used when no calibration is wanted (tests pass cheaper parameters explicitly). */
export const DEFAULT_KDF: KdfParams = { N: 32768, r: 8, p: 6 };

/**
 * restic's calibration: N = 32768, r = 8 (128·r·N = 32 MiB of memory), and p raised
 * until one derivation takes about `targetMs` on this machine. Every open of the repository
 * pays this once, so it is a trade between brute-force cost and start-up time, as in restic.
 */
export async function calibrateKdf(targetMs = 500): Promise<KdfParams> {
  const base = { N: 32768, r: 8, p: 1 };
  const t0 = process.hrtime.bigint();
  await scrypt(Buffer.from('calibrate'), randomBytes(64), base);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ...base, p: Math.max(1, Math.min(64, Math.round(targetMs / Math.max(1, ms)))) };
}

function scrypt(password: Buffer, salt: Buffer, p: KdfParams): Promise<Buffer> {
  const maxmem = 128 * p.r * (p.N + p.p + 2) + (64 << 20);
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, 64, { N: p.N, r: p.r, p: p.p, maxmem }, (err, dk) => (err ? reject(err) : resolve(dk)));
  });
}

function userKeyFrom(dk: Buffer): MasterKey {
  return makeKey(dk.subarray(0, 32), dk.subarray(32, 48), dk.subarray(48, 64));
}

function checkParams(k: Partial<KeyFile>): KdfParams & { salt: Buffer } {
  if (k.kdf !== 'scrypt') throw malformedError(`unsupported kdf ${JSON.stringify(k.kdf)}`);
  const { N, r, p } = k;
  if (!Number.isSafeInteger(N) || !Number.isSafeInteger(r) || !Number.isSafeInteger(p)) throw malformedError('invalid scrypt parameters');
  const n = N as number;
  if (n <= 1 || (n & (n - 1)) !== 0 || n > 1 << 24 || (r as number) < 1 || (p as number) < 1 || (r as number) * (p as number) >= 1 << 30 || (r as number) > 1024 || (p as number) > 1 << 16) {
    throw malformedError(`invalid scrypt parameters N=${N} r=${r} p=${p}`);
  }
  if (typeof k.salt !== 'string') throw malformedError('key file has no salt');
  const salt = Buffer.from(k.salt, 'base64');
  if (salt.length !== 64) throw malformedError(`key file salt has ${salt.length} bytes, want 64`);
  return { N: n, r: r as number, p: p as number, salt };
}

export function parseKeyFile(bytes: Buffer): KeyFile {
  let j: unknown;
  try {
    j = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw malformedError('key file is not valid JSON', e);
  }
  if (!j || typeof j !== 'object' || Array.isArray(j)) throw malformedError('key file is not a JSON object');
  const k = j as Partial<KeyFile>;
  checkParams(k);
  if (typeof k.data !== 'string') throw malformedError('key file has no data');
  return k as KeyFile;
}

/**
 * Tries the password on one key file. Returns the master key, or undefined when the MAC does not
 * verify (wrong password for this key). Malformed files throw MALFORMED.
 */
export async function openKeyFile(kf: KeyFile, password: string): Promise<MasterKey | undefined> {
  const prm = checkParams(kf);
  const dk = await scrypt(Buffer.from(password, 'utf8'), prm.salt, prm);
  const userKey = userKeyFrom(dk);
  let plain: Buffer;
  try {
    plain = open(userKey, Buffer.from(kf.data, 'base64'));
  } catch (e) {
    if (e instanceof LifeboatError && e.code === 'INTEGRITY') return undefined;
    throw e;
  }
  try {
    return keyFromJson(JSON.parse(plain.toString('utf8')));
  } catch (e) {
    throw malformedError('key file holds an invalid master key', e);
  }
}

/** Creates the bytes of a new key file wrapping `master` with `password`. */
export async function createKeyFile(master: MasterKey, password: string, params?: KdfParams): Promise<Buffer> {
  params ??= await calibrateKdf();
  const salt = randomBytes(64);
  const dk = await scrypt(Buffer.from(password, 'utf8'), salt, params);
  const userKey = userKeyFrom(dk);
  const sealed = seal(userKey, Buffer.from(JSON.stringify(keyToJson(master))));
  const { username } = currentUser();
  const kf: KeyFile = {
    created: formatGoTime(new Date()),
    username,
    hostname: hostname(),
    kdf: 'scrypt',
    N: params.N,
    r: params.r,
    p: params.p,
    salt: salt.toString('base64'),
    data: sealed.toString('base64'),
  };
  return Buffer.from(JSON.stringify(kf));
}
