/**
 * Retention of pre-restore safety snapshots, beside the policy and outside it: they are taken
 * out of the snapshots the policy sees (so one never counts as a daily/weekly/monthly copy, nor
 * as the last one), kept until SAFETY_KEEP_DAYS after they were taken, and dropped after that.
 * The plan says which, with the date, in the same shape as the policy's lines.
 */
import type { SnapshotId } from '../../core/ids.ts';
import type { Snapshot } from '../../core/format/snapshot.ts';
import { isSafetySnapshot, safetyExpiry, safetySourceOf, SAFETY_KEEP_DAYS } from '../restore/safety-snapshot.ts';

export interface SafetyDecision {
  readonly id: string;
  readonly time: string;
  /** The source it was taken for, when its tags say. */
  readonly source: string | undefined;
  readonly until: string;
  readonly action: 'keep' | 'remove';
}

type Listed = { readonly id: SnapshotId | string; readonly snapshot: Snapshot };

/** Splits `snaps` into what the policy decides on and the safety snapshots, decided here. */
export function planSafetyRetention<T extends Listed>(snaps: readonly T[], now: Date): { policy: T[]; safety: SafetyDecision[] } {
  const policy: T[] = [];
  const safety: SafetyDecision[] = [];
  for (const s of snaps) {
    if (!isSafetySnapshot(s.snapshot)) {
      policy.push(s);
      continue;
    }
    const until = safetyExpiry(s.snapshot);
    // An unreadable time keeps the snapshot: a safety net is not dropped on a guess.
    const expired = Number.isFinite(until.getTime()) && until.getTime() <= now.getTime();
    safety.push({ id: s.id, time: s.snapshot.time, source: safetySourceOf(s.snapshot), until: Number.isFinite(until.getTime()) ? until.toISOString() : 'unknown', action: expired ? 'remove' : 'keep' });
  }
  return { policy, safety };
}

export function formatSafetyPlan(safety: readonly SafetyDecision[]): string[] {
  if (safety.length === 0) return [];
  const kept = safety.filter((s) => s.action === 'keep').length;
  const lines = ['', `pre-restore safety snapshots (outside the policy, kept ${SAFETY_KEEP_DAYS} days): keep ${kept}, remove ${safety.length - kept}`];
  const t = (x: SafetyDecision): number => Date.parse(x.time) || 0;
  // Newest first, as the policy's lines.
  for (const s of [...safety].sort((a, b) => t(b) - t(a))) {
    const of = s.source !== undefined ? ` of ${s.source}` : '';
    const day = s.until.slice(0, 10);
    lines.push(s.action === 'keep' ? `keep   ${s.id.slice(0, 8)} ${s.time.slice(0, 19).replace('T', ' ')} (kept for safety: taken before an in-place restore${of}, until ${day})` : `remove ${s.id.slice(0, 8)} ${s.time.slice(0, 19).replace('T', ' ')} (safety snapshot${of} expired on ${day})`);
  }
  return lines;
}
