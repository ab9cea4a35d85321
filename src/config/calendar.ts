/**
 * When a source runs and how long things last: `frequency` values (named, `manual`, or a
 * systemd OnCalendar expression) and durations (`keep_within`, `stale_after`).
 *
 * OnCalendar: the common forms of systemd.time(7) are parsed, not all of them:
 * `[weekdays] [[year-]month-day] [hour:minute[:second]] [timezone]` plus the shorthands
 * (minutely, hourly, daily, weekly, monthly, quarterly, semiannually, yearly, annually). Each
 * date/time component is `*`, a value, a `a..b` range, or any of them with a `/step`, in a comma
 * list; weekdays are names (`Mon`, `monday`) in lists and `Mon..Fri` ranges. Refused as
 * unsupported rather than guessed: the `~` last-days-of-month form and fractional seconds.
 *
 * Nominal interval (what staleness checks compare the last success against):
 * - hourly 3600, daily 86400, weekly 604800, monthly 2592000 (30 days); manual has none.
 * - A calendar expression: the LONGEST gap between consecutive matches, found by enumerating
 *   every matching day of a 100-year window (or the years the expression names) at second
 *   precision. The longest, not the shortest, gap, because staleness must not fire on a healthy
 *   schedule: `Mon..Fri 02:00` legitimately goes 3 days without a run over every weekend. The
 *   shortest gap is kept on the spec too. Time zones and DST shifts are ignored (an hour either
 *   way), as are leap seconds.
 *
 * Durations: `<n><unit>` parts, largest unit first, units y (365 days), m (30 days), w (7 days),
 * d, h: `36h`, `7d`, `2w`, `1y6m`. Calendar parts are kept apart (years, months, days, hours)
 * because restic's `--keep-within` counts months and years on the calendar; the seconds are an
 * approximation for staleness.
 */
import { closest } from './suggest.ts';

/** A parse result: the value, or why not and (where one helps) what to write instead. */
export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string; readonly hint: string | undefined };

export interface CalendarSpec {
  /** As written. This is what a systemd timer should get: systemd parses it itself. */
  readonly text: string;
  /** Our canonical form: weekdays (if any), date and time always spelled out. */
  readonly canonical: string;
  /** ISO weekdays 1 (Monday) .. 7 (Sunday); undefined = any. */
  readonly weekdays: readonly number[] | undefined;
  /** undefined = any year. */
  readonly years: readonly number[] | undefined;
  readonly months: readonly number[];
  readonly days: readonly number[];
  readonly hours: readonly number[];
  readonly minutes: readonly number[];
  readonly seconds: readonly number[];
  /** `UTC` or an IANA zone name, if given. */
  readonly timezone: string | undefined;
  readonly shortestGapSeconds: number;
  readonly longestGapSeconds: number;
}

export type NamedFrequency = 'hourly' | 'daily' | 'weekly' | 'monthly';

export type Frequency =
  | { readonly kind: 'manual'; readonly text: string }
  | {
      readonly kind: 'named';
      readonly text: string;
      readonly name: NamedFrequency;
      /** systemd knows the same word. */
      readonly onCalendar: NamedFrequency;
      readonly intervalSeconds: number;
    }
  | {
      readonly kind: 'calendar';
      readonly text: string;
      readonly onCalendar: string;
      readonly calendar: CalendarSpec;
      readonly intervalSeconds: number;
    };

export interface Duration {
  readonly text: string;
  readonly years: number;
  readonly months: number;
  /** Weeks are folded in (2w = 14 days). */
  readonly days: number;
  readonly hours: number;
  /** Approximate length: a year is 365 days, a month 30. */
  readonly seconds: number;
}

const HOUR = 3600;
const DAY = 86400;

export const NAMED_INTERVALS: Readonly<Record<NamedFrequency, number>> = {
  hourly: HOUR,
  daily: DAY,
  weekly: 7 * DAY,
  monthly: 30 * DAY,
};

const FREQUENCY_HINT =
  'use hourly, daily, weekly, monthly, manual, or a systemd OnCalendar expression such as "Mon *-*-* 03:00" or "*:0/15"';

