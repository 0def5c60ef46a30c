import { z } from 'zod';

/**
 * LoRA target modules of a llama block (names as in llama.cpp's GGUF tensors): the one list, which the
 * CLI, the native wrapper and the tests take from here; the addon knows the same ones (lora_modules() in
 * native/src/model.cpp) and refuses any other. `LoraTarget.options` lists them.
 */
export const LoraTarget = z.enum(['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down']);
export type LoraTarget = z.infer<typeof LoraTarget>;

/** The modules a run adapts unless told otherwise: the attention projections (the config's and the native wrapper's default). */
export const DEFAULT_TARGETS: readonly LoraTarget[] = Object.freeze(['attn_q', 'attn_k', 'attn_v', 'attn_output'] as const);

export const Schedule = z.enum(['constant', 'linear', 'cosine']);
export type Schedule = z.infer<typeof Schedule>;

const count = (min: number, max: number) => z.number().int().min(min).max(max);

/**
 * One LoRA fine-tuning run. Defaults are the product guide's "recommended settings" (3 epochs, lr 2e-4,
 * batch 1, rank 8, alpha 16, dropout 0.05, max length 512); the rest are common LoRA practice.
 */
export const TrainingConfig = z
  .object({
    epochs: count(1, 1000).default(3),
    learningRate: z.number().positive().max(1).default(2e-4),
    batchSize: count(1, 512).default(1),
    /** Micro-batches per optimizer step. */
    gradAccum: count(1, 4096).default(1),
    rank: count(1, 1024).default(8),
    alpha: z.number().positive().max(1e6).default(16),
    dropout: z.number().min(0).lt(1).default(0.05),
    targets: z.array(LoraTarget).min(1).default(() => [...DEFAULT_TARGETS]),
    /** Tokens per example (prompt + completion); longer examples are cut and counted. */
    maxLength: count(8, 1 << 20).default(512),
    /** Share of examples held out for validation loss. */
    valSplit: z.number().min(0).max(0.5).default(0.1),
    schedule: Schedule.default('cosine'),
    /** Optimizer steps of linear warm-up. */
    warmup: count(0, 1e9).default(0),
    weightDecay: z.number().min(0).max(1).default(0),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.999),
    /** Max global gradient norm; 0 turns clipping off. */
    clip: z.number().min(0).default(1),
    gradientCheckpointing: z.boolean().default(false),
    /** Validation every N optimizer steps as well as at each epoch end; 0: epoch ends only. */
    evalEvery: count(0, 1e9).default(0),
    /** Checkpoint every N optimizer steps as well as at the end; 0: at the end only. */
    checkpointEvery: count(0, 1e9).default(0),
    seed: count(0, 2 ** 31 - 1).default(42),
    threads: count(1, 1024).optional(),
    /** Where the base weights go: cpu, cuda (any GPU backend), or auto. */
    backend: z.enum(['cpu', 'cuda', 'auto']).default('auto'),
  })
  .strict();
export type TrainingConfig = z.output<typeof TrainingConfig>;
export type TrainingConfigInput = z.input<typeof TrainingConfig>;

/** The system message examples are rendered with; generation must use the same one. */
export const SYSTEM_PROMPT =
  'You are Architect.AI, an assistant that writes software architecture artifacts: Mermaid diagrams, API documentation and code.';
