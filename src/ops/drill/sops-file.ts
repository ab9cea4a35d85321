/**
 * Reading and checking a SOPS-encrypted YAML or JSON file, given its data key: the part of
 * `sops decrypt` that proves a restored secret is usable, without writing any plaintext.
 *
 * Algorithm (read from getsops/sops: sops.go Tree.Decrypt, stores/yaml and stores/json,
 * stores.ExtractMetadata, cmd/sops/common DecryptTree):
 * - The metadata is the top-level `sops` map of the first document; the `sops` key is dropped
 *   from every document's top level before the walk.
 * - The walk visits map entries in file order and sequence items in order; a value's path is
 *   its keys from the top (sequence indexes are not part of it). Null values are not visited;
 *   comments are never hashed.
 * - An encrypted value decrypts under AES-256-GCM with the additional data `a:b:c:` (the path
 *   joined by ":" plus ":"). Whether a value is meant to be encrypted follows the file's
 *   unencrypted_suffix (default `_unencrypted`) or encrypted_suffix; under the regex rules
 *   every value in sops's ENC[...] format counts as encrypted.
 * - The MAC is SHA-512 over the plaintext bytes of the visited values in order (with
 *   mac_only_encrypted: only the encrypted ones, after SHA-256("sops")), as uppercase hex; it is
 *   stored encrypted with `sops.lastmodified` (as Go re-formats it, RFC 3339) as additional data.
 *
 * Invariant: a MAC mismatch is reported only when every hashed byte is known exactly. An
 * unencrypted number, timestamp-like or tagged scalar is hashed by sops after Go's YAML or
 * JSON decoding, which JavaScript does not reproduce byte for byte; such a file is checked
 * by decrypting every value and the MAC, and says that the MAC was not recomputed.
 */
import { createHash } from 'node:crypto';
import { isAlias, isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node } from 'yaml';
import { decryptEncValue, looksEncrypted, parseEncValue, SopsValueError } from './sops-cipher.ts';

export interface SopsAgeKey {
  readonly recipient: string;
  /** The data key, age-encrypted to `recipient`, ASCII-armored. */
  readonly enc: string;
}

/** One value the walk visits: how sops will treat it. */
export type SopsLeaf =
  | { readonly kind: 'encrypted'; readonly path: readonly string[]; readonly text: string }
  | { readonly kind: 'plain'; readonly path: readonly string[]; readonly bytes: Buffer }
  | { readonly kind: 'uncertain'; readonly path: readonly string[] };

export interface SopsFile {
  /** Top-level `age` entries and those of every key group. */
  readonly ageKeys: readonly SopsAgeKey[];
  /** More than one key group: the data key is split (Shamir) and an age key opens one share. */
  readonly keyGroups: number;
  readonly mac: string;
  readonly lastModified: string;
  readonly macOnlyEncrypted: boolean;
  readonly leaves: readonly SopsLeaf[];
}

export type SopsRead = { readonly kind: 'not-sops' } | { readonly kind: 'sops'; readonly file: SopsFile } | { readonly kind: 'malformed'; readonly problem: string };

export type SopsVerdict = { readonly ok: true; readonly macRecomputed: boolean } | { readonly ok: false; readonly problem: string };

const DEFAULT_UNENCRYPTED_SUFFIX = '_unencrypted';
const MAX_DEPTH = 200;

