import { z } from 'zod';
import { defineMethod, defineService } from '../rpc/contract';
import { AddArtifactResult, GenerationRecord, SamplingSettings } from './artifacts';
import { Id } from './feedback';
import { ArtifactKind, Text } from './validation';

/** The kinds the app generates ("other" is for pasted artifacts only). */
export const GeneratedKind = ArtifactKind.exclude(['other']);
export type GeneratedKind = z.infer<typeof GeneratedKind>;

/**
 * Which model writes: what the registry has active for the kind (its version's adapter on its base), an
 * installed base (with a registered version, an adapter file, or nothing: the plain base), or an Ollama model.
 */
export const ModelChoice = z.discriminatedUnion('provider', [
  z.object({ provider: z.literal('active') }).strict(),
  z
    .object({
      provider: z.literal('local'),
      modelId: Id,
      /** A registered version of this base; null: the plain base; absent: the adapter file, else the plain base. */
      versionId: Id.nullable().optional(),
      /** A LoRA adapter GGUF made for this base; null or absent: the plain base. */
      adapterPath: z.string().min(1).max(4096).nullable().optional(),
    })
    .strict()
    .refine((c) => !(c.versionId && c.adapterPath), { error: 'give a versionId or an adapterPath, not both', path: ['adapterPath'] }),
  z.object({ provider: z.literal('ollama'), model: z.string().min(1).max(300) }).strict(),
]);
export type ModelChoice = z.input<typeof ModelChoice>;

export const GenerateArgs = z
  .object({
    /** Chosen by the caller so it can match `generation.chunk` events and call `generation.stop`. */
    generationId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/),
    kind: GeneratedKind,
    requirements: Text.refine((s) => s.trim().length > 0, { error: 'is empty: type or drop the requirements first' }),
    model: ModelChoice,
    /** Missing fields take the saved defaults. */
    sampling: SamplingSettings.partial().optional(),
    /** Tokens of context; default the setting (4096), at most the model's own. */
    contextSize: z.number().int().min(256).max(131072).optional(),
    /** CPU threads for this call; default the setting. */
    threads: z.number().int().min(1).max(1024).optional(),
  })
  .strict();
export type GenerateArgs = z.input<typeof GenerateArgs>;

export const GenerateResult = AddArtifactResult.extend({
  generation: GenerationRecord,
  /** A diagram reply's Mermaid without the fence, when the model wrapped it. */
  unwrapped: z.boolean(),
});
export type GenerateResult = z.infer<typeof GenerateResult>;

/** A prompt template per kind: built in, or the user's copy in the data folder, which wins. */
export const PromptTemplate = z.object({
  kind: GeneratedKind,
  system: z.string(),
  /** The user turn; `{{requirements}}` is replaced by what the user typed. */
  user: z.string(),
  source: z.enum(['builtin', 'user']),
  path: z.string(),
});
export type PromptTemplate = z.infer<typeof PromptTemplate>;

export const GenerationSettings = z.object({
  sampling: SamplingSettings,
  contextSize: z.number().int().min(256).max(131072).default(4096),
  /** Ollama's host, e.g. http://127.0.0.1:11434. */
  ollamaHost: z.string().default('http://127.0.0.1:11434'),
  /** CPU threads for local generation; 0: node-llama-cpp's choice (the machine's math cores). */
  threads: z.number().int().min(0).max(1024).default(0),
});
export type GenerationSettings = z.output<typeof GenerationSettings>;

/** Whether the generation model stays unloaded while a training job has the GPU, and why. */
export const GpuYield = z.object({
  jobId: Id.nullable(),
  /** E.g. "Unloaded for training job 4: both need 9.1 GB of the GPU's 8 GB; it reloads when the job ends." */
  message: z.string().nullable(),
});
export type GpuYield = z.infer<typeof GpuYield>;

export const generationService = defineService({
  methods: {
    yielded: defineMethod({
      summary: 'Whether the local model is unloaded for a training job now, and why.',
      args: z.object({}).strict(),
      result: GpuYield,
    }),
    generate: defineMethod({
      summary: 'Generate an artifact with a local model (or Ollama), streaming `generation.chunk` events; stores and validates it.',
      args: GenerateArgs,
      result: GenerateResult,
    }),
    stop: defineMethod({
      summary: 'Stop a running generation; it ends with what was written so far (stored like any other).',
      args: z.object({ generationId: z.string().min(1).max(64) }).strict(),
      result: z.object({ stopped: z.boolean() }),
    }),
    templates: defineMethod({
      summary: 'The prompt template of each kind, and where it comes from.',
      args: z.object({}).strict(),
      result: z.object({ templates: z.array(PromptTemplate) }),
    }),
    settings: defineMethod({
      summary: 'Default sampling settings, context size and the Ollama host.',
      args: z.object({}).strict(),
      result: GenerationSettings,
    }),
    setSettings: defineMethod({
      summary: 'Change the default sampling settings, context size or Ollama host.',
      args: z
        .object({
          sampling: SamplingSettings.partial().optional(),
          contextSize: z.number().int().min(256).max(131072).optional(),
          ollamaHost: z.url({ protocol: /^https?$/ }).max(500).optional(),
          threads: z.number().int().min(0).max(1024).optional(),
        })
        .strict(),
      result: GenerationSettings,
    }),
  },
  events: {
    /** Text as it streams; `index` counts chunks from 0 so a client can spot a gap. */
    chunk: z.object({ generationId: z.string(), index: z.number().int().nonnegative(), text: z.string() }),
    /** The local model gave the GPU up for a training job (message set), or may load again (message null). */
    yielded: GpuYield,
    /** Why a generation waits or the model is (re)loading, for the Generate page. */
    status: z.object({ generationId: z.string(), phase: z.enum(['loading-model', 'loading-adapter', 'evaluating-prompt', 'generating', 'validating']), message: z.string() }),
  },
});
