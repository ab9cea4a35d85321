/**
 * The rotating sample every drill takes, of a snapshot's files or of a mirror's: files sorted by
 * path, the next `ceil(files / rotation)` after the stored cursor, so after `rotation` drills
 * every file has been looked at once and the round starts again. Coverage is the share of files
 * looked at in the current round. The cursor is a path, not an index, so files added or removed
 * between drills shift nothing that was already covered.
 */

export interface DrillCursor {
  readonly cursor: string;
  readonly round: number;
}

export interface DrillSlice<F> {
  readonly sample: readonly F[];
  readonly round: number;
  /** Share of the files looked at in this round, this drill included. */
  readonly coverage: number;
  /** What to store for the next drill; undefined for a full drill, which moves no cursor. */
  readonly next: DrillCursor | undefined;
}

/** Past every real path: a round is complete, the next drill starts round + 1. */
const END = '\uffff';

export function drillSlice<F extends { readonly path: string }>(sorted: readonly F[], cur: DrillCursor | undefined, opts: { readonly rotation: number; readonly full: boolean }): DrillSlice<F> {
  let round = cur?.round ?? 1;
  if (opts.full || sorted.length === 0) return { sample: sorted, round, coverage: 1, next: undefined };
  let startIdx = cur ? sorted.findIndex((f) => f.path > cur.cursor) : 0;
  if (startIdx < 0) {
    startIdx = 0;
    round++;
  }
  const count = Math.min(sorted.length, Math.max(1, Math.ceil(sorted.length / Math.max(1, opts.rotation))));
  const sample = sorted.slice(startIdx, startIdx + count);
  const endIdx = startIdx + sample.length;
  return { sample, round, coverage: endIdx / sorted.length, next: { cursor: endIdx >= sorted.length ? END : (sample[sample.length - 1]?.path ?? ''), round } };
}
