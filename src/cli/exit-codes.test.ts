import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { EXIT, combineExitCodes, exitCodeForAll, runExitCode } from './exit-codes.ts';

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

test('runExitCode: interrupted first, then one shared failure code, mixed failures 1, partial 3, all skipped 13, else 0', () => {
  const ok = { outcome: 'success' };
  const absent = { outcome: 'absent', code: 'DEVICE_UNAVAILABLE' } as const;
  const wrongPw = { outcome: 'failed', code: 'WRONG_PASSWORD' } as const;
  const noSpace = { outcome: 'failed', code: 'NO_SPACE' } as const;
  assert.equal(runExitCode([ok, { outcome: 'interrupted', code: 'INTERRUPTED' }, wrongPw]), EXIT.INTERRUPTED);
  assert.equal(runExitCode([ok, wrongPw, wrongPw]), EXIT.WRONG_PASSWORD);
  assert.equal(runExitCode([absent, { outcome: 'failed', code: 'DEVICE_UNAVAILABLE' }]), EXIT.UNAVAILABLE);
  assert.equal(runExitCode([wrongPw, noSpace]), EXIT.ERROR);
  assert.equal(runExitCode([noSpace]), EXIT.ERROR);
  assert.equal(runExitCode([ok, { outcome: 'partial', code: 'IO' }]), EXIT.PARTIAL);
  assert.equal(runExitCode([absent, { outcome: 'not-due' }]), EXIT.UNAVAILABLE, 'nothing was backed up');
  assert.equal(runExitCode([absent, ok]), EXIT.OK, 'an unplugged drive beside a good copy is no error');
  assert.equal(runExitCode([{ outcome: 'not-due' }]), EXIT.OK);
  assert.equal(runExitCode([]), EXIT.OK);
});

test('combineExitCodes: interrupted wins, equal codes stay, 0 gives way, two different failures are 1', () => {
  assert.equal(combineExitCodes(EXIT.ERROR, EXIT.INTERRUPTED), EXIT.INTERRUPTED);
  assert.equal(combineExitCodes(EXIT.OK, EXIT.WRONG_PASSWORD), EXIT.WRONG_PASSWORD);
  assert.equal(combineExitCodes(EXIT.PARTIAL, EXIT.OK), EXIT.PARTIAL);
  assert.equal(combineExitCodes(EXIT.PARTIAL, EXIT.WRONG_PASSWORD), EXIT.ERROR);
});
