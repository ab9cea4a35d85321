/**
 * Calendar arithmetic on a snapshot's own wall clock, as Go's `time.Time` does it for restic's
 * forget policy (internal/restic/snapshot_policy.go): a snapshot time parsed from JSON keeps the
 * zone offset it was written with, so `Year()`, `Month()`, `Day()`, `Hour()` and `ISOWeek()` are
 * the clock on the wall of the machine that made the snapshot, not of the one running forget.
 *
 * Dates use the proleptic Gregorian calendar with days counted from 1970-01-01, so years before
 * 1 (the zero time minus a keep-within duration) work as in Go.
 */
import { civilFromDays, daysFromCivil, type GoTime } from '../format/go-time.ts';

export { civilFromDays, daysFromCivil };

const DAY = 86_400;

export interface WallClock {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  /** Days since 1970-01-01 of the wall date. */
  readonly days: number;
  /** Seconds since the wall date's midnight. */
  readonly secOfDay: number;
}

export function wallClock(t: GoTime): WallClock {
  const local = Number(t.sec) + t.offsetMin * 60;
  const days = Math.floor(local / DAY);
  const secOfDay = local - days * DAY;
  const [year, month, day] = civilFromDays(days);
  return { year, month, day, hour: Math.floor(secOfDay / 3600), days, secOfDay };
}

/** Go's `ISOWeek`: the ISO 8601 year and week (1..53) of the wall date. */
export function isoWeek(w: WallClock): [year: number, week: number] {
  // ISO weekday 1 (Monday) .. 7; 1970-01-01 was a Thursday.
  const weekday = ((((w.days + 3) % 7) + 7) % 7) + 1;
  // The Thursday of this week decides the ISO year.
  const thursday = w.days + (4 - weekday);
  const [isoYear] = civilFromDays(thursday);
  const week = Math.floor((thursday - daysFromCivil(isoYear, 1, 1)) / 7) + 1;
  return [isoYear, week];
}

/**
 * Go's `t.AddDate(years, months, days)` for a time in a fixed zone: the wall date moves (with
 * roll-over: Mar 31 minus one month is Mar 3), the wall clock and the offset stay.
 */
export function addDate(t: GoTime, years: number, months: number, days: number): GoTime {
  const w = wallClock(t);
  const newDays = daysFromCivil(w.year + years, w.month + months, w.day + days);
  const local = newDays * DAY + w.secOfDay;
  return { sec: BigInt(local - t.offsetMin * 60), nsec: t.nsec, offsetMin: t.offsetMin };
}

/** `t` moved by a number of seconds (negative: earlier). */
export function addSeconds(t: GoTime, seconds: number): GoTime {
  const whole = Math.floor(seconds);
  let nsec = t.nsec + Math.round((seconds - whole) * 1e9);
  let sec = t.sec + BigInt(whole);
  if (nsec >= 1e9) {
    nsec -= 1e9;
    sec += 1n;
  }
  return { sec, nsec, offsetMin: t.offsetMin };
}
