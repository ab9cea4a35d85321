/**
 * "Did you mean …?" for keys, names and keywords an operator mistyped.
 *
 * Distance is the optimal-string-alignment variant of Damerau-Levenshtein, so a swapped pair of
 * letters ("priorty", "destiantions") costs one edit, as it does to the eye. Case and the
 * `-`/`_` spelling are ignored first: `exclude-from` is simply `exclude_from`.
 */

/** Edits (insert, delete, substitute, swap adjacent) needed to turn a into b. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      d[i * cols + j] = best;
    }
  }
  return at(rows - 1, cols - 1);
}

const fold = (s: string): string => s.toLowerCase().replaceAll('-', '_');

/**
 * The candidate closest to `word`, if it is close enough to be a plausible typo: at most one
 * edit for short words, about a third of the length for longer ones; failing that, the only
 * candidate that begins with `word`. Ties go to the earlier candidate, so callers list the
 * likelier ones first.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const w = fold(word);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const distance = editDistance(w, fold(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = Math.max(1, Math.floor(w.length / 3));
  if (best !== undefined && bestDistance <= allowed) return best;
  // A cut-short word ("hi", "exclude") is a plausible typo for the one candidate it begins.
  const prefixed = [...candidates].filter((c) => c !== word && w.length >= 2 && fold(c).startsWith(w));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** `did you mean "x"?`, or undefined when nothing is close. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const match = closest(word, candidates);
  return match === undefined ? undefined : `did you mean "${match}"?`;
}
