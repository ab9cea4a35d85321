/**
 * planForget: which snapshots a forget policy keeps and which it removes, with restic 0.14's
 * semantics (cmd/restic/cmd_forget.go, internal/restic/snapshot_group.go and
 * snapshot_policy.go `ApplyPolicy`), plus our own protection rule on top.
 *
 * Algorithm, per group (by default snapshots sharing host and paths):
 *   1. sort newest first;
 *   2. walk the list once; a snapshot is kept when
 *      - it carries every tag of some keep-tag list,
 *      - it is strictly newer than (newest snapshot − keep-within), where "newest" ignores
 *        snapshots later than `now`,
 *      - for keep-last/hourly/daily/weekly/monthly/yearly: its bucket (the snapshot itself, or
 *        its y/m/d/h, y/m/d, ISO year+week, y/m or y on the snapshot's own wall clock) differs
 *        from the bucket of the previously counted snapshot and that rule has count left; a
 *        counted snapshot uses up one,
 *      - for keep-within-<period>: it is within the duration and opens a new bucket (no count);
 *   3. every other snapshot is removed, unless `protect(id)` names a reason to keep it.
 * An empty policy is refused (restic removes nothing then; a caller asking to forget with no
 * rule has made a mistake). Ties in time are broken by id, where restic's order is unspecified.
 *
 * One corner differs: keep-within subtracts years/months/days on the newest snapshot's wall
 * clock at its own fixed offset. Go does the same unless that offset happens to be the local
 * zone's offset of the machine running restic, in which case Go applies the local DST rules, so
 * a cutoff that crosses a DST change can differ by the DST shift (an hour).
 */
import { LifeboatError } from '../errors.ts';
import type { SnapshotId } from '../ids.ts';
import { compareTime, parseRfc3339Nano, type GoTime } from '../format/go-time.ts';
import { goJsonString } from '../format/go-json.ts';
import type { Snapshot } from '../format/snapshot.ts';
import { addDate, addSeconds, isoWeek, wallClock, type WallClock } from './wall-clock.ts';
import { describePolicy, formatDuration, isEmptyPolicy, isZeroDuration, splitTagList, validatePolicy, type ForgetPolicy, type KeepWithin } from './forget-policy.ts';

export interface ForgetCandidate {
  readonly id: SnapshotId | string;
  readonly snapshot: Pick<Snapshot, 'time' | 'timeValue' | 'hostname' | 'paths' | 'tags'>;
}

export interface PlanForgetOptions {
  /** Snapshots later than this are ignored when finding the newest one for keep-within. */
  readonly now: Date;
  /** A reason to keep a snapshot whatever the policy says (e.g. the newest verified one of a cell). */
  readonly protect?: (id: string) => string | undefined;
  /** restic's --group-by: any of host, paths, tags separated by commas; '' for one group. Default 'host,paths'. */
  readonly groupBy?: string;
}

export interface KeptSnapshot {
  readonly id: string;
  readonly time: string;
  readonly reasons: readonly string[];
}

export interface RemovedSnapshot {
  readonly id: string;
  readonly time: string;
  readonly reason: string;
}

export interface ForgetGroup {
  /** restic's group key: the JSON of {hostname, paths, tags} as restic marshals it. */
  readonly key: string;
  readonly hostname: string | undefined;
  readonly paths: readonly string[] | undefined;
  readonly tags: readonly string[] | undefined;
  /** Newest first, as restic lists them. */
  readonly keep: readonly KeptSnapshot[];
  readonly remove: readonly RemovedSnapshot[];
}

export interface ForgetPlan {
  /** restic's wording of the policy ("keep 3 daily snapshots"). */
  readonly policy: string;
  /** Sorted by key. */
  readonly groups: readonly ForgetGroup[];
  /** Every snapshot to remove, over all groups. */
  readonly remove: readonly string[];
}

interface Item {
  readonly id: string;
  readonly time: string;
  readonly t: GoTime;
  readonly wall: WallClock;
  readonly tags: readonly string[];
}

