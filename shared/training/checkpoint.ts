import { z } from 'zod';
import { TrainingConfig } from './config';

/** state.json of a checkpoint folder (beside adapter.gguf and optimizer.gguf). */
export const CheckpointState = z.object({
  version: z.literal(1),
  /** Optimizer steps done. */
  step: z.number().int().nonnegative(),
  totalSteps: z.number().int().positive(),
  config: TrainingConfig,
  model: z.object({ path: z.string(), bytes: z.number().int().nonnegative() }),
  /** SHA-256 of the examples trained on, so a resume refuses changed data. */
  dataHash: z.string(),
  /** The current epoch's order of training examples (derived from the seed; stored for inspection). */
  dataOrder: z.array(z.number().int().nonnegative()),
  /** Dropout and data order are counter-based: (seed, epoch, step) fixes them, so this is all the RNG state. */
  rng: z.object({ seed: z.number().int(), epoch: z.number().int().nonnegative(), step: z.number().int().nonnegative() }),
  initAdapter: z.string().nullable(),
  history: z.array(z.object({ step: z.number().int(), loss: z.number(), learningRate: z.number() })),
  validation: z.array(z.object({ step: z.number().int(), loss: z.number() })),
  savedAt: z.iso.datetime(),
});
export type CheckpointState = z.infer<typeof CheckpointState>;
