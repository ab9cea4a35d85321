/**
 * The forget plan as lines a person reads (the `--dry-run` output): per group a header, then
 * one line per snapshot, newest first, "keep 1a2b3c4d 2026-01-05 10:00:00 (daily snapshot, last
 * snapshot)" or "remove 5e6f7a8b 2026-01-04 10:00:00 (no rule keeps it ...)". Times are shown
 * on the snapshot's own wall clock, the clock the policy's buckets use.
 */
import { parseRfc3339Nano, toUnixNs } from '../format/go-time.ts';
import { wallClock } from './wall-clock.ts';
import type { ForgetGroup, ForgetPlan } from './plan-forget.ts';

const pad = (n: number): string => String(n).padStart(2, '0');

function showTime(time: string): string {
  try {
    const w = wallClock(parseRfc3339Nano(time));
    const s = w.secOfDay;
    return `${w.year}-${pad(w.month)}-${pad(w.day)} ${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
  } catch {
    return time;
  }
}

function instant(time: string): bigint {
  try {
    return toUnixNs(parseRfc3339Nano(time));
  } catch {
    return 0n;
  }
}

function groupTitle(g: ForgetGroup): string {
  const parts: string[] = [];
  if (g.hostname !== undefined) parts.push(`host ${JSON.stringify(g.hostname)}`);
  if (g.paths !== undefined) parts.push(`paths [${g.paths.join(', ')}]`);
  if (g.tags !== undefined) parts.push(`tags [${g.tags.join(', ')}]`);
  return parts.length > 0 ? parts.join(', ') : 'all snapshots';
}

export function formatPlan(plan: ForgetPlan): string[] {
  const lines: string[] = [`Applying policy: ${plan.policy}`];
  for (const g of plan.groups) {
    lines.push('', `snapshots of ${groupTitle(g)}: keep ${g.keep.length}, remove ${g.remove.length}`);
    const rows = [
      ...g.keep.map((k) => ({ t: instant(k.time), line: `keep   ${k.id.slice(0, 8)} ${showTime(k.time)} (${k.reasons.join(', ')})` })),
      ...g.remove.map((r) => ({ t: instant(r.time), line: `remove ${r.id.slice(0, 8)} ${showTime(r.time)} (${r.reason})` })),
    ];
    // keep and remove are each newest first; merge them back into one timeline.
    rows.sort((a, b) => (a.t === b.t ? 0 : a.t < b.t ? 1 : -1));
    for (const r of rows) lines.push(r.line);
  }
  lines.push('', `${plan.remove.length} snapshot${plan.remove.length === 1 ? '' : 's'} would be removed`);
  return lines;
}
