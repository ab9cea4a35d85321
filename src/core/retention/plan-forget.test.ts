import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planForget, type ForgetCandidate } from './plan-forget.ts';
import { formatPlan } from './format-plan.ts';
import { describePolicy } from './forget-policy.ts';
import { addDate, isoWeek, wallClock } from './wall-clock.ts';
import { formatRfc3339Nano, parseRfc3339Nano } from '../format/go-time.ts';
import { LifeboatError } from '../errors.ts';

const NOW = new Date('2026-11-27T00:00:00Z');
let seq = 0;
function snap(time: string, extra: { host?: string; paths?: string[]; tags?: string[] } = {}): ForgetCandidate {
  const id = (++seq).toString(16).padStart(64, '0');
  return { id, snapshot: { time, hostname: extra.host ?? 'h', paths: extra.paths ?? ['/data'], ...(extra.tags ? { tags: extra.tags } : {}) } };
}
const ids = (l: readonly { id: string }[]): string[] => l.map((x) => x.id);

describe('wall clock', () => {
  test('ISO weeks at year boundaries match Go', () => {
    const week = (s: string) => isoWeek(wallClock(parseRfc3339Nano(s)));
    assert.deepEqual(week('2026-01-01T12:00:00Z'), [2026, 1]); // a Thursday
    assert.deepEqual(week('2027-01-01T12:00:00Z'), [2026, 53]); // a Friday: last week of 2026
    assert.deepEqual(week('2024-12-30T12:00:00Z'), [2025, 1]);
    assert.deepEqual(week('2021-01-03T12:00:00Z'), [2020, 53]);
  });
  test('buckets use the snapshot\'s own zone offset', () => {
    const w = wallClock(parseRfc3339Nano('2026-03-01T01:30:00+02:00'));
    assert.deepEqual([w.year, w.month, w.day, w.hour], [2026, 3, 1, 1]);
  });
  test('AddDate rolls over like Go (Mar 31 minus one month is Mar 3)', () => {
    assert.equal(formatRfc3339Nano(addDate(parseRfc3339Nano('2026-03-31T10:00:00+01:00'), 0, -1, 0)), '2026-03-03T10:00:00+01:00');
    assert.equal(formatRfc3339Nano(addDate(parseRfc3339Nano('2024-02-29T10:00:00Z'), -1, 0, 0)), '2023-03-01T10:00:00Z');
  });
});

