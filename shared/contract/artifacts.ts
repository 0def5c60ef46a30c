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

/** An artifact with everything recorded about it, oldest event first. */
export const ArtifactDetail = Artifact.extend({
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
