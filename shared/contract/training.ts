import { z } from 'zod';
import { defineMethod, defineService } from '../rpc/contract';
import { TrainingConfig } from '../training/config';
import { Id, Timestamp } from './feedback';

export const JobStatus = z.enum(['queued', 'running', 'paused', 'succeeded', 'failed', 'cancelled']);
export type JobStatus = z.infer<typeof JobStatus>;

/** One step's figures, as stored per step and pushed as `training.progress`. */
export const JobProgress = z.object({
  step: z.number().int().nonnegative(),
  totalSteps: z.number().int().nonnegative(),
  epoch: z.number().nonnegative(),
  trainLoss: z.number(),
  /** The latest validation loss so far, null before the first validation. */
  validationLoss: z.number().nullable(),
  learningRate: z.number(),
  tokensPerSecond: z.number().nonnegative(),
  elapsedMs: z.number().nonnegative(),
  etaMs: z.number().nonnegative(),
  /** The trainer's backend memory (weights, adapter, optimizer, buffers). */
  memoryBytes: z.number().nonnegative(),
  /** GPU memory used / total, sampled about once a second; null without a GPU. */
  gpu: z.object({ usedBytes: z.number().nonnegative(), totalBytes: z.number().nonnegative() }).nullable(),
  at: Timestamp,
});
export type JobProgress = z.infer<typeof JobProgress>;

/** The version a finished job wrote: `<data>/finetuned_models/<base>/v<N>/`. */
export const JobVersion = z.object({ number: z.number().int().positive(), dir: z.string(), adapterPath: z.string() });

export const Job = z.object({
  id: Id,
  type: z.enum(['manual', 'adaptive']),
  status: JobStatus,
  modelId: Id.nullable(),
  datasetId: Id.nullable(),
  batchId: Id.nullable(),
  config: TrainingConfig.nullable(),
  /** Why it failed, or what it waits for; null when there is nothing to say. */
  message: z.string().nullable(),
  /** The trainer's last log lines, kept for a failed job. */
  logTail: z.array(z.string()),
  progress: JobProgress.nullable(),
  version: JobVersion.nullable(),
  /** A checkpoint a resume continues from. */
  checkpoint: z.string().nullable(),
  createdAt: Timestamp,
  startedAt: Timestamp.nullable(),
  finishedAt: Timestamp.nullable(),
});
export type Job = z.infer<typeof Job>;

export const StartJobArgs = z
  .object({
    modelId: Id,
    datasetId: Id,
    /** Hyperparameters; what is left out takes the defaults (the guide's recommended settings). */
    config: TrainingConfig.partial().optional(),
  })
  .strict();
export type StartJobArgs = z.input<typeof StartJobArgs>;

export const trainingService = defineService({
  methods: {
    start: defineMethod({
      summary: 'Queue a manual training job (model, dataset, hyperparameters); it runs when the trainer is free.',
      args: StartJobArgs,
      result: Job,
    }),
    jobs: defineMethod({
      summary: 'Training jobs, newest first, with their latest progress.',
      args: z.object({ limit: z.number().int().min(1).max(500).default(50) }).strict(),
      result: z.object({ jobs: z.array(Job) }),
    }),
    job: defineMethod({
      summary: 'One job with every step recorded (its loss curve).',
      args: z.object({ id: Id }).strict(),
      result: Job.extend({ history: z.array(JobProgress) }),
    }),
    cancel: defineMethod({
      summary: 'Cancel a job; a running one stops within a step and keeps its last checkpoint.',
      args: z.object({ id: Id }).strict(),
      result: Job,
    }),
    pause: defineMethod({
      summary: 'Pause a running or queued job; it keeps its checkpoint and can be resumed, also after a restart.',
      args: z.object({ id: Id }).strict(),
      result: Job,
    }),
    resume: defineMethod({
      summary: 'Queue a paused (or failed) job again; it continues from its last checkpoint.',
      args: z.object({ id: Id }).strict(),
      result: Job,
    }),
  },
  events: {
    /** A job's state changed (queued, started, paused, done, failed). */
    changed: Job,
    /** A step finished. */
    progress: z.object({ jobId: Id, progress: JobProgress }),
  },
});
