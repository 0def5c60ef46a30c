// The validation split's one rule: how many examples are held out, for a stored dataset (its split is
// drawn at import, db/datasetStaging.ts) and for `architect finetune --data` (electron/trainer/engine.ts).

/**
 * How many of `n` examples are held out for validation at `share`: `n × share` rounded, but at least one
 * when a share is asked for and there are two or more examples (so a run has a validation loss), and
 * never all of them (so one at least is trained on).
 */
export function validationCount(n: number, share: number): number {
  if (!(share > 0) || !(n >= 2)) return 0;
  return Math.min(n - 1, Math.max(1, Math.round(n * share)));
}

/** One stratum of a stratified split (the examples of one artifact kind). */
export interface Stratum {
  readonly size: number;
  /** Where the stratum's first example stands in the seeded order the split is drawn from: breaks ties, earlier first. */
  readonly first: number;
}

/**
 * How many of each stratum's examples are held out: `validationCount` of all of them together, shared out
 * in proportion to the strata's sizes (largest remainder; ties to the larger stratum, then to the one whose
 * first example comes first in the seeded order, then to the one listed first). A stratum keeps at least one
 * example for training unless the total cannot be reached otherwise (strata of one example each). Depends on
 * the sizes, the seeded order and the share only, so the same content and seed give the same counts.
 */
export function validationQuotas(strata: readonly Stratum[], share: number): number[] {
  const n = strata.reduce((sum, s) => sum + s.size, 0);
  const total = validationCount(n, share);
  const counts = strata.map(() => 0);
  if (total === 0) return counts;
  const quota = strata.map((s) => (total * s.size) / n);
  strata.forEach((s, i) => (counts[i] = Math.min(Math.floor(quota[i]!), Math.max(0, s.size - 1))));
  const order = strata
    .map((_, i) => i)
    .sort((a, b) => quota[b]! - Math.floor(quota[b]!) - (quota[a]! - Math.floor(quota[a]!)) || strata[b]!.size - strata[a]!.size || strata[a]!.first - strata[b]!.first || a - b);
  let left = total - counts.reduce((sum, c) => sum + c, 0);
  // First up to all but one of each stratum, then (only when that is not enough) the last ones too.
  for (const keep of [1, 0]) {
    for (let progress = true; left > 0 && progress; ) {
      progress = false;
      for (const i of order) {
        if (left === 0) break;
        if (counts[i]! < strata[i]!.size - keep) {
          counts[i] = counts[i]! + 1;
          left--;
          progress = true;
        }
      }
    }
  }
  return counts;
}
