import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LifeboatError } from '../../core/errors.ts';
import { LocalBackend } from '../../core/backend/index.ts';
import { Repository } from '../../core/repository/repository.ts';
import { parseConfigText, type Destination } from '../../config/index.ts';
import { openDestinationRepository, type RepositoryDestination } from './open-repository.ts';

describe('openDestinationRepository', () => {
  let dir: string;
  let dests: Destination[];
  let id: string;
  const dest = (name: string): RepositoryDestination => dests.find((d) => d.name === name) as RepositoryDestination;
  const code = (c: string, re: RegExp) => (e: unknown) => e instanceof LifeboatError && e.code === c && re.test(`${e.message} ${e.hint ?? ''}`);

  before(async () => {
    dir = await fsp.mkdtemp(path.join(tmpdir(), 'lifeboat-open-repo-'));
    await fsp.writeFile(path.join(dir, 'password'), 'unit password\n', { mode: 0o600 });
    const repo = await Repository.init(new LocalBackend(path.join(dir, 'good')), 'unit password');
    id = repo.config.id;
    await repo.close();
    await fsp.mkdir(path.join(dir, 'empty'));
    const local = (name: string): string => `  ${name}:\n    kind: local\n    path: ${path.join(dir, name)}\n    password_file: ${path.join(dir, 'password')}\n`;
    const text = `destinations:\n${local('empty')}${local('good')}sources:\n  s:\n    paths: [${dir}]\n    priority: low\n    frequency: manual\n    destinations: [empty, good]\n`;
    const r = await parseConfigText(text, 'c.yaml', { readFile: (p) => fsp.readFile(p, 'utf8'), exists: (p) => existsSync(p), env: {} });
    assert.deepEqual(r.problems, []);
    dests = [...r.config.destinations];
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
