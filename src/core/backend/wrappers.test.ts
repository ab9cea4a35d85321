/**
 * RetryBackend and LimitBackend: both pass the Backend conformance suite around a MemoryBackend
 * (a wrapper must not change the contract), and each keeps its own promise: transient failures
 * are retried with backoff and nothing else is; no more operations run at once than allowed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LifeboatError } from '../errors.ts';
import type { Backend, FileInfo, FileType } from './backend.ts';
import { runBackendConformance, seededBytes } from './backend-conformance.ts';
import { LimitBackend } from './limit-backend.ts';
import { MemoryBackend } from './memory-backend.ts';
import { RetryBackend, isTransient } from './retry-backend.ts';

runBackendConformance('RetryBackend(LimitBackend(MemoryBackend))', async () => ({ backend: new RetryBackend(new LimitBackend(new MemoryBackend(), 4), { sleep: async () => {} }), cleanup: async () => {} }), {
  storesLocally: false,
});

const ID = 'a'.repeat(64);

/** A memory backend whose next `n` calls of `load` fail with `error`. */
function flaky(error: () => unknown, n: number): { backend: Backend; calls: () => number } {
  const inner = new MemoryBackend();
  let failures = n;
  let calls = 0;
  const load = inner.load.bind(inner);
  inner.load = async (type: FileType, name: string, range?: { offset: number; length: number }): Promise<Buffer> => {
    calls++;
    if (failures-- > 0) throw error();
    return load(type, name, range);
  };
  return { backend: inner, calls: () => calls };
}

const timeout = (): unknown => Object.assign(new Error('connect ETIMEDOUT 10.0.0.1:22'), { code: 'ETIMEDOUT' });

describe('RetryBackend', () => {
  test('a transient failure is retried with doubling waits until it succeeds', async () => {
    const { backend, calls } = flaky(timeout, 3);
    await backend.save('snapshot', ID, seededBytes('s', 10));
    const waits: number[] = [];
    const retries: string[] = [];
    const r = new RetryBackend(backend, { firstDelayMs: 100, sleep: async (ms) => void waits.push(ms), onRetry: (e) => retries.push(`${e.operation} #${e.attempt}`) });
    assert.deepEqual(await r.load('snapshot', ID), seededBytes('s', 10));
    assert.equal(calls(), 4);
    assert.deepEqual(waits, [100, 200, 400]);
    assert.deepEqual(retries, [`load snapshot ${ID} #1`, `load snapshot ${ID} #2`, `load snapshot ${ID} #3`]);
  });

  test('it gives up after the last attempt with the last error, and waits no longer than maxDelayMs', async () => {
    const { backend, calls } = flaky(() => new LifeboatError('BACKEND', 'server busy', { transient: true }), 10);
    const waits: number[] = [];
    const r = new RetryBackend(backend, { attempts: 4, firstDelayMs: 1000, maxDelayMs: 1500, sleep: async (ms) => void waits.push(ms) });
    await assert.rejects(r.load('snapshot', ID), (e: unknown) => e instanceof LifeboatError && e.code === 'BACKEND' && e.message === 'server busy');
    assert.equal(calls(), 4);
    assert.deepEqual(waits, [1000, 1500, 1500]);
  });

  test('answers are never retried: a missing file, damage, a full disk, a permanent backend error', async () => {
    for (const make of [
      () => new LifeboatError('NOT_FOUND', 'no such file'),
      () => new LifeboatError('INTEGRITY', 'short read'),
      () => new LifeboatError('NO_SPACE', 'full'),
      () => new LifeboatError('BACKEND', 'access denied', { transient: false }),
      () => Object.assign(new Error('EACCES'), { code: 'EACCES' }),
    ]) {
      const { backend, calls } = flaky(make, 1);
      const r = new RetryBackend(backend, { sleep: async () => assert.fail('must not wait') });
      await assert.rejects(r.load('snapshot', ID));
      assert.equal(calls(), 1, String(make()));
    }
  });

  test('isTransient names network and busy-server failures only', () => {
    assert.equal(isTransient(timeout()), true);
    assert.equal(isTransient(Object.assign(new Error('x'), { code: 'ECONNRESET' })), true);
    assert.equal(isTransient(new LifeboatError('BACKEND', 'x', { transient: true })), true);
    assert.equal(isTransient(new LifeboatError('BACKEND', 'x')), false);
    assert.equal(isTransient(Object.assign(new Error('x'), { code: 'ENOENT' })), false);
    assert.equal(isTransient(new Error('plain')), false);
  });
});

describe('LimitBackend', () => {
  /** A backend whose loads take a tick and record how many ran at once. */
  function slow(): { backend: Backend; peak: () => number } {
    const inner = new MemoryBackend();
    let now = 0;
    let peak = 0;
    const load = inner.load.bind(inner);
    inner.load = async (type, name, range) => {
      now++;
      peak = Math.max(peak, now);
      await new Promise((r) => setTimeout(r, 2));
      now--;
      return load(type, name, range);
    };
    return { backend: inner, peak: () => peak };
  }

  test('no more operations run at once than the limit, and every call completes in full', async () => {
    const { backend, peak } = slow();
    await backend.save('snapshot', ID, seededBytes('x', 100));
    const l = new LimitBackend(backend, 3);
    const got = await Promise.all(Array.from({ length: 40 }, (_, i) => l.load('snapshot', ID, { offset: i, length: 10 })));
    assert.equal(peak(), 3);
    got.forEach((b, i) => assert.deepEqual(b, seededBytes('x', 100).subarray(i, i + 10)));
    assert.equal(l.inUse, 0);
  });

  test('an open stream holds a connection until commit or abort; a failed call gives its slot back', async () => {
    const l = new LimitBackend(new MemoryBackend(), 1);
    await l.create();
    const s = await l.saveStream!('data');
    assert.equal(l.inUse, 1);
    let listed: FileInfo[] | undefined;
    const waiting = (async () => {
      const out: FileInfo[] = [];
      for await (const f of l.list('data')) out.push(f);
      listed = out;
    })();
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(listed, undefined, 'the listing waits for the stream');
    const bytes = seededBytes('pack', 50);
    await s.write([bytes]);
    const name = (await import('node:crypto')).createHash('sha256').update(bytes).digest('hex');
    await s.commit(name);
    await waiting;
    assert.deepEqual(listed, [{ name, size: 50 }]);
    await assert.rejects(l.load('data', 'b'.repeat(64)), (e: unknown) => (e as LifeboatError).code === 'NOT_FOUND');
    assert.equal(l.inUse, 0);
    assert.throws(() => new LimitBackend(new MemoryBackend(), 0), RangeError);
  });
});
