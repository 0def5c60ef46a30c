import { z } from 'zod';
import { defineMethod, defineService } from '../rpc/contract';
import { FeedbackEvent, Id, Reward, Timestamp, TrainingExample } from './feedback';
import { ArtifactKind, Language, Text } from './validation';

/** A generated artifact: what was asked, what came out, and which model made it. */
export const Artifact = z.object({
  id: Id,
  kind: ArtifactKind,
  /** The requirements or prompt it was generated from. */
  prompt: z.string(),
  /** The generated text. */
  output: z.string(),
  /** For code: the declared language, when known. */
  language: z.string().nullable(),
  /** The model and version that produced it; empty until generation exists. */
  model: z.string(),
  modelVersion: z.string(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Artifact = z.infer<typeof Artifact>;

/** Sampling settings of one generation. */
export const SamplingSettings = z.object({
  /** 0 is greedy. Default 0.2: architecture artifacts want little invention. */
  temperature: z.number().min(0).max(2).default(0.2),
  topP: z.number().gt(0).max(1).default(0.9),
  maxTokens: z.number().int().min(1).max(32768).default(1024),
  /** Null: a fresh random seed each time (the one used is recorded). */
  seed: z.number().int().min(0).max(2 ** 31 - 1).nullable().default(null),
});
export type SamplingSettings = z.output<typeof SamplingSettings>;

/** How a generated artifact was made: enough to make it again and to compare versions. */
export const GenerationRecord = z.object({
  provider: z.enum(['local', 'ollama']),
  /** Installed model id (local) or the Ollama model's name. */
  modelId: z.number().int().positive().nullable(),
  modelName: z.string(),
  /** SHA-256 of the base GGUF (local), or Ollama's digest when it gives one. */
  modelHash: z.string().nullable(),
  /** Null: the plain base. */
  adapter: z.object({ path: z.string(), sha256: z.string() }).nullable(),
  /** The registered version whose adapter it was; null for the plain base or an unregistered adapter file. */
  version: z.object({ id: z.number().int().positive(), number: z.number().int().positive() }).nullable(),
  sampling: SamplingSettings.extend({ seed: z.number().int().nullable() }),
  contextSize: z.number().int().positive().nullable(),
  promptTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  durationMs: z.number().nonnegative(),
  firstTokenMs: z.number().nonnegative().nullable(),
  tokensPerSecond: z.number().nonnegative(),
  /** Why it ended: the model's end of turn, the token limit, or the user's stop. */
  finish: z.enum(['stop', 'max-tokens', 'stopped']),
});
export type GenerationRecord = z.infer<typeof GenerationRecord>;

/** An artifact with everything recorded about it, oldest event first. */
export const ArtifactDetail = Artifact.extend({
  /** Null for artifacts added by hand. */
  generation: GenerationRecord.nullable(),
  events: z.array(FeedbackEvent),
  /** The latest correction: the text the user wants instead of `output`. */
  correction: z.object({ eventId: Id, text: z.string(), similarity: z.number() }).nullable(),
  example: TrainingExample.nullable(),
});
export type ArtifactDetail = z.infer<typeof ArtifactDetail>;

/** A row of the History page. */
export const ArtifactSummary = z.object({
  id: Id,
  kind: ArtifactKind,
  /** The prompt's first 200 characters. */
  prompt: z.string(),
  model: z.string(),
  createdAt: Timestamp,
  events: z.array(FeedbackEvent),
  /** The artifact's reward (its training example's), null before any feedback. */
  reward: Reward.nullable(),
  eligible: z.boolean(),
});
export type ArtifactSummary = z.infer<typeof ArtifactSummary>;

export const AddArtifactArgs = z
  .object({
    kind: ArtifactKind,
    prompt: Text.refine((s) => s.trim().length > 0, { error: 'is empty' }),
    output: Text.refine((s) => s.trim().length > 0, { error: 'is empty' }),
    language: Language.optional(),
    model: z.string().max(200).default(''),
    modelVersion: z.string().max(100).default(''),
    /** Validate the output at once and record the result (default true; kind "other" has no validator). */
    validate: z.boolean().default(true),
  })
  .strict();
export type AddArtifactArgs = z.input<typeof AddArtifactArgs>;

export const AddArtifactResult = z.object({
  artifact: ArtifactDetail,
  /** Why validation could not run, when it could not (the artifact is stored all the same). */
  validationError: z.string().nullable(),
});
export type AddArtifactResult = z.infer<typeof AddArtifactResult>;

export const ListArtifactsArgs = z
  .object({
    kind: ArtifactKind.optional(),
    sort: z.enum(['date', 'reward']).default('date'),
    order: z.enum(['desc', 'asc']).default('desc'),
    limit: z.number().int().min(1).max(500).default(100),
    offset: z.number().int().min(0).default(0),
  })
  .strict();
export type ListArtifactsArgs = z.input<typeof ListArtifactsArgs>;

export const artifactsService = defineService({
  methods: {
    add: defineMethod({
      summary: 'Store an artifact (kind, prompt, generated text) and validate it; returns it with its validation.',
      args: AddArtifactArgs,
      result: AddArtifactResult,
    }),
    get: defineMethod({
      summary: 'One artifact with its feedback events, rewards and training example.',
      args: z.object({ id: Id }).strict(),
      result: ArtifactDetail,
    }),
    list: defineMethod({
      summary: 'Artifacts with their feedback and rewards, filtered by kind, sorted by date or reward.',
      args: ListArtifactsArgs,
      result: z.object({ total: z.number().int().nonnegative(), items: z.array(ArtifactSummary) }),
    }),
  },
  events: {},
});