/** Reads a `frequency` value. */
export function parseFrequency(text: string): Parsed<Frequency> {
  const word = text.trim().toLowerCase();
  if (word === 'manual') return { ok: true, value: { kind: 'manual', text } };
  if (word === 'hourly' || word === 'daily' || word === 'weekly' || word === 'monthly') {
    return {
      ok: true,
      value: { kind: 'named', text, name: word, onCalendar: word, intervalSeconds: NAMED_INTERVALS[word] },
    };
  }
  const calendar = parseCalendar(text);
  if (!calendar.ok) {
    if (/^[a-z]+$/.test(word)) {
      // A lone word that is no weekday: a mistyped name is likelier than a calendar expression.
      const near = closest(word, ['manual', ...Object.keys(NAMED_INTERVALS), ...Object.keys(SHORTHANDS)]);
      return { ok: false, reason: `unknown frequency "${text.trim()}"`, hint: near !== undefined ? `did you mean "${near}"?` : FREQUENCY_HINT };
    }
    return { ok: false, reason: `"${text.trim()}" is not a calendar expression: ${calendar.reason}`, hint: calendar.hint ?? FREQUENCY_HINT };
  }
  const spec = calendar.value;
  return { ok: true, value: { kind: 'calendar', text, onCalendar: text.trim(), calendar: spec, intervalSeconds: spec.longestGapSeconds } };
}

/** Seconds a healthy schedule may go between runs; undefined for `manual`. */
export function nominalIntervalSeconds(frequency: Frequency): number | undefined {
  return frequency.kind === 'manual' ? undefined : frequency.intervalSeconds;
}

// --- OnCalendar -------------------------------------------------------------------------------

const SHORTHANDS: Readonly<Record<string, string>> = {
  minutely: '*-*-* *:*:00',
  hourly: '*-*-* *:00:00',
  daily: '*-*-* 00:00:00',
  weekly: 'Mon *-*-* 00:00:00',
  monthly: '*-*-01 00:00:00',
  quarterly: '*-01,04,07,10-01 00:00:00',
  semiannually: '*-01,07-01 00:00:00',
  yearly: '*-01-01 00:00:00',
  annually: '*-01-01 00:00:00',
};

const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const DAY_FULL = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;

interface Field {
  readonly label: string;
  readonly min: number;
  readonly max: number;
  readonly width: number;
}
const YEAR: Field = { label: 'year', min: 1970, max: 2199, width: 4 };
const MONTH: Field = { label: 'month', min: 1, max: 12, width: 2 };
const DAY_OF_MONTH: Field = { label: 'day', min: 1, max: 31, width: 2 };
const HOUR_FIELD: Field = { label: 'hour', min: 0, max: 23, width: 2 };
const MINUTE: Field = { label: 'minute', min: 0, max: 59, width: 2 };
const SECOND: Field = { label: 'second', min: 0, max: 59, width: 2 };

type Step<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string; readonly hint?: string };
interface Component {
  /** undefined = `*` without a step. */
  readonly values: readonly number[] | undefined;
  readonly canonical: string;
}

/** Parses an OnCalendar expression (see the header for the forms understood). */
export function parseCalendar(text: string): Parsed<CalendarSpec> {
  const r = parseCalendarInner(text);
  return r.ok ? r : { ok: false, reason: r.reason, hint: r.hint };
}