/** Reads YAML or JSON text (JSON is read as YAML 1.2, which keeps key order as sops does). */
export function readSopsFile(text: string): SopsRead {
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, { uniqueKeys: true }) as Document.Parsed[];
  } catch {
    return { kind: 'not-sops' };
  }
  if (!Array.isArray(docs) || docs.length === 0 || docs.some((d) => d.errors.length > 0)) {
    // Not YAML or JSON at all; only worth a word when it looks like a damaged SOPS file.
    return /^\s*"?sops"?\s*:/m.test(text) && text.includes('ENC[AES256_GCM,') ? { kind: 'malformed', problem: 'looks like a SOPS file but is not valid YAML or JSON' } : { kind: 'not-sops' };
  }
  const first = docs[0]!;
  const metaNode = isMap(first.contents) ? first.contents.get('sops', true) : undefined;
  if (!isMap(metaNode)) return { kind: 'not-sops' };
  const meta = metaNode.toJSON() as Record<string, unknown>;
  const ageKeys = [...ageEntries(meta.age), ...(Array.isArray(meta.key_groups) ? meta.key_groups.flatMap((g: unknown) => ageEntries(isObject(g) ? g.age : undefined)) : [])];
  if (ageKeys.length === 0) return { kind: 'not-sops' }; // a SOPS file for other keys (pgp, kms): not ours to test
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const rule = encryptionRule(meta);
  const leaves: SopsLeaf[] = [];
  try {
    for (const doc of docs) {
      const top = doc.contents;
      if (top === null || (isScalar(top) && top.value === null)) continue;
      if (!isMap(top)) return { kind: 'malformed', problem: 'a document is not a map (sops reads only maps)' };
      walkMap(doc, top, [], rule, leaves, 0);
    }
  } catch (e) {
    if (e instanceof WalkError) return { kind: 'malformed', problem: e.message };
    throw e;
  }
  return {
    kind: 'sops',
    file: {
      ageKeys,
      keyGroups: Array.isArray(meta.key_groups) ? meta.key_groups.length : 1,
      mac: str(meta.mac),
      lastModified: str(meta.lastmodified),
      macOnlyEncrypted: meta.mac_only_encrypted === true,
      leaves,
    },
  };
}

/**
 * Decrypts every encrypted value and the MAC with `dataKey`, and recomputes the MAC where
 * its bytes are known exactly. Never returns plaintext.
 */
export function verifySopsFile(file: SopsFile, dataKey: Buffer): SopsVerdict {
  if (file.mac === '') return { ok: false, problem: 'has no MAC (sops refuses to decrypt it)' };
  let storedMac: string;
  try {
    storedMac = decryptEncValue(parseEncValue(file.mac), dataKey, goRfc3339(file.lastModified)).toString('utf8');
  } catch (e) {
    if (!(e instanceof SopsValueError)) throw e;
    return { ok: false, problem: `the MAC ${e.message}${e.code === 'AUTHENTICATION' ? ': sops.mac or sops.lastmodified was changed, or the data key is not this file\'s' : ''}` };
  }
  const hash = createHash('sha512');
  if (file.macOnlyEncrypted) hash.update(createHash('sha256').update('sops').digest());
  let exact = true;
  for (const leaf of file.leaves) {
    if (leaf.kind === 'encrypted') {
      if (leaf.text === '') continue; // sops leaves an empty value as it is: nothing to hash
      let plain: Buffer;
      try {
        plain = decryptEncValue(parseEncValue(leaf.text), dataKey, leaf.path.join(':') + ':');
      } catch (e) {
        if (!(e instanceof SopsValueError)) throw e;
        return { ok: false, problem: `the value at ${leaf.path.join(':')} ${e.message}${e.code === 'AUTHENTICATION' ? ': it was changed or moved' : ''}` };
      }
      hash.update(plain);
    } else if (!file.macOnlyEncrypted) {
      if (leaf.kind === 'plain') hash.update(leaf.bytes);
      else exact = false;
    }
  }
  if (!exact) return { ok: true, macRecomputed: false };
  const computed = hash.digest('hex').toUpperCase();
  return computed === storedMac ? { ok: true, macRecomputed: true } : { ok: false, problem: 'MAC mismatch: the file was changed after sops encrypted it' };
}

/** How sops decides whether a path is encrypted; undefined: by the value's format. */
type Rule = (path: readonly string[]) => boolean | undefined;

function encryptionRule(meta: Record<string, unknown>): Rule {
  const set = (k: string): string | undefined => (typeof meta[k] === 'string' && meta[k] !== '' ? (meta[k] as string) : undefined);
  const encSuffix = set('encrypted_suffix');
  const regexRule = ['unencrypted_regex', 'encrypted_regex', 'unencrypted_comment_regex', 'encrypted_comment_regex'].some((k) => set(k) !== undefined);
  if (encSuffix !== undefined) return (path) => path.some((k) => k.endsWith(encSuffix));
  if (regexRule) return () => undefined;
  const plainSuffix = set('unencrypted_suffix') ?? DEFAULT_UNENCRYPTED_SUFFIX;
  return (path) => !path.some((k) => k.endsWith(plainSuffix));
}

