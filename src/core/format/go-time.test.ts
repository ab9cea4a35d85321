import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LifeboatError } from '../errors.ts';
import {
  compareTime,
  fixTimeYear,
  formatRfc3339Nano,
  fromStatNs,
  goYear,
  isZeroTime,
  localOffsetMinutes,
  parseRfc3339Nano,
  toUnixNs,
  withOffset,
  ZERO_TIME,
} from './go-time.ts';

const malformed = (e: unknown): boolean => e instanceof LifeboatError && e.code === 'MALFORMED';

test('formatRfc3339Nano trims trailing zeros and drops the dot for whole seconds', () => {
  const t = fromStatNs(981_173_106_123_456_789n, 0);
  assert.equal(formatRfc3339Nano(t), '2001-02-03T04:05:06.123456789Z');
  assert.equal(formatRfc3339Nano(fromStatNs(981_173_106_120_000_000n, 0)), '2001-02-03T04:05:06.12Z');
  assert.equal(formatRfc3339Nano(fromStatNs(981_173_106_000_000_001n, 0)), '2001-02-03T04:05:06.000000001Z');
  assert.equal(formatRfc3339Nano(fromStatNs(981_173_106_000_000_000n, 0)), '2001-02-03T04:05:06Z');
});

test('formatRfc3339Nano writes Z only for offset 0, else ±hh:mm of the local clock', () => {
  const t = fromStatNs(981_173_106_500_000_000n, 0);
  assert.equal(formatRfc3339Nano(withOffset(t, 330)), '2001-02-03T09:35:06.5+05:30');
  assert.equal(formatRfc3339Nano(withOffset(t, -210)), '2001-02-03T00:35:06.5-03:30');
  assert.equal(formatRfc3339Nano(withOffset(t, -300)), '2001-02-02T23:05:06.5-05:00', 'the date rolls back');
});

test("Go's zero time round-trips", () => {
  assert.equal(formatRfc3339Nano(ZERO_TIME), '0001-01-01T00:00:00Z');
  const z = parseRfc3339Nano('0001-01-01T00:00:00Z');
  assert.deepEqual(z, ZERO_TIME);
  assert.ok(isZeroTime(z));
});

test('parseRfc3339Nano keeps nanoseconds and the offset, and round-trips restic times', () => {
  for (const s of [
    '2026-11-27T05:48:32.963348872Z',
    '2022-08-24T15:03:40.123+02:00',
    '1969-12-31T23:59:59.999999999Z',
    '1900-02-28T12:00:00-09:30',
    '2000-02-29T00:00:00Z',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999999999Z',
  ]) {
    assert.equal(formatRfc3339Nano(parseRfc3339Nano(s)), s);
  }
  const t = parseRfc3339Nano('2022-08-24T15:03:40.123456789+02:00');
  assert.equal(t.nsec, 123_456_789);
  assert.equal(t.offsetMin, 120);
  assert.equal(t.sec, BigInt(Date.UTC(2022, 7, 24, 13, 3, 40) / 1000));
  assert.equal(toUnixNs(parseRfc3339Nano('1969-12-31T23:59:59.5Z')), -500_000_000n);
});

test('parseRfc3339Nano accepts what go1.19 accepts around fractions and zones', () => {
  assert.equal(parseRfc3339Nano('2001-02-03T04:05:06,5Z').nsec, 500_000_000, 'comma decimal mark');
  assert.equal(parseRfc3339Nano('2001-02-03T04:05:06.1234567899Z').nsec, 123_456_789, 'digits past nine are dropped');
  assert.equal(formatRfc3339Nano(parseRfc3339Nano('2001-02-03T04:05:06+00:00')), '2001-02-03T04:05:06Z', 'like Go, +00:00 becomes Z');
  assert.equal(parseRfc3339Nano('2001-02-03T04:05:06-00:00').offsetMin, 0);
});

test('parseRfc3339Nano refuses malformed times', () => {
  for (const s of [
    '', '2001-02-03', '2001-02-03 04:05:06Z', '2001-02-03T04:05:06', '2001-02-03T04:05:06z', '2001-13-01T00:00:00Z',
    '2001-02-29T00:00:00Z', '1900-02-29T00:00:00Z', '2001-04-31T00:00:00Z', '2001-02-03T24:00:00Z', '2001-02-03T00:60:00Z',
    '2001-02-03T00:00:60Z', '2001-02-03T00:00:00.Z', '2001-02-03T00:00:00+0100', '2001-02-03T00:00:00+01:60', '12001-02-03T00:00:00Z',
    '2001-02-03T4:05:06Z', '２００１-02-03T00:00:00Z',
  ]) {
    assert.throws(() => parseRfc3339Nano(s), malformed, s);
  }
});

test('fromStatNs splits negative nanoseconds with a non-negative remainder', () => {
  const t = fromStatNs(-1n, 0);
  assert.equal(t.sec, -1n);
  assert.equal(t.nsec, 999_999_999);
  assert.equal(formatRfc3339Nano(t), '1969-12-31T23:59:59.999999999Z');
  assert.equal(toUnixNs(t), -1n);
});

test('localOffsetMinutes matches Date for the instant and is 0 outside its range', () => {
  const sec = 981_173_106n;
  assert.equal(localOffsetMinutes(sec), -new Date(981_173_106_000).getTimezoneOffset() || 0);
  assert.equal(localOffsetMinutes(10n ** 15n), 0);
  assert.equal(fromStatNs(981_173_106_000_000_000n).offsetMin, localOffsetMinutes(sec));
});

test('formatRfc3339Nano refuses years outside 0..9999 and fixTimeYear clamps them like restic', () => {
  const far = fromStatNs(300_000_000_000n * 1_000_000_000n, 0);
  assert.equal(goYear(far), 11_476);
  assert.throws(() => formatRfc3339Nano(far), malformed);
  const fixed = fixTimeYear(far);
  assert.equal(goYear(fixed), 9999);
  const iso = new Date(300_000_000_000_000).toISOString(); // +011476-…, Date's extended years
  assert.equal(formatRfc3339Nano(fixed), iso.replace(/^\+011476/, '9999').replace('.000Z', 'Z'), 'month, day and clock kept');
  assert.equal(formatRfc3339Nano(fixTimeYear(parseRfc3339Nano('2000-02-29T01:02:03Z'))), '2000-02-29T01:02:03Z', 'in-range times are unchanged');
  const before = { sec: -62_198_755_200n + 100n, nsec: 7, offsetMin: 0 }; // -0001-01-01T00:01:40Z
  assert.equal(goYear(before), -1);
  assert.equal(formatRfc3339Nano(fixTimeYear(before)).slice(0, 4), '0000');
});

test('compareTime orders by instant regardless of zone', () => {
  const a = parseRfc3339Nano('2001-02-03T04:05:06+01:00');
  const b = parseRfc3339Nano('2001-02-03T03:05:06Z');
  assert.equal(compareTime(a, b), 0);
  assert.equal(compareTime(a, parseRfc3339Nano('2001-02-03T03:05:06.000000001Z')), -1);
});
