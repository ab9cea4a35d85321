/**
 * Pre-restore safety snapshots: what an in-place restore was about to overwrite, saved first so
 * the restore itself can be undone.
 *
 * They are tagged `pre-restore` and `pre-restore-of:<source>`, and never `source:<source>`: a
 * source's tag is what `restic snapshots --tag source:S`, `restic restore latest --tag source:S`
 * and lifeboat's own "latest" select, and a safety snapshot holds the state the operator was
 * restoring away from, so it must never be the way back. Older lifeboat tagged them
 * `source:<source>,pre-restore`; `pre-restore` alone marks one, so those count as safety
 * snapshots too (they still match restic's `--tag source:S`, which only a re-tag could change).
 *
 * Retention never counts one as a daily/weekly/monthly copy; it keeps each for
 * SAFETY_KEEP_DAYS after it was taken (a fixed period, not a config setting: long enough to
 * notice a wrong restore, short enough that the copy of a broken state goes by itself), after
 * which `forget` drops it and says so.
 */
import type { Snapshot } from '../../core/format/snapshot.ts';
import { sourceTag } from '../jobs/cell-context.ts';

export const PRE_RESTORE_TAG = 'pre-restore';
const OF_PREFIX = 'pre-restore-of:';
/** How long `forget` keeps a safety snapshot, counted from the time it was taken. */
export const SAFETY_KEEP_DAYS = 30;

type Tagged = Pick<Snapshot, 'tags'>;

/** The tags of a new safety snapshot of `source`. */
export function safetyTags(source: { readonly name: string }): string[] {
  return [PRE_RESTORE_TAG, OF_PREFIX + source.name];
}

export function isSafetySnapshot(s: Tagged): boolean {
  return s.tags?.includes(PRE_RESTORE_TAG) ?? false;
}

/** The source a safety snapshot was taken for (new or old tagging), or undefined for any other snapshot. */
export function safetySourceOf(s: Tagged): string | undefined {
  if (!isSafetySnapshot(s)) return undefined;
  const of = s.tags?.find((t) => t.startsWith(OF_PREFIX));
  if (of) return of.slice(OF_PREFIX.length);
  const old = sourceTag({ name: '' });
  return s.tags?.find((t) => t.startsWith(old))?.slice(old.length);
}

/** When retention may drop the safety snapshot. */
export function safetyExpiry(s: Pick<Snapshot, 'time'>): Date {
  return new Date(Date.parse(s.time) + SAFETY_KEEP_DAYS * 86_400_000);
}

/** Is `s` one of `source`'s backups (its tag, and not a safety snapshot)? */
export function isBackupOf(source: { readonly name: string }, s: Tagged): boolean {
  return (s.tags?.includes(sourceTag(source)) ?? false) && !isSafetySnapshot(s);
}