describe('planForget', () => {
  test('keep-last keeps the newest n, newest first, and removes the rest', () => {
    const list = [snap('2026-01-01T10:00:00Z'), snap('2026-01-03T10:00:00Z'), snap('2026-01-02T10:00:00Z')];
    const plan = planForget(list, { keepLast: 2 }, { now: NOW });
    assert.equal(plan.groups.length, 1);
    assert.deepEqual(ids(plan.groups[0]!.keep), [list[1]!.id, list[2]!.id]);
    assert.deepEqual(ids(plan.groups[0]!.remove), [list[0]!.id]);
    assert.deepEqual(plan.groups[0]!.keep[0]!.reasons, ['last snapshot']);
  });

  test('keep-daily counts distinct days, newest snapshot of each day', () => {
    const list = [snap('2026-01-01T09:00:00Z'), snap('2026-01-01T18:00:00Z'), snap('2026-01-02T09:00:00Z'), snap('2026-01-03T09:00:00Z')];
    const plan = planForget(list, { keepDaily: 2 }, { now: NOW });
    assert.deepEqual(ids(plan.groups[0]!.keep), [list[3]!.id, list[2]!.id]);
  });

  test('keep-within is measured from the newest snapshot that is not in the future', () => {
    const list = [snap('2026-01-01T00:00:00Z'), snap('2026-01-09T00:00:00Z'), snap('2026-01-10T00:00:00Z'), snap('2027-06-01T00:00:00Z')];
    const plan = planForget(list, { keepWithin: { days: 2 } }, { now: NOW });
    // newest not in the future: 01-10; cutoff 01-08 (strictly after): keeps 01-09, 01-10 and the future one
    assert.deepEqual(ids(plan.groups[0]!.keep), [list[3]!.id, list[2]!.id, list[1]!.id]);
    assert.deepEqual(plan.groups[0]!.keep[1]!.reasons, ['within 2d']);
    const secs = planForget(list, { keepWithin: 2 * 86400 }, { now: NOW });
    assert.deepEqual(ids(secs.groups[0]!.keep), ids(plan.groups[0]!.keep));
  });

  test('keep-tag keeps snapshots carrying every tag of one list', () => {
    const list = [snap('2026-01-01T00:00:00Z', { tags: ['a', 'b'] }), snap('2026-01-02T00:00:00Z', { tags: ['a'] }), snap('2026-01-03T00:00:00Z')];
    const plan = planForget(list, { keepTags: ['a, b'] }, { now: NOW });
    assert.deepEqual(ids(plan.groups[0]!.keep), [list[0]!.id]);
    assert.deepEqual(plan.groups[0]!.keep[0]!.reasons, ['has tags [a, b]']);
  });

  test('groups by host and sorted paths by default; each group gets the policy on its own', () => {
    const a = snap('2026-01-01T00:00:00Z', { host: 'a', paths: ['/y', '/x'] });
    const b = snap('2026-01-02T00:00:00Z', { host: 'a', paths: ['/x', '/y'] });
    const c = snap('2026-01-03T00:00:00Z', { host: 'b', paths: ['/x', '/y'] });
    const plan = planForget([a, b, c], { keepLast: 1 }, { now: NOW });
    assert.deepEqual(plan.groups.map((g) => g.key), ['{"hostname":"a","paths":["/x","/y"],"tags":null}', '{"hostname":"b","paths":["/x","/y"],"tags":null}']);
    assert.deepEqual(plan.remove, [a.id]);
    const one = planForget([a, b, c], { keepLast: 1 }, { now: NOW, groupBy: '' });
    assert.deepEqual(one.groups.map((g) => g.key), ['{"hostname":"","paths":null,"tags":null}']);
    assert.deepEqual([...one.remove].sort(), [a.id, b.id].sort());
  });

  test('protect keeps a snapshot the policy would remove, without shifting the counts', () => {
    const list = [snap('2026-01-01T00:00:00Z'), snap('2026-01-02T00:00:00Z'), snap('2026-01-03T00:00:00Z')];
    const plan = planForget(list, { keepLast: 1 }, { now: NOW, protect: (id) => (id === list[0]!.id ? 'newest verified snapshot of cell db/usb' : undefined) });
    assert.deepEqual(ids(plan.groups[0]!.keep), [list[2]!.id, list[0]!.id]);
    assert.deepEqual(plan.groups[0]!.keep[1]!.reasons, ['newest verified snapshot of cell db/usb']);
    assert.deepEqual(plan.remove, [list[1]!.id]);
  });

  test('an empty policy is refused, as are negative counts and unknown grouping', () => {
    const list = [snap('2026-01-01T00:00:00Z')];
    assert.throws(() => planForget(list, {}, { now: NOW }), (e: unknown) => e instanceof LifeboatError && e.code === 'USAGE' && /empty/.test(e.message));
    assert.throws(() => planForget(list, { keepWithin: { days: 0 }, keepTags: [] }, { now: NOW }), /empty/);
    assert.throws(() => planForget(list, { keepLast: -1, keepDaily: 1.5 }, { now: NOW }), /keepLast.*keepDaily/);
    assert.throws(() => planForget(list, { keepLast: 1 }, { now: NOW, groupBy: 'host,colour' }), /unknown grouping option "colour"/);
  });

  test('describes the policy in restic\'s words', () => {
    assert.equal(describePolicy({ keepLast: 2, keepDaily: 7, keepWithin: { months: 1, days: 2 }, keepTags: ['a,b'] }), 'keep 2 latest, 7 daily snapshots and all snapshots with tags [[a, b]] and all snapshots within 1m2d of the newest');
  });

  test('formatPlan prints one line per snapshot with its reasons', () => {
    const list = [snap('2026-01-05T10:00:00Z'), snap('2026-01-04T10:00:00Z')];
    const lines = formatPlan(planForget(list, { keepDaily: 1, keepLast: 1 }, { now: NOW }));
    assert.ok(lines.includes(`keep   ${list[0]!.id.slice(0, 8)} 2026-01-05 10:00:00 (last snapshot, daily snapshot)`), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith(`remove ${list[1]!.id.slice(0, 8)} 2026-01-04 10:00:00 (no rule keeps it`)), lines.join('\n'));
    assert.equal(lines.at(-1), '1 snapshot would be removed');
  });
});
