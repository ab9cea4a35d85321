import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nominalIntervalSeconds, parseCalendar, parseDuration, parseFrequency } from './calendar.ts';

const MIN = 60;
const HOUR = 3600;
const DAY = 86400;

// [expression, canonical form, shortest gap, longest gap]
const VALID: readonly (readonly [string, string, number, number])[] = [
  ['*-*-* 02:00:00', '*-*-* 02:00:00', DAY, DAY],
  ['Mon *-*-* 03:00', 'Mon *-*-* 03:00:00', 7 * DAY, 7 * DAY],
  ['daily', '*-*-* 00:00:00', DAY, DAY],
  ['weekly', 'Mon *-*-* 00:00:00', 7 * DAY, 7 * DAY],
  ['Sat,Sun 04:00', 'Sat,Sun *-*-* 04:00:00', DAY, 6 * DAY],
  ['*:0/15', '*-*-* *:00/15:00', 15 * MIN, 15 * MIN],
  ['hourly', '*-*-* *:00:00', HOUR, HOUR],
  ['minutely', '*-*-* *:*:00', MIN, MIN],
  ['Mon..Fri 02:00', 'Mon..Fri *-*-* 02:00:00', DAY, 3 * DAY],
  ['Wed, 17:48', 'Wed *-*-* 17:48:00', 7 * DAY, 7 * DAY],
  ['monday *-12-* 17:00', 'Mon *-12-* 17:00:00', 7 * DAY, 49 * 7 * DAY], // Dec 25 to Dec 3
  ['*-*-01 00:00', '*-*-01 00:00:00', 28 * DAY, 31 * DAY],
  ['monthly', '*-*-01 00:00:00', 28 * DAY, 31 * DAY],
  ['*-*-1,15 03:00', '*-*-01,15 03:00:00', 14 * DAY, 17 * DAY],
  ['yearly', '*-01-01 00:00:00', 365 * DAY, 366 * DAY],
  ['quarterly', '*-01,04,07,10-01 00:00:00', 90 * DAY, 92 * DAY],
  ['12,14,13,12:20,10,30', '*-*-* 12,14,13,12:20,10,30:00', 10 * MIN, DAY - 14 * HOUR - 30 * MIN + 12 * HOUR + 10 * MIN],
  ['03-05 08:05:40', '*-03-05 08:05:40', 365 * DAY, 366 * DAY],
  ['*-*-* 02:00 UTC', '*-*-* 02:00:00 UTC', DAY, DAY],
  ['daily Europe/Berlin', '*-*-* 00:00:00 Europe/Berlin', DAY, DAY],
  ['2025-*-* 01:00', '2025-*-* 01:00:00', DAY, DAY],
  ['*-02-29 00:00', '*-02-29 00:00:00', 1461 * DAY, 1461 * DAY], // the window ends before 2100
];

// [expression, a fragment of the reason]
const INVALID: readonly (readonly [string, string])[] = [
  ['', 'empty'],
  ['*-*-* 25:00', 'hour 25 is out of range'],
  ['*-13-01', 'month 13 is out of range'],
  ['Mon..Fri 02:61', 'minute 61 is out of range'],
  ['Fri..Mon 02:00', 'runs backwards'],
  ['Mnday 02:00', '"Mnday" is not a weekday'],
  ['*-02-30 00:00', 'never matches'],
  ['2025-03-05 05:40', 'matches only once'],
  ['*-*-* 02:00 Mars/Olympus', 'unknown time zone'],
  ['*-02~03', 'not supported'],
  ['*-*-* 05:40:23.42', 'fractional seconds'],
  ['02:00 03:00', 'two times'],
  ['tomorrow', 'not a weekday'],
  ['*/0:00', 'at least 1'],
  ['1..*:00', 'not a valid hour'],
];