function parseCalendarInner(text: string): Step<CalendarSpec> {
  let tokens = text.trim().split(/\s+/).filter((t) => t !== '');
  if (tokens.length === 0) return fail('the calendar expression is empty');
  let timezone: string | undefined;
  const last = tokens[tokens.length - 1] ?? '';
  if (tokens.length > 1 && looksLikeZone(last)) {
    if (!knownZone(last)) return fail(`unknown time zone "${last}"`, 'use UTC or an IANA name such as Europe/Berlin');
    timezone = last;
    tokens = tokens.slice(0, -1);
  }
  const shorthand = tokens.length === 1 ? SHORTHANDS[(tokens[0] ?? '').toLowerCase()] : undefined;
  if (shorthand !== undefined) tokens = shorthand.split(' ');

  let weekdays: number[] | undefined;
  let weekdayText = '';
  // "Wed, 17:48" is systemd-legal: a weekday list may end in a comma before the next token.
  while (tokens.length > 0 && /^[A-Za-z]/.test(tokens[0] ?? '') && (weekdayText === '' || weekdayText.endsWith(','))) {
    weekdayText += tokens[0] ?? '';
    tokens = tokens.slice(1);
  }
  if (weekdayText !== '') {
    const w = parseWeekdays(weekdayText.replace(/,$/, ''));
    if (!w.ok) return w;
    weekdays = w.value;
  }

  let dateText: string | undefined;
  let timeText: string | undefined;
  for (const token of tokens) {
    if (token.includes('~')) return fail(`"${token}": the "~" (days from the end of the month) form is not supported here`, 'list the days instead, e.g. *-*-28..31');
    if (token.includes(':')) {
      if (timeText !== undefined) return fail(`two times ("${timeText}" and "${token}")`, 'combine them in one list, e.g. 02,14:00');
      timeText = token;
    } else if (token.includes('-')) {
      if (dateText !== undefined || timeText !== undefined) return fail(`unexpected date "${token}"`, 'the order is: weekdays, date, time');
      dateText = token;
    } else {
      const hint = /^[A-Za-z]/.test(token) ? 'weekdays come first, as one list: Sat,Sun 04:00' : 'dates use "-" and times ":", e.g. *-*-* 02:00';
      return fail(`"${token}" is neither a date (Y-M-D) nor a time (H:M)`, hint);
    }
  }

  const date = parseDate(dateText ?? '*-*-*');
  if (!date.ok) return date;
  const time = parseTime(timeText ?? '00:00:00');
  if (!time.ok) return time;
  const [years, months, days] = date.value;
  const [hours, minutes, seconds] = time.value;

  const spec = {
    text,
    canonical: [
      weekdays === undefined ? undefined : canonicalWeekdays(weekdays),
      `${years.canonical}-${months.canonical}-${days.canonical}`,
      `${hours.canonical}:${minutes.canonical}:${seconds.canonical}`,
      timezone,
    ]
      .filter((p) => p !== undefined)
      .join(' '),
    weekdays,
    years: years.values,
    months: months.values ?? range(MONTH.min, MONTH.max),
    days: days.values ?? range(DAY_OF_MONTH.min, DAY_OF_MONTH.max),
    hours: hours.values ?? range(HOUR_FIELD.min, HOUR_FIELD.max),
    minutes: minutes.values ?? range(MINUTE.min, MINUTE.max),
    seconds: seconds.values ?? range(SECOND.min, SECOND.max),
    timezone,
  };
  const gaps = measureGaps(spec);
  if (gaps.matches === 0) return fail(`"${text.trim()}" never matches a date`, 'check that the day exists in the months named');
  if (gaps.matches === 1) return fail(`"${text.trim()}" matches only once`, 'a backup frequency must repeat; use manual for one-off runs');
  return { ok: true, value: { ...spec, shortestGapSeconds: gaps.shortest, longestGapSeconds: gaps.longest } };
}

function parseWeekdays(text: string): Step<number[]> {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const [a, b, extra] = item.split('..');
    const start = weekdayNumber(a ?? '');
    const end = b === undefined ? start : weekdayNumber(b);
    if (start === undefined || end === undefined || extra !== undefined) {
      const bad = start === undefined ? a : b;
      const near = bad === undefined ? undefined : closest(bad.toLowerCase(), [...DAY_NAMES, ...DAY_FULL]);
      return fail(`"${item}" is not a weekday`, near !== undefined ? `did you mean "${near}"?` : undefined);
    }
    if (end < start) return fail(`the weekday range "${item}" runs backwards`, 'write it in week order, e.g. Sat..Sun,Mon');
    for (let d = start; d <= end; d++) out.add(d);
  }
  return { ok: true, value: [...out].sort((x, y) => x - y) };
}

function weekdayNumber(name: string): number | undefined {
  const lower = name.toLowerCase();
  const short = DAY_NAMES.indexOf(lower as (typeof DAY_NAMES)[number]);
  const full = DAY_FULL.indexOf(lower as (typeof DAY_FULL)[number]);
  const index = short >= 0 ? short : full;
  return index >= 0 ? index + 1 : undefined;
}

