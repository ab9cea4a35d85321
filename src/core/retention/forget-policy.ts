/**
 * The forget policy: restic 0.14's `ExpirePolicy` (internal/restic/snapshot_policy.go) with its
 * `--keep-*` options. Counts of 0 (or absent) mean "rule not set". A keep-within duration is
 * either restic's calendar duration (years, months, days, hours, applied with Go's `AddDate`)
 * or a plain number of seconds.
 *
 * Validation is stricter than restic 0.14 in one place: negative counts are refused. restic
 * 0.14 treats `--keep-last -1` as a rule that is set (the policy is not empty) but never keeps
 * anything, so every snapshot of the group would be removed; later versions made -1 mean
 * "unlimited". Neither reading is worth the risk here.
 */
import { LifeboatError } from '../errors.ts';

/** restic's `Duration` (`1y2m3d4h`); all parts are optional and default to 0. */
export interface CalendarDuration {
  readonly years?: number;
  readonly months?: number;
  readonly days?: number;
  readonly hours?: number;
}

/** Seconds, or a calendar duration like restic's. */
export type KeepWithin = number | CalendarDuration;

export interface ForgetPolicy {
  readonly keepLast?: number;
  readonly keepHourly?: number;
  readonly keepDaily?: number;
  readonly keepWeekly?: number;
  readonly keepMonthly?: number;
  readonly keepYearly?: number;
  /** Keep every snapshot newer than (newest snapshot of the group − this). */
  readonly keepWithin?: KeepWithin | undefined;
  readonly keepWithinHourly?: KeepWithin | undefined;
  readonly keepWithinDaily?: KeepWithin | undefined;
  readonly keepWithinWeekly?: KeepWithin | undefined;
  readonly keepWithinMonthly?: KeepWithin | undefined;
  readonly keepWithinYearly?: KeepWithin | undefined;
  /**
   * Keep snapshots carrying all tags of any one entry. An entry is restic's `--keep-tag` value:
   * tags separated by commas, blanks around each trimmed ("a,b" keeps snapshots tagged a and b).
   */
  readonly keepTags?: readonly string[];
}

const COUNTS = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;
export const WITHIN_RULES = ['keepWithin', 'keepWithinHourly', 'keepWithinDaily', 'keepWithinWeekly', 'keepWithinMonthly', 'keepWithinYearly'] as const;

/** restic's `TagList` parsing of one `--keep-tag` value. */
export function splitTagList(s: string): string[] {
  return s.split(',').map((t) => t.trim());
}

export function isZeroDuration(d: KeepWithin | undefined): boolean {
  if (d === undefined) return true;
  if (typeof d === 'number') return d === 0;
  return !d.years && !d.months && !d.days && !d.hours;
}

/** restic's `Duration.String()` (`1y2m3d4h`, zero parts left out); seconds as e.g. `36h` or `90s`. */
export function formatDuration(d: KeepWithin): string {
  if (typeof d === 'number') {
    if (d % 86_400 === 0) return `${d / 86_400}d`;
    if (d % 3600 === 0) return `${d / 3600}h`;
    return `${d}s`;
  }
  let s = '';
  if (d.years) s += `${d.years}y`;
  if (d.months) s += `${d.months}m`;
  if (d.days) s += `${d.days}d`;
  if (d.hours) s += `${d.hours}h`;
  return s;
}

/** restic's `ExpirePolicy.Empty()`: no count, no duration and no tag rule set. */
export function isEmptyPolicy(p: ForgetPolicy): boolean {
  if ((p.keepTags ?? []).length > 0) return false;
  return COUNTS.every((k) => !p[k]) && WITHIN_RULES.every((k) => isZeroDuration(p[k]));
}

/** Throws USAGE listing every invalid field (not only the first). */
export function validatePolicy(p: ForgetPolicy): void {
  const problems: string[] = [];
  for (const k of COUNTS) {
    const v = p[k];
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) problems.push(`${k} must be a whole number >= 0, got ${String(v)}`);
  }
  for (const k of WITHIN_RULES) {
    const d = p[k];
    if (d === undefined) continue;
    if (typeof d === 'number') {
      if (!(Number.isFinite(d) && d >= 0)) problems.push(`${k} must be a number of seconds >= 0, got ${String(d)}`);
      continue;
    }
    for (const part of ['years', 'months', 'days', 'hours'] as const) {
      const v = d[part];
      if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) problems.push(`${k}.${part} must be a whole number >= 0, got ${String(v)}`);
    }
  }
  for (const t of p.keepTags ?? []) {
    if (typeof t !== 'string') problems.push(`keepTags must hold strings, got ${JSON.stringify(t)}`);
  }
  if (problems.length > 0) throw new LifeboatError('USAGE', `Cannot apply forget policy: ${problems.join('; ')}`);
}

/** restic's `ExpirePolicy.String()`: "keep 2 latest, 7 daily snapshots and all snapshots within 1m of the newest". */
export function describePolicy(p: ForgetPolicy): string {
  const keeps: string[] = [];
  if (p.keepLast) keeps.push(`${p.keepLast} latest`);
  if (p.keepHourly) keeps.push(`${p.keepHourly} hourly`);
  if (p.keepDaily) keeps.push(`${p.keepDaily} daily`);
  if (p.keepWeekly) keeps.push(`${p.keepWeekly} weekly`);
  if (p.keepMonthly) keeps.push(`${p.keepMonthly} monthly`);
  if (p.keepYearly) keeps.push(`${p.keepYearly} yearly`);
  const keepw: string[] = [];
  const within: [KeepWithin | undefined, string][] = [
    [p.keepWithinHourly, 'hourly'],
    [p.keepWithinDaily, 'daily'],
    [p.keepWithinWeekly, 'weekly'],
    [p.keepWithinMonthly, 'monthly'],
    [p.keepWithinYearly, 'yearly'],
  ];
  for (const [d, what] of within) if (d !== undefined && !isZeroDuration(d)) keepw.push(`${what} snapshots within ${formatDuration(d)}`);
  let s = keeps.length > 0 ? `${keeps.join(', ')} snapshots` : '';
  if (keepw.length > 0) s += (s ? ', ' : '') + keepw.join(', ');
  const tags = p.keepTags ?? [];
  if (tags.length > 0) s += (s ? ' and ' : '') + `all snapshots with tags [${tags.map((t) => `[${splitTagList(t).join(', ')}]`).join(' ')}]`;
  if (p.keepWithin !== undefined && !isZeroDuration(p.keepWithin)) s += (s ? ' and ' : '') + `all snapshots within ${formatDuration(p.keepWithin)} of the newest`;
  return 'keep ' + s;
}