type Bucker = (w: WallClock, nr: number) => number;
const always: Bucker = (_w, nr) => nr;
const ymdh: Bucker = (w) => w.year * 1_000_000 + w.month * 10_000 + w.day * 100 + w.hour;
const ymd: Bucker = (w) => w.year * 10_000 + w.month * 100 + w.day;
const yw: Bucker = (w) => {
  const [y, wk] = isoWeek(w);
  return y * 100 + wk;
};
const ym: Bucker = (w) => w.year * 100 + w.month;
const y: Bucker = (w) => w.year;

/** Bytewise order of UTF-8 strings, as Go's sort.Strings. */
function goLess(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function parseGroupBy(groupBy: string): { host: boolean; paths: boolean; tags: boolean } {
  const g = { host: false, paths: false, tags: false };
  for (const opt of groupBy.split(',')) {
    if (opt === 'host' || opt === 'hosts') g.host = true;
    else if (opt === 'path' || opt === 'paths') g.paths = true;
    else if (opt === 'tag' || opt === 'tags') g.tags = true;
    else if (opt !== '') throw new LifeboatError('USAGE', `Cannot group snapshots: unknown grouping option ${JSON.stringify(opt)}`, { hint: 'use host, paths and/or tags, separated by commas' });
  }
  return g;
}

const jsonList = (l: readonly string[] | undefined): string => (l === undefined ? 'null' : '[' + l.map(goJsonString).join(',') + ']');

/** restic's `HasTags`: every tag of the list is present; an empty tag matches an untagged snapshot. */
function hasTags(snTags: readonly string[], list: readonly string[]): boolean {
  for (const tag of list) {
    if (tag === '' && snTags.length === 0) return true;
    if (!snTags.includes(tag)) return false;
  }
  return true;
}

function cutoff(latest: GoTime, d: KeepWithin): GoTime {
  if (typeof d === 'number') return addSeconds(latest, -d);
  return addSeconds(addDate(latest, -(d.years ?? 0), -(d.months ?? 0), -(d.days ?? 0)), -(d.hours ?? 0) * 3600);
}

/** Go's zero time, the start value of restic's findLatestTimestamp. */
const ZERO: GoTime = { sec: -62_135_596_800n, nsec: 0, offsetMin: 0 };

export function planForget(snapshots: readonly ForgetCandidate[], policy: ForgetPolicy, opts: PlanForgetOptions): ForgetPlan {
  validatePolicy(policy);
  if (isEmptyPolicy(policy)) {
    throw new LifeboatError('USAGE', 'Cannot plan forget: the policy is empty, so it would keep every snapshot', {
      hint: 'set at least one keep rule (keep_last, keep_daily, keep_within, ...)',
    });
  }
  const by = parseGroupBy(opts.groupBy ?? 'host,paths');
  const nowT: GoTime = { sec: BigInt(Math.floor(opts.now.getTime() / 1000)), nsec: (opts.now.getTime() % 1000) * 1e6, offsetMin: 0 };
  const tagLists = (policy.keepTags ?? []).map(splitTagList);

  const groups = new Map<string, { hostname: string | undefined; paths: string[] | undefined; tags: string[] | undefined; items: Item[] }>();
  // Sorting by id first makes the later stable time sort deterministic for equal times.
  const sorted = [...snapshots].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const { id, snapshot: sn } of sorted) {
    const t = sn.timeValue ?? parseRfc3339Nano(sn.time);
    const hostname = by.host ? (sn.hostname ?? '') : undefined;
    const paths = by.paths ? [...sn.paths].sort(goLess) : undefined;
    const tags = by.tags && sn.tags !== undefined && sn.tags.length > 0 ? [...sn.tags].sort(goLess) : undefined;
    const key = `{"hostname":${goJsonString(hostname ?? '')},"paths":${jsonList(paths)},"tags":${jsonList(tags)}}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { hostname, paths, tags, items: [] }));
    g.items.push({ id, time: sn.time, t, wall: wallClock(t), tags: sn.tags ?? [] });
  }

  const description = describePolicy(policy);
  const out: ForgetGroup[] = [];
  const removeAll: string[] = [];
  for (const key of [...groups.keys()].sort()) {
    const g = groups.get(key)!;
    const list = g.items.sort((a, b) => compareTime(b.t, a.t));
    const { keep, remove } = applyPolicy(list, policy, tagLists, nowT, description, opts.protect);
    for (const r of remove) removeAll.push(r.id);
    out.push({ key, hostname: g.hostname, paths: g.paths, tags: g.tags, keep, remove });
  }
  return { policy: description, groups: out, remove: removeAll };
}

/** restic's ApplyPolicy over one group, newest first. */
function applyPolicy(
  list: readonly Item[],
  p: ForgetPolicy,
  tagLists: readonly string[][],
  now: GoTime,
  description: string,
  protect: ((id: string) => string | undefined) | undefined,
): { keep: KeptSnapshot[]; remove: RemovedSnapshot[] } {
  const buckets: { count: number; bucker: Bucker; last: number; reason: string }[] = [
    { count: p.keepLast ?? 0, bucker: always, last: -1, reason: 'last snapshot' },
    { count: p.keepHourly ?? 0, bucker: ymdh, last: -1, reason: 'hourly snapshot' },
    { count: p.keepDaily ?? 0, bucker: ymd, last: -1, reason: 'daily snapshot' },
    { count: p.keepWeekly ?? 0, bucker: yw, last: -1, reason: 'weekly snapshot' },
    { count: p.keepMonthly ?? 0, bucker: ym, last: -1, reason: 'monthly snapshot' },
    { count: p.keepYearly ?? 0, bucker: y, last: -1, reason: 'yearly snapshot' },
  ];
  const within: { d: KeepWithin | undefined; bucker: Bucker; last: number; reason: string }[] = [
    { d: p.keepWithinHourly, bucker: ymdh, last: -1, reason: 'hourly within' },
    { d: p.keepWithinDaily, bucker: ymd, last: -1, reason: 'daily within' },
    { d: p.keepWithinWeekly, bucker: yw, last: -1, reason: 'weekly within' },
    { d: p.keepWithinMonthly, bucker: ym, last: -1, reason: 'monthly within' },
    { d: p.keepWithinYearly, bucker: y, last: -1, reason: 'yearly within' },
  ];

  // The newest snapshot that is not in the future; Go's zero time if there is none.
  let latest = ZERO;
  for (const it of list) if (compareTime(it.t, latest) > 0 && compareTime(it.t, now) < 0) latest = it.t;

  const keep: KeptSnapshot[] = [];
  const remove: RemovedSnapshot[] = [];
  list.forEach((cur, nr) => {
    const reasons: string[] = [];
    for (const l of tagLists) if (hasTags(cur.tags, l)) reasons.push(`has tags [${l.join(', ')}]`);
    if (p.keepWithin !== undefined && !isZeroDuration(p.keepWithin)) {
      if (compareTime(cur.t, cutoff(latest, p.keepWithin)) > 0) reasons.push(`within ${formatDuration(p.keepWithin)}`);
    }
    for (const b of buckets) {
      if (b.count > 0) {
        const val = b.bucker(cur.wall, nr);
        if (val !== b.last) {
          b.last = val;
          b.count--;
          reasons.push(b.reason);
        }
      }
    }
    for (const b of within) {
      if (b.d === undefined || isZeroDuration(b.d)) continue;
      if (compareTime(cur.t, cutoff(latest, b.d)) > 0) {
        const val = b.bucker(cur.wall, nr);
        if (val !== b.last) {
          b.last = val;
          reasons.push(`${b.reason} ${formatDuration(b.d)}`);
        }
      }
    }
    const protectedBy = protect?.(cur.id);
    if (protectedBy !== undefined) reasons.push(protectedBy);
    if (reasons.length > 0) keep.push({ id: cur.id, time: cur.time, reasons });
    else remove.push({ id: cur.id, time: cur.time, reason: `no rule keeps it (${description})` });
  });
  return { keep, remove };
}
