/**
 * Go `time.Time` as restic serialises it (restic-format.md §6.2, §6.5): RFC3339 with 0 to 9
 * fractional digits (trailing zeros trimmed, no dot for whole seconds), `Z` when the zone
 * offset is zero, otherwise `±hh:mm`. restic writes file times in the local zone.
 *
 * JS `Date` keeps milliseconds only, so a `GoTime` is Unix seconds (bigint, may be negative)
 * plus nanoseconds plus the zone offset in minutes. Go's zero time `0001-01-01T00:00:00Z` is an
 * ordinary value here and round-trips. Calendar maths uses the proleptic Gregorian calendar,
 * like Go, via days-from-civil conversions.
 */
import { malformedError } from '../errors.ts';

export interface GoTime {
  /** Seconds since 1970-01-01T00:00:00Z. */
  readonly sec: bigint;
  /** 0 .. 999_999_999. */
  readonly nsec: number;
  /** Zone offset east of UTC, in minutes (Go keeps seconds; RFC3339 carries minutes only). */
  readonly offsetMin: number;
}

const SECONDS_PER_DAY = 86_400;

/** Go's zero `time.Time`, written `"0001-01-01T00:00:00Z"`. */
export const ZERO_TIME: GoTime = Object.freeze({ sec: -62_135_596_800n, nsec: 0, offsetMin: 0 });

export function isZeroTime(t: GoTime): boolean {
  return t.sec === ZERO_TIME.sec && t.nsec === 0;
}

/** Days since 1970-01-01 of a proleptic Gregorian date; out-of-range days roll over like Go. */
/** Days since 1970-01-01 of y-m-d; a day or month outside its range rolls over (Go's `Date`). */
export function daysFromCivil(y: number, m: number, d: number): number {
  // Normalise the month first, as Go's Date does, then add the days linearly.
  const m0 = m - 1;
  const yy0 = y + Math.floor(m0 / 12);
  const mm = (((m0 % 12) + 12) % 12) + 1;
  const yy = mm <= 2 ? yy0 - 1 : yy0;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (mm > 2 ? mm - 3 : mm + 9) + 2) / 5);
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468 + (d - 1);
}

export function civilFromDays(days: number): [year: number, month: number, day: number] {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d];
}

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

