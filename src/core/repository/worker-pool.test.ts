import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { LifeboatError } from '../errors.ts';
import { defaultWorkers } from './worker-pool.ts';

test('one worker per core by default, LIFEBOAT_WORKERS when given, a usage error when it is not a count', (t) => {
  const saved = process.env.LIFEBOAT_WORKERS;
  t.after(() => {
    if (saved === undefined) delete process.env.LIFEBOAT_WORKERS;
    else process.env.LIFEBOAT_WORKERS = saved;
  });
  delete process.env.LIFEBOAT_WORKERS;
  assert.equal(defaultWorkers(), Math.max(1, Math.min(availableParallelism(), 8)));
  process.env.LIFEBOAT_WORKERS = '3';
  assert.equal(defaultWorkers(), 3);
  for (const bad of ['0', '-1', '2.5', 'two', '65']) {
    process.env.LIFEBOAT_WORKERS = bad;
    assert.throws(() => defaultWorkers(), (e: unknown) => e instanceof LifeboatError && e.code === 'USAGE', bad);
  }
});