function canonicalWeekdays(days: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < days.length; ) {
    let j = i;
    while (j + 1 < days.length && days[j + 1] === (days[j] ?? 0) + 1) j++;
    const first = DAY_NAMES[(days[i] ?? 1) - 1] ?? '';
    const lastDay = DAY_NAMES[(days[j] ?? 1) - 1] ?? '';
    const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
    if (j - i >= 2) parts.push(`${cap(first)}..${cap(lastDay)}`);
    else for (let k = i; k <= j; k++) parts.push(cap(DAY_NAMES[(days[k] ?? 1) - 1] ?? ''));
    i = j + 1;
  }
  return parts.join(',');
}

function parseDate(text: string): Step<[Component, Component, Component]> {
  const parts = text.split('-');
  if (parts.length !== 2 && parts.length !== 3) {
    return fail(`"${text}" is not a date`, 'write year-month-day or month-day, e.g. *-*-01 or 12-24');
  }
  const [y, m, d] = parts.length === 3 ? parts : ['*', ...parts];
  const year = parseComponent(y ?? '', YEAR);
  if (!year.ok) return year;
  const month = parseComponent(m ?? '', MONTH);
  if (!month.ok) return month;
  const day = parseComponent(d ?? '', DAY_OF_MONTH);
  if (!day.ok) return day;
  return { ok: true, value: [year.value, month.value, day.value] };
}

function parseTime(text: string): Step<[Component, Component, Component]> {
  const parts = text.split(':');
  if (parts.length !== 2 && parts.length !== 3) return fail(`"${text}" is not a time`, 'write hour:minute or hour:minute:second, e.g. 02:00');
  if ((parts[2] ?? '').includes('.')) return fail(`"${text}": fractional seconds are not supported here`, 'use whole seconds');
  const hour = parseComponent(parts[0] ?? '', HOUR_FIELD);
  if (!hour.ok) return hour;
  const minute = parseComponent(parts[1] ?? '', MINUTE);
  if (!minute.ok) return minute;
  const second = parseComponent(parts[2] ?? '00', SECOND);
  if (!second.ok) return second;
  return { ok: true, value: [hour.value, minute.value, second.value] };
}

const ITEM = /^(\*|\d+)(?:\.\.(\d+))?(?:\/(\d+))?$/;

function parseComponent(text: string, field: Field): Step<Component> {
  if (text === '*') return { ok: true, value: { values: undefined, canonical: '*' } };
  const values = new Set<number>();
  const canonical: string[] = [];
  for (const item of text.split(',')) {
    const m = ITEM.exec(item);
    if (m === null || (m[1] === '*' && m[2] !== undefined)) {
      return fail(`"${item}" is not a valid ${field.label}`, `use *, a number, a range like 1..5, or a repetition like */15`);
    }
    const start = m[1] === '*' ? field.min : value(m[1] ?? '', field);
    const end = m[2] !== undefined ? value(m[2], field) : m[3] !== undefined ? field.max : start;
    const step = m[3] === undefined ? 1 : Number(m[3]);
    for (const v of [start, end]) {
      if (v < field.min || v > field.max) return fail(`${field.label} ${v} is out of range`, `${field.label}s run ${field.min}..${field.max}`);
    }
    if (end < start) return fail(`the ${field.label} range "${item}" runs backwards`, undefined);
    if (step < 1) return fail(`the repetition in "${item}" must be at least 1`, undefined);
    for (let v = start; v <= end; v += step) values.add(v);
    const pad = (v: number): string => String(v).padStart(field.width, '0');
    const head = m[1] === '*' ? '*' : pad(start);
    canonical.push(head + (m[2] !== undefined ? `..${pad(end)}` : '') + (m[3] !== undefined ? `/${step}` : ''));
  }
  return { ok: true, value: { values: [...values].sort((x, y) => x - y), canonical: canonical.join(',') } };
}

/** A written value; two-digit years follow systemd (69 -> 2069, 70 -> 1970). */
function value(digits: string, field: Field): number {
  const v = Number(digits);
  if (field === YEAR && digits.length <= 2) return v < 70 ? 2000 + v : 1900 + v;
  return v;
}

