import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { LifeboatError } from '../errors.ts';
import { defaultWorkers, parseWorkerCount, setDefaultWorkers } from './worker-pool.ts';

const isUsage = (e: unknown): boolean => e instanceof LifeboatError && e.code === 'USAGE';

test('one worker per core (at most 8) by default, the configured count once set, the default again when cleared', (t) => {
  t.after(() => setDefaultWorkers(undefined));
  assert.equal(defaultWorkers(), Math.max(1, Math.min(availableParallelism(), 8)));
  setDefaultWorkers(3);
  assert.equal(defaultWorkers(), 3);
  setDefaultWorkers(undefined);
  assert.equal(defaultWorkers(), Math.max(1, Math.min(availableParallelism(), 8)));
  for (const bad of [0, -1, 2.5, 65]) assert.throws(() => setDefaultWorkers(bad), isUsage, String(bad));
});

test('LIFEBOAT_WORKERS is read as a count from 1 to 64; anything else is a usage error naming the variable', () => {
  assert.equal(parseWorkerCount(undefined), undefined);
  assert.equal(parseWorkerCount(''), undefined);
  assert.equal(parseWorkerCount('3'), 3);
  assert.equal(parseWorkerCount('64'), 64);
  for (const bad of ['0', '-1', '2.5', 'two', '65']) {
    assert.throws(() => parseWorkerCount(bad), (e: unknown) => isUsage(e) && (e as Error).message.startsWith(`LIFEBOAT_WORKERS="${bad}"`), bad);
  }
});
