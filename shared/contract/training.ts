import { z } from 'zod';
import { defineMethod, defineService } from '../rpc/contract';
import { LoraTarget, TrainingConfig } from '../training/config';
import { Id, Timestamp } from './feedback';
import { ModelShape } from './models';

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

// The training presets for a model on this machine (electron/core/training/plan.ts), as the wire carries them: the
// pure logic's types (shared/training/presets.ts) in schemas, so the renderer gets them checked. Arrays are
// read-only, so the logic's results go out as they are.
const Bytes = z.number().nonnegative();
const Whole = z.number().int().positive();
const list = <T extends z.ZodType>(item: T) => z.array(item).readonly();

export const PresetName = z.enum(['8gb', '12gb', '16gb', '24gb', 'cpu']);

/** One GGUF file of the base model. */
export const PresetBaseFile = z.object({
  /** Bits per weight: 4, 8, 16, 32. */
  bits: Whole,
  bytes: Bytes,
  /** E.g. Q4_K_M, Q8_0, F16. */
  quant: z.string().min(1),
});

/** A file the model comes in, and the installed model that holds it (null: only in the catalog). */
export const PlanFile = PresetBaseFile.extend({ installedModelId: Id.nullable() });
export type PlanFile = z.infer<typeof PlanFile>;

/** The settings a preset or a remedy stands for. */
export const PresetChoice = z.object({
  batchSize: Whole,
  rank: Whole,
  gradientCheckpointing: z.boolean(),
  maxLength: Whole,
  /** The file to train on; with the installed model that holds it when the plan knows its files (null: not installed). */
  base: PresetBaseFile.extend({ installedModelId: Id.nullable().optional() }),
  targets: list(LoraTarget),
});
export type PresetChoice = z.infer<typeof PresetChoice>;

/** The training memory estimate (shared/training/memory.ts), in bytes. */
export const PresetMemory = z.object({
  totalBytes: Bytes,
  trainerBytes: Bytes,
  parts: z.object({ weights: Bytes, lora: Bytes, optimizer: Bytes, gradients: Bytes, activations: Bytes, backend: Bytes }),
  logitsBytes: Bytes,
  loraParameters: z.number().int().nonnegative(),
  summary: z.string(),
});

/** A row of the guide's table. */
export const PresetTier = z.object({
  name: PresetName,
  /** GB (10⁹ bytes); 0 for the CPU. */
  memoryGB: z.number().nonnegative(),
  batchSizes: list(Whole),
  ranks: list(Whole),
  baseBits: z.union([z.literal(4), z.literal(16)]),
  guide: z.string(),
});

/** One of the guide's remedies for out-of-memory, applied after the ones before it. */
export const PresetRemedy = z.object({
  kind: z.enum(['base-4bit', 'batch-1', 'shorter-max-length', 'gradient-checkpointing', 'smaller-rank']),
  title: z.string(),
  applies: z.boolean(),
  change: z.string(),
  savingBytes: z.number(),
  totalBytes: Bytes,
  fits: z.boolean(),
  config: PresetChoice,
});

/** How long a run takes at the measured tokens/s. */
export const PresetTime = z.object({ seconds: z.number().nonnegative(), tokens: z.number().nonnegative(), summary: z.string() });

/** The chosen preset: its settings, the estimate and why. */
export const PresetPlan = z.object({
  /** The tier whose settings were chosen (lower than `tier` when the guide's does not fit this model). */
  name: PresetName,
  /** The guide's tier for this memory. */
  tier: PresetName,
  fits: z.boolean(),
  config: PresetChoice,
  estimate: PresetMemory,
  memoryBytes: Bytes,
  usableBytes: Bytes,
  /** "7.9 GB of 12: weights 3.8, activations 2.6, …". */
  summary: z.string(),
  /** Files substituted, tiers that did not fit, checkpointing turned on. */
  notes: list(z.string()),
  /** On a CPU with a measured tokens/s: the time for 50 examples × 3 epochs. */
  time: PresetTime.nullable(),
  /** When nothing fits: the guide's remedies in its order. */
  remedies: list(PresetRemedy),
});
export type PresetPlan = z.infer<typeof PresetPlan>;

/** One tier of the guide against this memory: fits or not, and why. */
export const TierPlan = z.object({
  tier: PresetTier,
  fits: z.boolean(),
  config: PresetChoice,
  estimate: PresetMemory,
  why: z.string(),
  notes: list(z.string()),
});

/** The model planned for: its shape and the files it comes in. */
export const PlannedModel = z.object({
  /** The installed model; null for a catalog model not installed (the CLI plans those too). */
  id: Id.nullable(),
  name: z.string(),
  /** "installed model 3 (/path/model.gguf)", "catalog llama-3-8b-instruct". */
  source: z.string(),
  shape: ModelShape,
  /** The installed model's own file first, then the catalog's other files of it. */
  files: list(PlanFile),
  catalogId: z.string().nullable(),
});
export type PlannedModel = z.infer<typeof PlannedModel>;

export const PresetsArgs = z
  .object({
    modelId: Id,
    /** Tokens per example; default 512, at most the model's context. */
    maxLength: z.number().int().min(8).max(1 << 20).optional(),
    /** Judge for this much free VRAM in GB (10⁹ bytes) instead of this machine. */
    vramGB: z.number().min(1).max(1024).optional(),
  })
  .strict();
export type PresetsArgs = z.input<typeof PresetsArgs>;

export const PresetsResult = z.object({
  model: PlannedModel,
  device: z.enum(['gpu', 'cpu']),
  /** Free VRAM (gpu) or the RAM training may use (cpu). */
  memoryBytes: Bytes,
  /** vram-option: stated (vramGB); gpu-free: free VRAM on a GPU backend; ram: total RAM less the reserve. */
  memorySource: z.enum(['vram-option', 'gpu-free', 'ram']),
  /** How the figure was found, in words: "11.2 GB free VRAM on cuda (RTX 3060)". */
  memoryText: z.string(),
  maxLength: Whole,
  preset: PresetPlan,
  tiers: list(TierPlan),
  /** The training speed the time estimate rests on: the median of the latest finished job's steps on this model. */
  measured: z.object({ jobId: Id, tokensPerSecond: z.number().positive(), steps: Whole, gradientCheckpointing: z.boolean() }).nullable(),
  /** Why there is no time estimate, e.g. on a CPU before the first job; null when there is one or on a GPU. */
  timeNote: z.string().nullable(),
});
export type PresetsResult = z.infer<typeof PresetsResult>;

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
    presets: defineMethod({
      summary: "Which training settings fit this machine (or a stated VRAM) for an installed model: the suggested preset, every tier, and why.",
      args: PresetsArgs,
      result: PresetsResult,
    }),
  },
  events: {
    /** A job's state changed (queued, started, paused, done, failed). */
    changed: Job,
    /** A step finished. */
    progress: z.object({ jobId: Id, progress: JobProgress }),
  },
});
