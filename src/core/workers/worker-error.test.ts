import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LifeboatError } from '../errors.ts';
import { errorReply, reviveError } from './worker-error.ts';

const roundTrip = (e: unknown): Error => reviveError(structuredClone(errorReply(e)));

test('a full disk in a worker reaches the main thread as NO_SPACE with its hint', () => {
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const e = roundTrip(enospc);
  assert.ok(e instanceof LifeboatError);
  assert.equal(e.code, 'NO_SPACE');
  assert.match(e.hint ?? '', /free space/);
});

test('a LifeboatError keeps its code, message and hint across the boundary', () => {
  const e = roundTrip(new LifeboatError('INTEGRITY', 'blob 1234 is damaged', { hint: 'run check' }));
  assert.ok(e instanceof LifeboatError);
  assert.deepEqual([e.code, e.message, e.hint], ['INTEGRITY', 'blob 1234 is damaged', 'run check']);
});

test('an error without one of our codes stays a plain Error with its name and message', () => {
  const e = roundTrip(new TypeError('x is not a function'));
  assert.ok(!(e instanceof LifeboatError));
  assert.deepEqual([e.name, e.message], ['TypeError', 'x is not a function']);
});
