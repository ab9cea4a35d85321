import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LifeboatError } from '../../core/errors.ts';
import type { Destination } from '../../config/index.ts';
import { openDestinationRepository, type RepositoryDestination } from './open-repository.ts';
import { localDestinationsConfig } from './test-destinations.ts';

describe('openDestinationRepository', () => {
  let dir: string;
  let dests: Destination[];
  let id: string;
  const dest = (name: string): RepositoryDestination => dests.find((d) => d.name === name) as RepositoryDestination;
  const code = (c: string, re: RegExp) => (e: unknown) => e instanceof LifeboatError && e.code === c && re.test(`${e.message} ${e.hint ?? ''}`);

  before(async () => {
    dir = await fsp.mkdtemp(path.join(tmpdir(), 'lifeboat-open-repo-'));
    const { config, ids } = await localDestinationsConfig(dir, ['empty', 'good'], ['good']);
    dests = [...config.destinations];
    id = ids.get('good')!;
  });
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  it('opens the repository when it is the one enrolled on this server, or none is recorded', async () => {
    for (const enrolledRepositoryId of [undefined, id]) {
      const repo = await openDestinationRepository(dest('good'), undefined, { enrolledRepositoryId });
      assert.equal(repo.config.id, id);
      await repo.close();
    }
  });

  it('refuses another repository in the enrolled one\'s place, naming both ids', async () => {
    const other = 'f'.repeat(64);
    await assert.rejects(openDestinationRepository(dest('good'), undefined, { enrolledRepositoryId: other }), code('DEVICE_UNAVAILABLE', new RegExp(`\\(${id.slice(0, 10)}\\) is not the one enrolled on this server \\(${other.slice(0, 10)}\\)`)));
  });

  it('a missing repository is a lost backup naming the other destinations, never "repo init"', async () => {
    await assert.rejects(openDestinationRepository(dest('empty'), undefined, { others: ['good'] }), (e: unknown) => {
      assert.ok(code('NO_REPOSITORY', /restore from another destination \(good\)/)(e), String(e));
      assert.doesNotMatch(`${(e as LifeboatError).message} ${(e as LifeboatError).hint}`, /repo init/);
      return true;
    });
  });
});
