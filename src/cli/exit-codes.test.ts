import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT, exitCodeForAll } from './exit-codes.ts';

describe('exitCodeForAll', () => {
  it('is 0 with no failures, the shared code when all failures agree, else 1', () => {
    assert.equal(exitCodeForAll([]), EXIT.OK);
    assert.equal(exitCodeForAll(['NO_REPOSITORY', 'NO_REPOSITORY']), EXIT.NO_REPOSITORY);
    assert.equal(exitCodeForAll(['DEVICE_UNAVAILABLE']), EXIT.UNAVAILABLE);
    assert.equal(exitCodeForAll(['NO_REPOSITORY', 'WRONG_PASSWORD']), EXIT.ERROR);
    // Damage and an I/O error both map to 1: one code.
    assert.equal(exitCodeForAll(['INTEGRITY', 'IO']), EXIT.ERROR);
  });

  it('an interruption wins over everything else', () => {
    assert.equal(exitCodeForAll(['NO_REPOSITORY', 'INTERRUPTED', 'WRONG_PASSWORD']), EXIT.INTERRUPTED);
  });
});
