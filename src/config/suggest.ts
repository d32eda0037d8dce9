/**
 * "Did you mean" for mistyped names (config keys, long switches, subcommands): the candidate at the
 * smallest edit distance, ignoring case, when that distance is small enough to be a typo.
 */

/** Largest edit distance still taken for a typo (`ChrootEveryon` is 1 away from `ChrootEveryone`). */
export const MAX_TYPO_DISTANCE = 2;

/**
 * Edit distance counting an insertion, a deletion, a substitution or a swap of two neighbours as one
 * edit (optimal string alignment); stops early with `limit + 1` once the distance exceeds `limit`.
 */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, before[j - 2] + 1);
      row[j] = d;
      best = Math.min(best, d);
    }
    if (best > limit) return limit + 1;
    before = prev;
    prev = row;
  }
  return prev[b.length];
}

/**
 * The candidate nearest to `word` (case-insensitive), or undefined when none is close enough: one
 * edit for words of up to four letters, MAX_TYPO_DISTANCE for longer ones (two edits turn `bad` into
 * `Bind`, which is no typo). Words of one or two letters get no suggestion; the first wins a tie.
 */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  if (word.length <= 2) return undefined;
  const w = word.toLowerCase();
  let found: string | undefined;
  let bestDistance = (w.length <= 4 ? 1 : MAX_TYPO_DISTANCE) + 1;
  for (const candidate of candidates) {
    const d = editDistance(w, candidate.toLowerCase(), bestDistance - 1);
    if (d < bestDistance) {
      bestDistance = d;
      found = candidate;
    }
  }
  return found;
}

/** ` (did you mean X?)` for the nearest candidate, or '' when there is none. */
export function didYouMean(
  word: string,
  candidates: Iterable<string>,
  show = (s: string): string => s,
): string {
  const found = nearest(word, candidates);
  return found === undefined ? '' : ` (did you mean ${show(found)}?)`;
}
