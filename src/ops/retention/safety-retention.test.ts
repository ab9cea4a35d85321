import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSafetyPlan, planSafetyRetention } from './safety-retention.ts';

const snap = (id: string, time: string, tags: string[]) => ({ id: id.padEnd(64, '0'), snapshot: { time, tree: 'f'.repeat(64), paths: ['/srv'], hostname: 'h', tags } });

describe('planSafetyRetention', () => {
  const now = new Date('2026-03-01T00:00:00Z');
  const backup = snap('aa', '2026-02-27T10:00:00Z', ['source:docs']);
  const fresh = snap('bb', '2026-02-28T10:00:00Z', ['pre-restore', 'pre-restore-of:docs']);
  const old = snap('cc', '2026-01-29T23:59:59Z', ['source:docs', 'pre-restore']);
  const unreadable = snap('dd', 'not a time', ['pre-restore']);

  test('takes safety snapshots away from the policy, keeps them 30 days and removes them after', () => {
    const { policy, safety } = planSafetyRetention([backup, fresh, old, unreadable], now);
    assert.deepEqual(policy, [backup]);
    assert.deepEqual(
      safety.map((s) => [s.id.slice(0, 2), s.source, s.action, s.until.slice(0, 10)]),
      [
        ['bb', 'docs', 'keep', '2026-03-30'],
        ['cc', 'docs', 'remove', '2026-02-28'],
        ['dd', undefined, 'keep', 'unknown'],
      ],
    );
  });

  test('the plan lines say kept for safety and until when, or expired', () => {
    const { safety } = planSafetyRetention([fresh, old], now);
    assert.deepEqual(formatSafetyPlan(safety), [
      '',
      'pre-restore safety snapshots (outside the policy, kept 30 days): keep 1, remove 1',
      'keep   bb000000 2026-02-28 10:00:00 (kept for safety: taken before an in-place restore of docs, until 2026-03-30)',
      'remove cc000000 2026-01-29 23:59:59 (safety snapshot of docs expired on 2026-02-28)',
    ]);
    assert.deepEqual(formatSafetyPlan([]), []);
  });
});
