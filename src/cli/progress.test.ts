import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plural } from './progress.ts';

test('plural: one of a thing is singular, every other count plural', () => {
  assert.deepEqual([plural(0, 'file'), plural(1, 'file'), plural(2, 'pack'), plural(1, 'copy', 'copies'), plural(3, 'copy', 'copies')], ['0 files', '1 file', '2 packs', '1 copy', '3 copies']);
});
