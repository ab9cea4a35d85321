import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalBackend } from '../../core/backend/index.ts';
import { Repository } from '../../core/repository/repository.ts';
import { parseConfigText, type Config } from '../../config/index.ts';
import { systemProbe } from '../devices/index.ts';
import { checkDestinations, failureCodes, type CheckEvent } from './check-destinations.ts';

describe('checkDestinations on local repositories', () => {
  let dir: string;
  let config: Config;

  before(async () => {
    dir = await fsp.mkdtemp(path.join(tmpdir(), 'lifeboat-check-unit-'));
    await fsp.writeFile(path.join(dir, 'password'), 'unit password\n', { mode: 0o600 });
    const repo = await Repository.init(new LocalBackend(path.join(dir, 'good')), 'unit password');
    await repo.close();
    await fsp.mkdir(path.join(dir, 'empty'));
    const local = (name: string): string => `  ${name}:\n    kind: local\n    path: ${path.join(dir, name)}\n    password_file: ${path.join(dir, 'password')}\n`;
    const text = `destinations:\n${local('empty')}${local('good')}sources:\n  s:\n    paths: [${dir}]\n    priority: low\n    frequency: manual\n    destinations: [empty, good]\n`;
    const r = await parseConfigText(text, 'c.yaml', { readFile: (p) => fsp.readFile(p, 'utf8'), exists: (p) => existsSync(p), env: {} });
    assert.deepEqual(r.problems, []);
    config = r.config;
  });

  after(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('gives each destination its result and its events in config order; a missing repository does not stop the next', async () => {
    const events: CheckEvent['type'][] = [];
    const results = await checkDestinations(config, { onEvent: (e) => void (e.type !== 'progress' && events.push(e.type)) }, { probe: systemProbe() });
    assert.deepEqual(results.map((r) => [r.destination, r.outcome]), [['empty', 'failed'], ['good', 'checked']]);
    const [empty] = results;
    assert.ok(empty?.outcome === 'failed');
    assert.equal(empty.error.code, 'NO_REPOSITORY');
    assert.doesNotMatch(`${empty.error.message} ${empty.error.hint}`, /repo init/);
    assert.deepEqual(events, ['destination-start', 'destination-done', 'destination-start', 'destination-done']);
    assert.deepEqual(failureCodes(results), ['NO_REPOSITORY']);
  });

  it('an aborted signal makes every destination INTERRUPTED instead of checking it', async () => {
    const results = await checkDestinations(config, { signal: AbortSignal.abort() }, { probe: systemProbe() });
    assert.deepEqual(failureCodes(results), ['INTERRUPTED', 'INTERRUPTED']);
  });
});
