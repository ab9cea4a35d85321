/**
 * SOPS-format files for tests, built here because sops itself is not packaged in Debian 12.
 * Written from getsops/sops (aes/cipher.go, sops.go Tree.Encrypt, stores/yaml, stores/json):
 * every value AES-256-GCM under a 32-byte data key with a fresh 32-byte nonce and the
 * additional data "key:path:" (sequence items share their parent's path); the MAC is SHA-512
 * over the plaintext bytes in file order (ints as decimal, booleans as True/False), uppercase
 * hex, stored encrypted with `sops.lastmodified` as additional data; the data key itself is
 * encrypted to each recipient by the real `age -a`. Independent of src/ops/drill on purpose.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { stringify } from 'yaml';

export type FixtureValue = string | number | boolean | null | readonly FixtureValue[] | { readonly [key: string]: FixtureValue };

export interface SopsFixtureOptions {
  readonly dataKey: Buffer;
  /** age-encrypted data keys, one per recipient (see ageEncryptArmored). */
  readonly age: readonly { readonly recipient: string; readonly enc: string }[];
  readonly format: 'yaml' | 'json';
  readonly lastModified?: string;
  /** sops's mac_only_encrypted: the MAC covers encrypted values only, after SHA-256("sops"). */
  readonly macOnlyEncrypted?: boolean;
}

/** `ENC[AES256_GCM,...]` of `plain` under `key` with additional data `aad`, as sops writes it. */
export function encValue(plain: Buffer, key: Buffer, aad: string, type: string): string {
  const iv = randomBytes(32);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([c.update(plain), c.final()]);
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${c.getAuthTag().toString('base64')},type:${type}]`;
}

/** A SOPS-encrypted YAML or JSON file of `tree`; keys ending in _unencrypted stay plain. */
export function sopsDocument(tree: { readonly [key: string]: FixtureValue }, o: SopsFixtureOptions): string {
  const mac = createHash('sha512');
  if (o.macOnlyEncrypted) mac.update(createHash('sha256').update('sops').digest());
  const walk = (v: FixtureValue, path: readonly string[]): FixtureValue => {
    if (v === null) return null;
    if (Array.isArray(v)) return v.map((x) => walk(x as FixtureValue, path));
    if (typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, FixtureValue>).map(([k, x]) => [k, walk(x, [...path, k])]));
    const plain = Buffer.from(typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v), 'utf8');
    const encrypted = !path.some((k) => k.endsWith('_unencrypted'));
    if (encrypted || !o.macOnlyEncrypted) mac.update(plain);
    if (!encrypted) return v;
    const type = typeof v === 'boolean' ? 'bool' : typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float') : 'str';
    return v === '' ? '' : encValue(plain, o.dataKey, path.join(':') + ':', type);
  };
  const body = walk(tree, []) as Record<string, FixtureValue>;
  const lastmodified = o.lastModified ?? '2026-01-02T03:04:05Z';
  const sops = {
    age: o.age.map((a) => ({ recipient: a.recipient, enc: a.enc })),
    lastmodified,
    mac: encValue(Buffer.from(mac.digest('hex').toUpperCase()), o.dataKey, lastmodified, 'str'),
    ...(o.macOnlyEncrypted ? { mac_only_encrypted: true } : {}),
    unencrypted_suffix: '_unencrypted',
    version: '3.9.0',
  };
  const doc = { ...body, sops };
  return o.format === 'json' ? `${JSON.stringify(doc, null, '\t')}\n` : stringify(doc, { indent: 4 });
}

/** A new age identity written by the real age-keygen to `file`; returns its recipient. */
export function ageKeygen(file: string): string {
  const r = spawnSync('age-keygen', ['-o', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `age-keygen: ${r.stderr}`);
  const y = spawnSync('age-keygen', ['-y', file], { encoding: 'utf8' });
  assert.equal(y.status, 0, `age-keygen -y: ${y.stderr}`);
  return y.stdout.trim();
}

/** `data` encrypted to `recipient` by the real age, ASCII-armored (as sops stores data keys). */
export function ageEncryptArmored(recipient: string, data: Buffer): string {
  const r = spawnSync('age', ['-a', '-r', recipient], { input: data });
  assert.equal(r.status, 0, `age -a -r: ${r.stderr.toString()}`);
  return r.stdout.toString('utf8');
}

/** `data` encrypted to `recipient` by the real age, binary. */
export function ageEncrypt(recipient: string, data: Buffer): Buffer {
  const r = spawnSync('age', ['-r', recipient], { input: data });
  assert.equal(r.status, 0, `age -r: ${r.stderr.toString()}`);
  return r.stdout;
}
