import { z } from 'zod';
import { TrainingConfig } from './config';

/** A step count: a whole number a run can reach (JSON numbers past 2^53 are not whole numbers any more). */
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** state.json of a checkpoint folder (beside adapter.gguf and optimizer.gguf). */
export const CheckpointState = z
  .object({
    version: z.literal(1),
    /** Optimizer steps done: 0 to totalSteps. */
    step: count,
    totalSteps: count.positive(),
    config: TrainingConfig,
    /** The base trained on: a resume refuses another (electron/trainer/checkpoint.ts, checkSameBase). */
    model: z.object({
      path: z.string(),
      bytes: count,
      /** SHA-256 of the file's size and sampled blocks (modelIdentity); absent in older checkpoints, which compare the size only. */
      fingerprint: z.string().optional(),
    }),
    /** SHA-256 of the examples trained on, so a resume refuses changed data. */
    dataHash: z.string(),
    /** The current epoch's order of training examples: a permutation of the run's training indices (derived from the seed; stored for inspection). */
    dataOrder: z.array(count),
    /** Dropout and data order are counter-based: (seed, epoch, step) fixes them, so this is all the RNG state. */
    rng: z.object({ seed: z.number().int(), epoch: count, step: count }),
    initAdapter: z.string().nullable(),
    /** One entry per step done, in order: history[i].step is i + 1. */
    history: z.array(z.object({ step: count, loss: z.number(), learningRate: z.number() })),
    /** Validation runs, at increasing steps from 1 to `step`. */
    validation: z.array(z.object({ step: count, loss: z.number() })),
    savedAt: z.iso.datetime(),
  })
  .superRefine((s, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (s.step > s.totalSteps) issue(['step'], `is ${s.step}, past the run's ${s.totalSteps} steps (totalSteps)`);
    if (s.rng.step !== s.step) issue(['rng', 'step'], `is ${s.rng.step}, but step is ${s.step}`);
    if (s.rng.seed !== s.config.seed) issue(['rng', 'seed'], `is ${s.rng.seed}, but config.seed is ${s.config.seed}`);
    if (s.rng.epoch >= s.config.epochs) issue(['rng', 'epoch'], `is ${s.rng.epoch}, but the run has ${s.config.epochs} epochs (config.epochs)`);
    if (s.history.length !== s.step) issue(['history'], `has ${s.history.length} entries, but step is ${s.step} (one entry per step done)`);
    const unordered = s.history.findIndex((h, i) => h.step !== i + 1);
    if (unordered >= 0) issue(['history', unordered, 'step'], `is ${s.history[unordered]!.step}, expected ${unordered + 1}`);
    s.validation.forEach((v, i) => {
      const after = i === 0 ? 0 : s.validation[i - 1]!.step;
      if (v.step <= after || v.step > s.step) issue(['validation', i, 'step'], `is ${v.step}: validation steps increase, from 1 to step (${s.step})`);
    });
    const seen = new Set<number>();
    for (const [at, example] of s.dataOrder.entries()) {
      if (seen.has(example)) return issue(['dataOrder', at], `repeats example ${example}: the order is a permutation of the training examples`);
      seen.add(example);
    }
  });
export type CheckpointState = z.infer<typeof CheckpointState>;

/** What a resume knows of the run it continues, to check a checkpoint's state against. */
export interface RunShape {
  readonly totalSteps: number;
  readonly stepsPerEpoch: number;
  /** The training examples' indices (the permutation dataOrder must be of). */
  readonly train: readonly number[];
}

/** The first thing wrong with a checkpoint's state for this run, as [field, what], or undefined when it fits. */
export function stateMismatch(state: CheckpointState, run: RunShape): [string, string] | undefined {
  if (state.totalSteps !== run.totalSteps) {
    return ['totalSteps', `is ${state.totalSteps}, but the same data and settings now give ${run.totalSteps} steps`];
  }
  const epoch = Math.min(state.config.epochs - 1, Math.floor(state.step / run.stepsPerEpoch));
  if (state.rng.epoch !== epoch) return ['rng.epoch', `is ${state.rng.epoch}, but step ${state.step} falls in epoch ${epoch}`];
  const train = new Set(run.train);
  const stranger = state.dataOrder.find((i) => !train.has(i));
  if (stranger !== undefined) return ['dataOrder', `holds example ${stranger}, which is not one of this run's ${run.train.length} training examples`];
  if (state.dataOrder.length !== run.train.length) {
    return ['dataOrder', `has ${state.dataOrder.length} examples, but this run trains on ${run.train.length}`];
  }
  return undefined;
}
