/**
 * The repository `config` file (restic-format.md §3): sealed with the master key, never
 * compressed, no version byte. It names the format version, a random repository id and the
 * chunker polynomial every writer must use so that deduplication works across clients.
 */
import { randomBytes } from 'node:crypto';
import { malformedError } from '../errors.ts';
import { isId } from '../ids.ts';
import { formatPolynomial, parsePolynomial, randomPolynomial } from '../chunker/index.ts';

export interface RepoConfig {
  readonly version: 1 | 2;
  readonly id: string;
  readonly chunkerPolynomial: bigint;
}

export function newRepoConfig(opts: { version?: 1 | 2; polynomial?: bigint } = {}): RepoConfig {
  return {
    version: opts.version ?? 2,
    id: randomBytes(32).toString('hex'),
    chunkerPolynomial: opts.polynomial ?? randomPolynomial(),
  };
}

export function encodeRepoConfig(c: RepoConfig): Buffer {
  return Buffer.from(`{"version":${c.version},"id":"${c.id}","chunker_polynomial":"${formatPolynomial(c.chunkerPolynomial)}"}`);
}

export function decodeRepoConfig(bytes: Buffer): RepoConfig {
  let j: { version?: unknown; id?: unknown; chunker_polynomial?: unknown };
  try {
    j = JSON.parse(bytes.toString('utf8')) as typeof j;
  } catch (e) {
    throw malformedError('repository config is not valid JSON', e);
  }
  if (!j || typeof j !== 'object') throw malformedError('repository config is not a JSON object');
  if (j.version !== 1 && j.version !== 2) throw malformedError(`unsupported repository version ${JSON.stringify(j.version)}`);
  if (typeof j.id !== 'string' || !isId(j.id.toLowerCase())) throw malformedError('repository config has an invalid id');
  if (typeof j.chunker_polynomial !== 'string') throw malformedError('repository config has no chunker polynomial');
  return { version: j.version, id: j.id, chunkerPolynomial: parsePolynomial(j.chunker_polynomial) };
}