class WalkError extends Error {}

function walkMap(doc: Document.Parsed, map: Node, path: readonly string[], rule: Rule, out: SopsLeaf[], depth: number): void {
  if (!isMap(map)) return;
  for (const pair of map.items) {
    const keyNode = pair.key;
    const key = isScalar(keyNode) ? keyNode.value : keyNode;
    if (typeof key !== 'string') throw new WalkError(`has a key that is not a string under ${path.join(':') || 'the top'} (sops reads only string keys)`);
    if (path.length === 0 && key === 'sops') continue;
    walkValue(doc, pair.value as Node | null, [...path, key], rule, out, depth + 1);
  }
}

function walkValue(doc: Document.Parsed, node: Node | null, path: readonly string[], rule: Rule, out: SopsLeaf[], depth: number): void {
  if (depth > MAX_DEPTH) throw new WalkError('nests deeper than lifeboat reads');
  if (node === null) return;
  if (isAlias(node)) {
    const target = node.resolve(doc);
    walkValue(doc, (target ?? null) as Node | null, path, rule, out, depth + 1);
  } else if (isMap(node)) walkMap(doc, node, path, rule, out, depth);
  else if (isSeq(node)) for (const item of node.items) walkValue(doc, item as Node | null, path, rule, out, depth + 1);
  else if (isScalar(node)) {
    const leaf = scalarLeaf(node, path, rule);
    if (leaf !== undefined) out.push(leaf);
  }
}

function scalarLeaf(node: Node & { value: unknown; type?: string; source?: string; tag?: string }, path: readonly string[], rule: Rule): SopsLeaf | undefined {
  const value = node.value;
  if (value === null) return undefined; // sops does not visit nil
  const encrypted = rule(path) ?? (typeof value === 'string' && looksEncrypted(value));
  if (encrypted) {
    if (typeof value !== 'string' || (value !== '' && !looksEncrypted(value))) throw new WalkError(`has a value at ${path.join(':')} that is not encrypted although the file's rules say it must be`);
    return { kind: 'encrypted', path, text: value };
  }
  const bytes = plainBytes(node);
  return bytes === undefined ? { kind: 'uncertain', path } : { kind: 'plain', path, bytes };
}

/**
 * The bytes sops hashes for an unencrypted scalar, where Go's decoders (yaml.v3 into an
 * interface, encoding/json with UseNumber) surely agree with this YAML 1.2 reading: quoted
 * strings, plain strings that cannot be a number or timestamp, booleans, plain decimal ints.
 */
function plainBytes(node: { value: unknown; type?: string; source?: string; tag?: string }): Buffer | undefined {
  if (node.tag !== undefined) return undefined;
  const v = node.value;
  if (typeof v === 'boolean') return Buffer.from(v ? 'True' : 'False');
  if (node.type !== 'PLAIN') return typeof v === 'string' ? Buffer.from(v, 'utf8') : undefined;
  if (typeof v === 'string') return /^[0-9+\-.]/.test(v) ? undefined : Buffer.from(v, 'utf8');
  if (typeof v === 'number' && Number.isSafeInteger(v) && /^(0|-?[1-9][0-9]*)$/.test(node.source ?? '')) return Buffer.from(node.source ?? '');
  return undefined;
}

function ageEntries(value: unknown): SopsAgeKey[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((e: unknown) => (isObject(e) && typeof e.enc === 'string' ? [{ recipient: typeof e.recipient === 'string' ? e.recipient : '', enc: e.enc }] : []));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `sops.lastmodified` as Go's time.Parse then Format(RFC3339) gives it back: no fraction, Z for UTC. */
export function goRfc3339(stored: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(stored);
  if (m === null) return stored;
  const zone = m[2] === '+00:00' || m[2] === '-00:00' ? 'Z' : m[2];
  return `${m[1]}${zone}`;
}
