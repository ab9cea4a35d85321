import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drillSlice, type DrillCursor } from './drill-slice.ts';

const files = (n: number): { path: string }[] => Array.from({ length: n }, (_, i) => ({ path: `/f${String(i).padStart(2, '0')}` }));

describe('drillSlice', () => {
  it('after `rotation` drills every file was in exactly one sample; the next drill starts round 2 at the first file', () => {
    const all = files(13);
    let cur: DrillCursor | undefined;
    const seen: string[] = [];
    for (let d = 1; d <= 7; d++) {
      const s = drillSlice(all, cur, { rotation: 7, full: false });
      assert.equal(s.round, 1);
      seen.push(...s.sample.map((f) => f.path));
      assert.equal(s.coverage, seen.length / 13);
      cur = s.next;
    }
    assert.deepEqual(seen, all.map((f) => f.path));
    const next = drillSlice(all, cur, { rotation: 7, full: false });
    assert.deepEqual([next.round, next.sample.map((f) => f.path)], [2, ['/f00', '/f01']]);
  });

  it('keys the cursor by path: a file added before the cursor shifts nothing already covered', () => {
    const first = drillSlice(files(7), undefined, { rotation: 7, full: false });
    assert.deepEqual(first.sample.map((f) => f.path), ['/f00']);
    const grown = [{ path: '/e' }, ...files(7)];
    assert.deepEqual(drillSlice(grown, first.next, { rotation: 7, full: false }).sample.map((f) => f.path), ['/f01', '/f02']);
  });

  it('a full drill takes every file, covers all and moves no cursor', () => {
    const s = drillSlice(files(5), { cursor: '/f02', round: 3 }, { rotation: 7, full: true });
    assert.deepEqual([s.sample.length, s.coverage, s.next], [5, 1, undefined]);
  });
});