function looksLikeZone(token: string): boolean {
  return /^(UTC|GMT)$/i.test(token) || /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)+$/.test(token);
}

function knownZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

interface Gaps {
  readonly matches: number;
  readonly shortest: number;
  readonly longest: number;
}

type Fields = Pick<CalendarSpec, 'weekdays' | 'years' | 'months' | 'days' | 'hours' | 'minutes' | 'seconds'>;

/** Enumerates matching days (see the header) and measures the gaps between matches. */
function measureGaps(spec: Fields): Gaps {
  const times: number[] = [];
  for (const h of spec.hours) for (const m of spec.minutes) for (const s of spec.seconds) times.push(h * HOUR + m * 60 + s);
  let shortest = Infinity;
  let longest = 0;
  for (let i = 1; i < times.length; i++) {
    const gap = (times[i] ?? 0) - (times[i - 1] ?? 0);
    shortest = Math.min(shortest, gap);
    longest = Math.max(longest, gap);
  }
  const first = times[0] ?? 0;
  const lastTime = times[times.length - 1] ?? 0;
  const fromYear = spec.years === undefined ? 2000 : Math.min(...spec.years);
  const toYear = spec.years === undefined ? 2099 : Math.max(...spec.years);
  const years = spec.years === undefined ? undefined : new Set(spec.years);
  const months = new Set(spec.months);
  const days = new Set(spec.days);
  const weekdays = spec.weekdays === undefined ? undefined : new Set(spec.weekdays);
  let matchingDays = 0;
  let previous: number | undefined;
  // Civil-date arithmetic, no Date objects: n counts days, weekday follows along (ISO 1..7).
  let n = 0;
  let weekday = ((new Date(Date.UTC(fromYear, 0, 1)).getUTCDay() + 6) % 7) + 1;
  for (let year = fromYear; year <= toYear; year++) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    for (let month = 1; month <= 12; month++) {
      const length = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
      if ((years !== undefined && !years.has(year)) || !months.has(month)) {
        n += length;
        weekday = ((weekday - 1 + length) % 7) + 1;
        continue;
      }
      for (let day = 1; day <= length; day++, n++, weekday = (weekday % 7) + 1) {
        if (!days.has(day) || (weekdays !== undefined && !weekdays.has(weekday))) continue;
        matchingDays++;
        if (previous !== undefined) {
          const gap = (n - previous) * DAY - lastTime + first;
          shortest = Math.min(shortest, gap);
          longest = Math.max(longest, gap);
        }
        previous = n;
      }
    }
  }
  return { matches: matchingDays * times.length, shortest, longest };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function fail(reason: string, hint?: string): { readonly ok: false; readonly reason: string; readonly hint: string | undefined } {
  return { ok: false, reason, hint };
}

// --- durations --------------------------------------------------------------------------------

const DURATION = /^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?$/;
const DURATION_HINT = 'write numbers with units y, m, w, d or h, largest first: 36h, 7d, 2w, 6m, 1y6m';

/** Reads a duration such as `7d`, `2w`, `1y6m`, `36h`. */
export function parseDuration(text: string): Parsed<Duration> {
  const trimmed = text.trim();
  const m = DURATION.exec(trimmed);
  if (trimmed === '' || m === null) {
    const reordered = /^(\d+[ymwdh])+$/.test(trimmed);
    return {
      ok: false,
      reason: `"${text}" is not a duration`,
      hint: reordered ? 'write each unit once, largest first, in the order y, m, w, d, h: 1y6m' : DURATION_HINT,
    };
  }
  const [years, months, weeks, days, hours] = [m[1], m[2], m[3], m[4], m[5]].map((g) => (g === undefined ? 0 : Number(g))) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const seconds = ((years * 365 + months * 30 + weeks * 7 + days) * 24 + hours) * HOUR;
  if (seconds === 0) return { ok: false, reason: `"${text}" is zero`, hint: 'a duration must be longer than zero' };
  return { ok: true, value: { text, years, months, days: weeks * 7 + days, hours, seconds } };
}