describe('parseCalendar', () => {
  for (const [text, canonical, shortest, longest] of VALID) {
    it(`reads "${text}"`, () => {
      const r = parseCalendar(text);
      assert.ok(r.ok, r.ok ? '' : r.reason);
      assert.equal(r.value.canonical, canonical);
      assert.equal(r.value.shortestGapSeconds, shortest, 'shortest gap');
      assert.equal(r.value.longestGapSeconds, longest, 'longest gap');
    });
  }
  for (const [text, fragment] of INVALID) {
    it(`refuses "${text}"`, () => {
      const r = parseCalendar(text);
      assert.ok(!r.ok, `"${text}" should not parse`);
      assert.match(r.reason, new RegExp(fragment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    });
  }
  it('keeps the fields it matched on', () => {
    const r = parseCalendar('Sat,Sun *-*-* 04:00');
    assert.ok(r.ok);
    assert.deepEqual(r.value.weekdays, [6, 7]);
    assert.deepEqual(r.value.hours, [4]);
    assert.deepEqual(r.value.minutes, [0]);
    assert.equal(r.value.years, undefined);
    assert.equal(r.value.timezone, undefined);
  });
  it('reads two-digit years the way systemd does', () => {
    const r = parseCalendar('25-*-* 00:00');
    assert.ok(r.ok);
    assert.deepEqual(r.value.years, [2025]);
  });
});

describe('parseFrequency and nominalIntervalSeconds', () => {
  it('gives the named frequencies their fixed intervals', () => {
    const expected = { hourly: 3600, daily: 86400, weekly: 604800, monthly: 2592000 };
    for (const [name, seconds] of Object.entries(expected)) {
      const r = parseFrequency(name);
      assert.ok(r.ok);
      assert.equal(r.value.kind, 'named');
      assert.equal(nominalIntervalSeconds(r.value), seconds);
    }
  });
  it('gives manual no interval', () => {
    const r = parseFrequency('manual');
    assert.ok(r.ok);
    assert.equal(nominalIntervalSeconds(r.value), undefined);
  });
  it('uses the longest gap of a calendar expression, so weekends are not stale', () => {
    const r = parseFrequency('Mon..Fri 02:00');
    assert.ok(r.ok);
    assert.equal(r.value.kind, 'calendar');
    assert.equal(nominalIntervalSeconds(r.value), 3 * DAY);
    assert.equal(r.value.kind === 'calendar' ? r.value.onCalendar : '', 'Mon..Fri 02:00');
  });
  it('suggests the named frequency a typo was meant to be', () => {
    const r = parseFrequency('dialy');
    assert.ok(!r.ok);
    assert.equal(r.reason, 'unknown frequency "dialy"');
    assert.equal(r.hint, 'did you mean "daily"?');
  });
  it('explains an unparsable expression and lists what is accepted', () => {
    const r = parseFrequency('every day');
    assert.ok(!r.ok);
    assert.match(r.reason, /^"every day" is not a calendar expression: "every" is not a weekday$/);
    assert.match(r.hint ?? '', /hourly, daily, weekly, monthly, manual/);
  });
});

describe('parseDuration', () => {
  const cases: readonly (readonly [string, number, number, number, number, number])[] = [
    // text, years, months, days, hours, seconds
    ['36h', 0, 0, 0, 36, 36 * HOUR],
    ['7d', 0, 0, 7, 0, 7 * DAY],
    ['2w', 0, 0, 14, 0, 14 * DAY],
    ['1y6m', 1, 6, 0, 0, (365 + 180) * DAY],
    ['1y2m3w4d5h', 1, 2, 25, 5, (365 + 60 + 25) * DAY + 5 * HOUR],
  ];
  for (const [text, years, months, days, hours, seconds] of cases) {
    it(`reads ${text}`, () => {
      const r = parseDuration(text);
      assert.ok(r.ok);
      assert.deepEqual(r.value, { text, years, months, days, hours, seconds });
    });
  }
  for (const text of ['7 days', '', 'd', '1.5d', '-1d', '30s']) {
    it(`refuses "${text}"`, () => {
      const r = parseDuration(text);
      assert.ok(!r.ok);
      assert.match(r.hint ?? '', /36h, 7d, 2w, 6m, 1y6m/);
    });
  }
  it('asks for the largest unit first', () => {
    const r = parseDuration('6m1y');
    assert.ok(!r.ok);
    assert.match(r.hint ?? '', /largest first/);
  });
  it('refuses zero', () => {
    const r = parseDuration('0d');
    assert.ok(!r.ok);
    assert.match(r.reason, /zero/);
  });
});
