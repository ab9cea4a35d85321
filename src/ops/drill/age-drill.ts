/**
 * The age application drill: for a source with an `age_identity`, prove that the identity
 * still opens the encrypted files in the backup. A restore of a secret nobody can decrypt is
 * no restore.
 *
 * Which files: every file named `*.age` and every file of at most 1 MiB (SOPS files and most
 * age-encrypted secrets are small) is looked at; it is restored into the scratch directory,
 * every blob verified, and then
 * - an age file (named *.age, or starting with `age-encryption.org/v1` or the armored
 *   `-----BEGIN AGE ENCRYPTED FILE-----`) is decrypted by the real `age` into /dev/null;
 * - a SOPS YAML or JSON file with age recipients has its data key decrypted by `age`, then
 *   every value and the MAC decrypted with it and the MAC recomputed (sops-file.ts);
 * - anything else is left alone. SOPS dotenv and INI files are counted as not tested.
 *
 * How many: a drill looks at max(200, files / rotation) of them and at most 256 MiB (the first
 * file always), starting where this drill's file slice starts and wrapping round, so a round of
 * drills looks at every one; `--full` looks at all. Findings name the file and what failed; a
 * missing `age` program or an unreadable identity fails the drill and says so.
 */
import { promises as fsp, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { ageDecryptArmored, ageDecryptFile, type AgeOutcome } from './age-cli.ts';
import { withRestored, type DrillFinding } from './snapshot-files.ts';
import { readSopsFile, verifySopsFile, type SopsFile } from './sops-file.ts';

export const SNIFF_MAX_BYTES = 1024 * 1024;
export const MIN_FILES_PER_DRILL = 200;
export const MAX_BYTES_PER_DRILL = 256 * 1024 * 1024;

/** What the age drill needs of a snapshot's file. */
export interface AgeDrillFile {
  readonly path: string;
  readonly node: { readonly size: bigint };
}

export interface AgeDrillInput<F extends AgeDrillFile> {
  /** Absolute path of the age identity file. */
  readonly identity: string;
  /** The snapshot's files, sorted by path. */
  readonly files: readonly F[];
  /** The first path of this drill's file slice; looking starts there. */
  readonly startAt: string | undefined;
  readonly full: boolean;
  readonly rotation: number;
  /** A private (0700) directory for restored ciphertext. */
  readonly scratch: string;
  /** Paths already reported damaged by this drill: not reported twice. */
  readonly skip: ReadonlySet<string>;
  /** Restores one file to `dest`, verifying every blob; throws when it cannot. */
  readonly restore: (entry: F, dest: string) => Promise<unknown>;
  /** The age program; default `age` from PATH. */
  readonly ageCommand?: string | undefined;
  /** Default MIN_FILES_PER_DRILL and MAX_BYTES_PER_DRILL. */
  readonly limits?: { readonly minFiles: number; readonly maxBytes: number } | undefined;
}

export interface AgeDrillResult {
  readonly ok: boolean;
  /** One line for the drill's `app`, e.g. "age: 3 files and 1 SOPS file decrypted (MAC recomputed)". */
  readonly summary: string;
  readonly findings: readonly DrillFinding[];
}

interface Tally {
  age: number;
  ageOk: number;
  sops: number;
  sopsOk: number;
  macRecomputed: number;
  shares: number;
  notTested: number;
}

const AGE_BINARY = Buffer.from('age-encryption.org/v1\n');
const AGE_ARMOR = Buffer.from('-----BEGIN AGE ENCRYPTED FILE-----');
const INSTALL = 'the age program is missing (install it: apt-get install age)';
/** examine's answer when `age` cannot be started: the drill stops looking. */
const AGE_MISSING = Symbol('age missing');

export function isAgeName(p: string): boolean {
  return p.endsWith('.age');
}

export async function ageDrill<F extends AgeDrillFile>(input: AgeDrillInput<F>): Promise<AgeDrillResult> {
  const unreadable = await identityProblem(input.identity);
  if (unreadable !== undefined) return { ok: false, summary: 'age: not tested, the identity cannot be read', findings: [{ path: input.identity, problem: unreadable }] };

  const candidates = input.files.filter((f) => isAgeName(f.path) || f.node.size <= BigInt(SNIFF_MAX_BYTES));
  const start = input.startAt;
  const from = start === undefined ? 0 : Math.max(0, candidates.findIndex((f) => f.path >= start)); // past the end: wrap
  const ordered = [...candidates.slice(from), ...candidates.slice(0, from)];
  const limits = input.limits ?? { minFiles: MIN_FILES_PER_DRILL, maxBytes: MAX_BYTES_PER_DRILL };
  const maxFiles = input.full ? Infinity : Math.max(limits.minFiles, Math.ceil(candidates.length / Math.max(1, input.rotation)));
  const maxBytes = input.full ? Infinity : limits.maxBytes;

  const t: Tally = { age: 0, ageOk: 0, sops: 0, sopsOk: 0, macRecomputed: 0, shares: 0, notTested: 0 };
  const findings: DrillFinding[] = [];
  const run = { command: input.ageCommand };
  let looked = 0;
  let bytes = 0;
  for (const f of ordered) {
    const size = Number(f.node.size);
    if (looked >= maxFiles || (looked > 0 && bytes + size > maxBytes)) break;
    looked++;
    bytes += size;
    if (input.skip.has(f.path)) continue;
    const problem = await withRestored(f, path.join(input.scratch, `age-${looked}`), { restore: input.restore, findings }, (dest) => examine(f, dest, input.identity, run, t));
    if (problem === AGE_MISSING) return { ok: false, summary: `age: not tested, ${INSTALL}`, findings: [...findings, { path: f.path, problem: `not decryption-tested: ${INSTALL}` }] };
    if (problem !== undefined) findings.push({ path: f.path, problem });
  }
  const limited = looked < ordered.length ? `; looked at ${looked} of ${ordered.length} files, the rest in later drills` : '';
  return { ok: findings.length === 0, summary: summarise(t) + limited, findings };
}

/** Classifies one restored file and decrypts it when it is ours; the problem, if any. */
async function examine(f: AgeDrillFile, dest: string, identity: string, run: { command: string | undefined }, t: Tally): Promise<string | typeof AGE_MISSING | undefined> {
  const small = f.node.size <= BigInt(SNIFF_MAX_BYTES);
  const content = small ? await fsp.readFile(dest) : undefined;
  const head = content ?? (await readHead(dest, 64));
  if (isAgeName(f.path) || startsWithAge(head)) {
    t.age++;
    const r = await ageDecryptFile(identity, dest, { ...run, timeoutMs: 120_000 + Math.ceil(Number(f.node.size) / 20_000) });
    if (r.kind === 'missing') return AGE_MISSING;
    if (r.kind === 'failed') return `cannot be decrypted with the configured age identity: ${r.why}`;
    t.ageOk++;
    return undefined;
  }
  if (content === undefined || !content.includes('ENC[AES256_GCM,')) return undefined;
  const text = content.toString('utf8');
  if (/^sops_mac\s*=/m.test(text)) {
    t.notTested++; // a SOPS dotenv or INI file: not read by this drill
    return undefined;
  }
  const read = readSopsFile(text);
  if (read.kind === 'not-sops') return undefined;
  t.sops++;
  if (read.kind === 'malformed') return `SOPS file ${read.problem}`;
  return sopsCheck(read.file, identity, run, t);
}

async function sopsCheck(file: SopsFile, identity: string, run: { command: string | undefined }, t: Tally): Promise<string | typeof AGE_MISSING | undefined> {
  let first: AgeOutcome | undefined;
  let key: Buffer | undefined;
  for (const k of file.ageKeys) {
    const r = await ageDecryptArmored(identity, k.enc, run);
    if (r.kind === 'missing') return AGE_MISSING;
    first ??= r;
    if (r.kind === 'ok') {
      key = r.stdout;
      break;
    }
  }
  if (key === undefined) return `SOPS data key cannot be decrypted with the configured age identity: ${first?.kind === 'failed' ? first.why : 'no age recipient'}`;
  try {
    if (file.keyGroups > 1) {
      t.shares++; // Shamir: the identity opened its share; the whole key needs the other groups
      t.sopsOk++;
      return undefined;
    }
    if (key.length !== 32) return `SOPS data key decrypts to ${key.length} bytes, not 32`;
    const v = verifySopsFile(file, key);
    if (!v.ok) return `SOPS file ${v.problem}`;
    t.sopsOk++;
    if (v.macRecomputed) t.macRecomputed++;
    return undefined;
  } finally {
    key.fill(0);
  }
}

function summarise(t: Tally): string {
  if (t.age === 0 && t.sops === 0) return `age: no age or SOPS files found${t.notTested > 0 ? `; ${plural(t.notTested, 'SOPS dotenv/INI file')} not tested` : ''}`;
  const count = (ok: number, all: number, what: string): string => (ok === all ? plural(all, what) : `${ok} of ${plural(all, what)}`);
  const parts: string[] = [];
  if (t.age > 0) parts.push(count(t.ageOk, t.age, 'file'));
  if (t.sops > 0) parts.push(count(t.sopsOk, t.sops, 'SOPS file'));
  const notes: string[] = [];
  const verified = t.sopsOk - t.shares;
  if (verified > 0) notes.push(t.macRecomputed === verified ? 'MAC recomputed' : `MAC recomputed for ${t.macRecomputed} of ${verified}`);
  if (t.shares > 0) notes.push(`${t.shares} only as a Shamir key share`);
  if (t.notTested > 0) notes.push(`${plural(t.notTested, 'SOPS dotenv/INI file')} not tested`);
  return `age: ${parts.join(' and ')} decrypted${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function startsWithAge(head: Buffer): boolean {
  if (head.subarray(0, AGE_BINARY.length).equals(AGE_BINARY)) return true;
  const text = head.toString('latin1').trimStart();
  return text.startsWith(AGE_ARMOR.toString('latin1'));
}

async function readHead(file: string, n: number): Promise<Buffer> {
  const fh = await fsp.open(file, 'r');
  try {
    const b = Buffer.alloc(n);
    const { bytesRead } = await fh.read(b, 0, n, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function identityProblem(identity: string): Promise<string | undefined> {
  try {
    const st = await fsp.stat(identity);
    if (!st.isFile()) return 'the age identity is not a regular file';
    await fsp.access(identity, fsc.R_OK);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return `the age identity cannot be read: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`;
  }
}
