import { z } from 'zod';
import { WireError } from '../errors';
import { TrainingConfig } from './config';

/**
 * The trainer child process's messages, both ways, declared once: the supervisor (main process) and
 * the trainer entry (`electron/trainer/worker.ts`) validate every message they receive against these.
 */

/** One training run, as the supervisor hands it to the child. Examples travel as JSONL files, not messages. */
export const TrainerJob = z.object({
  jobId: z.number().int().positive(),
  modelPath: z.string().min(1),
  /** JSONL of `{prompt, completion, kind?}`: the training examples. */
  examplesFile: z.string().min(1),
  /** JSONL of held-out examples; absent: the config's `valSplit` draws them from the examples. */
  validationFile: z.string().min(1).optional(),
  /** The data folder: the prompt templates of `<dataDir>/prompts/` win over the built-in ones. */
  dataDir: z.string().min(1),
  config: TrainingConfig,
  /** Where the finished adapter goes. */
  outPath: z.string().min(1),
  checkpointDir: z.string().min(1),
  /** A checkpoint folder to continue exactly from (resume after pause, crash or restart). */
  resumeFrom: z.string().min(1).optional(),
  /** An adapter to train further (v1 → v2). */
  initAdapter: z.string().min(1).optional(),
  /** The evaluation gate, run in this process after training: the new adapter against `against`. */
  gate: z
    .object({
      /** JSONL of `{prompt, completion, kind}`: the held-out set, the same for every version of the base. */
      examplesFile: z.string().min(1),
      /** The adapter compared with (the parent version's); null: the plain base. */
      against: z.string().min(1).nullable(),
      /** Greedy generations per side on held-out diagram prompts (at most). */
      prompts: z.number().int().min(0).max(200),
      /** Token limit of each of those generations. */
      maxTokens: z.number().int().min(16).max(4096),
    })
    .optional(),
});
export type TrainerJob = z.infer<typeof TrainerJob>;

/** Parent → child. */
export const TrainerRequest = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), job: TrainerJob }),
  /** Stop after the current step, writing a checkpoint first (pause and cancel look the same to the child). */
  z.object({ type: z.literal('stop') }),
]);
export type TrainerRequest = z.infer<typeof TrainerRequest>;

const Num = z.number();

export const TrainerPrepared = z.object({
  examples: Num,
  train: Num,
  validation: Num,
  truncated: Num,
  dropped: Num,
  totalSteps: Num,
  startStep: Num,
  device: z.string(),
  adapter: z.object({ rank: Num, alpha: Num, targets: z.array(z.string()), parameters: Num }),
});

export const TrainerProgress = z.object({
  step: Num,
  totalSteps: Num,
  epoch: Num,
  trainLoss: Num,
  learningRate: Num,
  gradNorm: Num,
  tokensPerSecond: Num,
  elapsedMs: Num,
  etaMs: Num,
  memoryBytes: Num,
  peakMemoryBytes: Num,
});
export type TrainerProgress = z.infer<typeof TrainerProgress>;

export const TrainerResult = z.object({
  status: z.enum(['completed', 'cancelled']),
  adapterPath: z.string().nullable(),
  checkpointDir: z.string(),
  lastCheckpoint: z.string().nullable(),
  steps: Num,
  trainLoss: Num.nullable(),
  validationLoss: Num.nullable(),
  truncated: Num,
  dropped: Num,
});
export type TrainerResult = z.infer<typeof TrainerResult>;

const Metrics = z.object({
  validationLoss: Num.nullable(),
  examples: Num,
  prompts: Num,
  validShare: Num.nullable(),
  meanScore: Num.nullable(),
});
export const TrainerGate = z.object({ candidate: Metrics, against: Metrics });
export type TrainerGate = z.infer<typeof TrainerGate>;

/** Child → parent. `ready` comes first, once the native trainer has loaded: it proves the addon works here. */
export const TrainerMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), pid: z.number().int(), device: z.string() }),
  z.object({ type: z.literal('prepared'), info: TrainerPrepared }),
  z.object({ type: z.literal('progress'), progress: TrainerProgress }),
  z.object({ type: z.literal('validation'), step: Num, epoch: Num, loss: Num }),
  z.object({ type: z.literal('checkpoint'), step: Num, path: z.string() }),
  z.object({ type: z.literal('log'), level: z.enum(['info', 'warn', 'error']), text: z.string() }),
  /** The gate's measurements, after training and before `done` (only for a completed run with `job.gate`). */
  z.object({ type: z.literal('gate'), gate: TrainerGate }),
  z.object({ type: z.literal('done'), result: TrainerResult }),
  z.object({ type: z.literal('error'), error: WireError }),
]);
export type TrainerMessage = z.infer<typeof TrainerMessage>;