function daysIn(y: number, m: number): number {
  return m === 2 ? (isLeap(y) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
}

const MAX_SAFE_SEC = 2n ** 52n;

/** Local wall clock of `t`: [days since epoch, seconds into the day]. */
function wallClock(t: GoTime): [number, number] {
  if (t.sec > MAX_SAFE_SEC || t.sec < -MAX_SAFE_SEC) throw malformedError(`invalid time: ${t.sec} seconds is out of range`);
  const local = Number(t.sec) + t.offsetMin * 60;
  const days = Math.floor(local / SECONDS_PER_DAY);
  return [days, local - days * SECONDS_PER_DAY];
}

/** The calendar year of `t` in its own zone (Go's `t.Year()`). */
export function goYear(t: GoTime): number {
  return civilFromDays(wallClock(t)[0])[0];
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * `t.Format(time.RFC3339Nano)`. Throws MALFORMED for years outside 0..9999, which Go's
 * `MarshalJSON` refuses too (restic clamps them first; see `fixTimeYear`).
 */
export function formatRfc3339Nano(t: GoTime): string {
  const [days, secOfDay] = wallClock(t);
  const [y, m, d] = civilFromDays(days);
  if (y < 0 || y > 9999) throw malformedError(`invalid time: year ${y} is outside 0..9999`);
  let s = `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T${pad(Math.floor(secOfDay / 3600), 2)}:${pad(Math.floor(secOfDay / 60) % 60, 2)}:${pad(secOfDay % 60, 2)}`;
  if (t.nsec !== 0) s += '.' + pad(t.nsec, 9).replace(/0+$/, '');
  if (t.offsetMin === 0) return s + 'Z';
  const abs = Math.abs(t.offsetMin);
  return `${s}${t.offsetMin < 0 ? '-' : '+'}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parses an RFC3339 time the way go1.19's `time.Time.UnmarshalJSON` does, keeping nanoseconds
 * and the zone offset. Like Go it accepts `,` as the decimal mark and truncates digits beyond
 * the ninth. It is stricter than go1.19 in two corners: the hour needs two digits and the
 * offset must be a real one (hours < 24, minutes < 60).
 */
export function parseRfc3339Nano(s: string): GoTime {
  const m = RFC3339.exec(s);
  const bad = (why: string): never => {
    throw malformedError(`invalid time ${JSON.stringify(s.slice(0, 60))}: ${why}`);
  };
  if (!m) return bad('not RFC3339');
  const [y, mo, d, h, mi, se] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12) bad('month out of range');
  if (d < 1 || d > daysIn(y, mo)) bad('day out of range');
  if (h > 23) bad('hour out of range');
  if (mi > 59) bad('minute out of range');
  if (se > 59) bad('second out of range');
  let offsetMin = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) bad('zone offset out of range');
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
    if (offsetMin === 0) offsetMin = 0; // no -0
  }
  const nsec = m[7] === undefined ? 0 : Number(m[7].slice(0, 9).padEnd(9, '0'));
  const local = daysFromCivil(y, mo, d) * SECONDS_PER_DAY + h * 3600 + mi * 60 + se;
  return { sec: BigInt(local - offsetMin * 60), nsec, offsetMin };
}

const NS_PER_SEC = 1_000_000_000n;

/** Nanoseconds since the epoch of `t`. */
export function toUnixNs(t: GoTime): bigint {
  return t.sec * NS_PER_SEC + BigInt(t.nsec);
}

/**
 * The local zone's offset, in minutes east of UTC, at the instant `sec` (restic stores file
 * times in local time, like Go's `time.Unix`). Outside the range of JS `Date` it is 0.
 */
export function localOffsetMinutes(sec: bigint): number {
  if (sec > 8_640_000_000_000n || sec < -8_640_000_000_000n) return 0;
  const off = -new Date(Number(sec) * 1000).getTimezoneOffset();
  return Number.isFinite(off) && off !== 0 ? Math.trunc(off) : 0;
}

/**
 * A time from nanoseconds since the epoch, such as `fs.lstat(p, { bigint: true }).mtimeNs`.
 * `offsetMin` defaults to the local zone's offset at that instant.
 */
export function fromStatNs(ns: bigint, offsetMin?: number): GoTime {
  let sec = ns / NS_PER_SEC;
  let rem = ns % NS_PER_SEC;
  if (rem < 0n) {
    rem += NS_PER_SEC;
    sec -= 1n;
  }
  return { sec, nsec: Number(rem), offsetMin: offsetMin ?? localOffsetMinutes(sec) };
}

/** The same instant shown with another zone offset. */
export function withOffset(t: GoTime, offsetMin: number): GoTime {
  return { sec: t.sec, nsec: t.nsec, offsetMin };
}

/**
 * restic's `FixTime`: a year below 0 becomes 0 and a year above 9999 becomes 9999, keeping
 * month, day and clock (Feb 29 rolls to Mar 1 as Go's `AddDate` does). Unlike Go it keeps the
 * original zone offset rather than recomputing the local one for the new date.
 */
export function fixTimeYear(t: GoTime): GoTime {
  const [days, secOfDay] = wallClock(t);
  const [y, m, d] = civilFromDays(days);
  if (y >= 0 && y <= 9999) return t;
  const local = daysFromCivil(y < 0 ? 0 : 9999, m, d) * SECONDS_PER_DAY + secOfDay;
  return { sec: BigInt(local - t.offsetMin * 60), nsec: t.nsec, offsetMin: t.offsetMin };
}

/** Orders two times by instant (-1, 0, 1), ignoring their zones. */
export function compareTime(a: GoTime, b: GoTime): number {
  if (a.sec !== b.sec) return a.sec < b.sec ? -1 : 1;
  return a.nsec === b.nsec ? 0 : a.nsec < b.nsec ? -1 : 1;
}
