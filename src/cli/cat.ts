/** `lifeboat repo cat`: the raw objects of a repository, as `restic cat` shows them. */
import { LifeboatError } from '../core/errors.ts';
import type { Id } from '../core/ids.ts';
import type { Repository } from '../core/repository/repository.ts';
import { keyToJson } from '../core/crypto/crypto.ts';
import { encodeRepoConfig } from '../core/repository/repo-config.ts';

async function resolve(repo: Repository, type: 'key' | 'index' | 'snapshot' | 'data', ref: string | undefined): Promise<Id> {
  if (!ref) throw new LifeboatError('USAGE', `cat ${type} needs an ID`);
  if (type === 'snapshot') return (await repo.findSnapshot(ref)).id;
  const hits = (await repo.listIds(type)).filter((i) => i.startsWith(ref.toLowerCase()));
  if (hits.length !== 1) throw new LifeboatError(hits.length ? 'AMBIGUOUS' : 'NOT_FOUND', `No unique ${type} file matching ${ref}`);
  return hits[0]!;
}

export async function catObject(repo: Repository, what: string, ref: Id | undefined): Promise<Buffer> {
  switch (what) {
    case 'config':
      return Buffer.from(encodeRepoConfig(repo.config).toString() + '\n');
    case 'masterkey':
      return Buffer.from(JSON.stringify(keyToJson(repo.key)) + '\n');
    case 'key':
      return repo.backend.load('key', ref ? await resolve(repo, 'key', ref) : repo.keyId);
    case 'index':
      return repo.loadUnpacked('index', await resolve(repo, 'index', ref));
    case 'snapshot':
      return repo.loadUnpacked('snapshot', await resolve(repo, 'snapshot', ref));
    case 'pack':
      return repo.backend.load('data', await resolve(repo, 'data', ref));
    case 'blob': {
      if (!ref || !/^[0-9a-f]{64}$/.test(ref)) throw new LifeboatError('USAGE', 'cat blob needs a full 64-hex blob ID');
      await repo.loadIndex();
      for (const t of ['data', 'tree'] as const) if (repo.index.has(t, ref)) return repo.loadBlob(t, ref);
      throw new LifeboatError('NOT_FOUND', `blob ${ref.slice(0, 8)} is not in the index`);
    }
    default:
      throw new LifeboatError('USAGE', `cat: unknown object type ${JSON.stringify(what)}`, { hint: 'use config|key|masterkey|index|snapshot|pack|blob' });
  }
}
