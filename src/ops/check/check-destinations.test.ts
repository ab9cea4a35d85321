import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Config } from '../../config/index.ts';
import { localDestinationsConfig } from '../destination/test-destinations.ts';
import { systemProbe } from '../devices/index.ts';
import { checkDestinations, failureCodes, type CheckEvent } from './check-destinations.ts';

describe('checkDestinations on local repositories', () => {
  let dir: string;
  let config: Config;

  before(async () => {
    dir = await fsp.mkdtemp(path.join(tmpdir(), 'lifeboat-check-unit-'));
    ({ config } = await localDestinationsConfig(dir, ['empty', 'good'], ['good']));
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
