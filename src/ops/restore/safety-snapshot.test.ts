import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isBackupOf, isSafetySnapshot, safetyExpiry, safetySourceOf, safetyTags } from './safety-snapshot.ts';

describe('safety snapshots', () => {
  test('new safety snapshots never carry the source tag, and are no backup of the source', () => {
    const tags = safetyTags({ name: 'docs' });
    assert.ok(!tags.includes('source:docs'));
    assert.equal(safetySourceOf({ tags }), 'docs');
    assert.equal(isBackupOf({ name: 'docs' }, { tags }), false);
  });
  test('an older lifeboat\'s source:X,pre-restore snapshot is a safety snapshot of X, not a backup of X', () => {
    const tags = ['source:docs', 'pre-restore'];
    assert.equal(isSafetySnapshot({ tags }), true);
    assert.equal(safetySourceOf({ tags }), 'docs');
    assert.equal(isBackupOf({ name: 'docs' }, { tags }), false);
    assert.equal(isBackupOf({ name: 'docs' }, { tags: ['source:docs', 'verified'] }), true);
    assert.equal(safetySourceOf({ tags: ['source:docs'] }), undefined);
  });
  test('expires 30 days after it was taken', () => {
    assert.equal(safetyExpiry({ time: '2026-01-01T10:00:00.123456789+01:00' }).toISOString(), '2026-01-31T09:00:00.123Z');
  });
});
