import { mixSeed } from '../training/random';

/** Share of examples held out for validation unless asked otherwise (90/10). */
export const DEFAULT_VALIDATION_SHARE = 0.1;
export const DEFAULT_SPLIT_SEED = 42;

// How many are held out, in all and per artifact kind: the rule finetune --data follows too.
export { validationCount, validationQuotas } from '../training/split';

/**
 * An example's place in the seeded order its split is drawn from: a function of its content hash and
 * the seed only, so the split is the same on every run and does not depend on line order. Within each
 * stratum (artifact kind), the examples with the smallest keys are the validation set.
 */
export function splitKey(hash: Uint8Array, seed: number): number {
  const word = (at: number) => ((hash[at]! << 24) | (hash[at + 1]! << 16) | (hash[at + 2]! << 8) | hash[at + 3]!) >>> 0;
  return mixSeed(seed, word(0), word(4), word(8));
}
