import { z } from 'zod';
import { defineMethod, defineService } from '../rpc/contract';
import { Id, Timestamp } from './feedback';
import { GeneratedKind } from './generation';
import { ValidationResult } from './validation';

/**
 * The version registry: every adapter a job wrote for a base model, which one serves each artifact kind,
 * the evaluation gate's verdicts, rollback, export and Ollama publishing.
 */

export const VersionStatus = z.enum(['active', 'candidate', 'rejected', 'archived']);
export type VersionStatus = z.infer<typeof VersionStatus>;

/** One side of a gate comparison: a version (or the plain base) on the held-out set. */
export const GateMetrics = z.object({
  /** Mean token loss over the held-out examples' completions; null when there were none. */
  validationLoss: z.number().nullable(),
  /** Held-out examples the loss is over. */
  examples: z.number().int().nonnegative(),
  /** Greedy generations on held-out diagram prompts, validated; 0 when the version has no diagram kind. */
  prompts: z.number().int().nonnegative(),
  /** Share (0–1) of those generations that are valid Mermaid; null without prompts. */
  validShare: z.number().min(0).max(1).nullable(),
  /** Mean validation score (0–100) of those generations; null without prompts. */
  meanScore: z.number().min(0).max(100).nullable(),
});
export type GateMetrics = z.infer<typeof GateMetrics>;

export const GateResult = z.object({
  candidate: GateMetrics,
  /** The version it is compared with: its parent, or the plain base (version null). */
  against: z.object({ version: z.number().int().positive().nullable(), metrics: GateMetrics }),
  passed: z.boolean(),
  /** The rule, in words, with its thresholds. */
  rule: z.string(),
  /** The verdict in words and numbers, e.g. "v3 is better than v2: held-out loss 1.21 vs 1.38 (−12%), valid Mermaid 7/8 vs 5/8". */
  summary: z.string(),
  evaluatedAt: Timestamp,
});
export type GateResult = z.infer<typeof GateResult>;

export const Version = z.object({
  id: Id,
  /** The installed base model it was trained on; null once that model was deleted. */
  modelId: Id.nullable(),
  baseName: z.string(),
  baseSha256: z.string(),
  /** v<number>, counted per base model. */
  number: z.number().int().positive(),
  /** The version it continued from; null: trained from the plain base. */
  parent: z.number().int().positive().nullable(),
  jobId: Id.nullable(),
  jobType: z.enum(['manual', 'adaptive']),
  dir: z.string(),
  adapterPath: z.string(),
  adapterSha256: z.string(),
  status: VersionStatus,
  /** Why it cannot serve (adapter file missing or changed); null when it is intact. */
  damaged: z.string().nullable(),
  /** The artifact kinds in its training data. */
  kinds: z.array(GeneratedKind),
  /** The kinds it serves now. */
  activeFor: z.array(GeneratedKind),
  dataset: z.object({ examples: z.number().int().nonnegative(), validation: z.number().int().nonnegative() }),
  metrics: z.object({ trainLoss: z.number().nullable(), validationLoss: z.number().nullable(), steps: z.number().int().nonnegative() }),
  gate: GateResult.nullable(),
  createdAt: Timestamp,
});
export type Version = z.infer<typeof Version>;

/** What serves one kind: a version, or the plain base (version null) of a model. */
export const ActiveChoice = z.object({
  kind: GeneratedKind,
  modelId: Id,
  modelName: z.string(),
  version: z.object({ id: Id, number: z.number().int().positive() }).nullable(),
  /** True when the kind has no choice of its own and follows the default. */
  inherited: z.boolean(),
  since: Timestamp,
});
export type ActiveChoice = z.infer<typeof ActiveChoice>;

export const ActivationReason = z.enum(['gate', 'user', 'rollback', 'undo']);

/** One change of what serves a kind ('*': the default for kinds with no choice of their own). */
export const Activation = z.object({
  id: Id,
  kind: z.union([GeneratedKind, z.literal('*')]),
  modelId: Id.nullable(),
  version: z.number().int().positive().nullable(),
  versionId: Id.nullable(),
  /** What served before; null when nothing was chosen. */
  previous: z.object({ modelId: Id.nullable(), versionId: Id.nullable(), version: z.number().int().positive().nullable() }).nullable(),
  reason: ActivationReason,
  note: z.string(),
  /** Set when an undo took this activation back. */
  undone: z.boolean(),
  at: Timestamp,
});
export type Activation = z.infer<typeof Activation>;

const Kinds = z.array(GeneratedKind).min(1).max(GeneratedKind.options.length);

export const ActivateArgs = z
  .object({
    /** A version, or null for the plain base of `modelId`. */
    versionId: Id.nullable(),
    /** Needed for the plain base; for a version, it must be that version's base. */
    modelId: Id.optional(),
    /** The kinds it serves from now on; default: the version's own kinds (the default '*' for the plain base). */
    kinds: Kinds.optional(),
    /** Set as the default for kinds with no choice of their own, too. */
    asDefault: z.boolean().optional(),
    /** A kind served by another base switches base only when this is true (the user chose that base). */
    switchBase: z.boolean().optional(),
  })
  .strict();
export type ActivateArgs = z.input<typeof ActivateArgs>;

export const ExportArgs = z
  .object({
    versionId: Id,
    /** False: the adapter GGUF alone; true: merged into its base as a standalone GGUF. */
    merged: z.boolean(),
    /** The file to write (its folder must exist); written atomically. */
    outPath: z.string().min(1).max(4096),
    /** Chosen by the caller to match `versions.progress` events. */
    operationId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/),
  })
  .strict();
export type ExportArgs = z.input<typeof ExportArgs>;

export const PublishArgs = z
  .object({
    versionId: Id,
    /** Default architect-<kind>:v<N>. */
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*(:[A-Za-z0-9._-]+)?$/, { error: 'must be an Ollama model name such as architect-erd:v3' }).max(200).optional(),
    /** Default: the Ollama host setting. */
    host: z.url({ protocol: /^https?$/ }).max(500).optional(),
    /** merged (default): upload the merged GGUF; adapter: a Modelfile ADAPTER, only for servers older than 0.34.1. */
    route: z.enum(['merged', 'adapter']).optional(),
    operationId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/),
  })
  .strict();
export type PublishArgs = z.input<typeof PublishArgs>;

export const OperationProgress = z.object({
  operationId: z.string(),
  phase: z.enum(['merging', 'writing', 'hashing', 'uploading', 'creating', 'done', 'failed']),
  done: z.number().nonnegative(),
  total: z.number().nonnegative(),
  message: z.string(),
});
export type OperationProgress = z.infer<typeof OperationProgress>;

export const CompareSide = z.object({
  /** A version, or null for the plain base. */
  versionId: Id.nullable(),
  label: z.string(),
  text: z.string(),
  validation: ValidationResult.nullable(),
  tokensPerSecond: z.number().nonnegative(),
});

export const versionsService = defineService({
  methods: {
    list: defineMethod({
      summary: 'Every version of every base model (or of one), what serves each kind, and the activation history.',
      args: z.object({ modelId: Id.optional() }).strict(),
      result: z.object({ versions: z.array(Version), active: z.array(ActiveChoice), history: z.array(Activation) }),
    }),
    activate: defineMethod({
      summary: 'Make a version (or the plain base) serve some kinds; the next generation of those kinds uses it.',
      args: ActivateArgs,
      result: z.object({ active: z.array(ActiveChoice), activations: z.array(Activation) }),
    }),
    rollback: defineMethod({
      summary: 'Serve a kind with an earlier version or the plain base: the one before the current by default.',
      args: z.object({ kind: GeneratedKind, to: z.union([Id, z.literal('base')]).optional() }).strict(),
      result: z.object({ active: z.array(ActiveChoice), activation: Activation }),
    }),
    undo: defineMethod({
      summary: "Take a kind's latest activation back (e.g. undo a rollback).",
      args: z.object({ kind: GeneratedKind }).strict(),
      result: z.object({ active: z.array(ActiveChoice), activation: Activation }),
    }),
    delete: defineMethod({
      summary: 'Delete a version and its files; refused for a version that serves a kind or has children, and without confirm.',
      args: z.object({ versionId: Id, confirm: z.literal(true) }).strict(),
      result: z.object({ deleted: Id }),
    }),
    export: defineMethod({
      summary: 'Write a version as a GGUF file: the adapter alone, or merged into its base (standalone, loadable anywhere).',
      args: ExportArgs,
      result: z.object({ path: z.string(), bytes: z.number().int().nonnegative(), sha256: z.string() }),
    }),
    publish: defineMethod({
      summary: 'Publish a version to Ollama as architect-<kind>:v<N>: the merged GGUF uploaded as a blob, then created.',
      args: PublishArgs,
      result: z.object({ name: z.string(), host: z.string(), route: z.enum(['merged', 'adapter']), digest: z.string() }),
    }),
    compare: defineMethod({
      summary: 'Generate for one prompt with two versions (or a version and the base), side by side; nothing is stored.',
      args: z
        .object({
          kind: GeneratedKind,
          requirements: z.string().min(1).max(100_000),
          a: Id.nullable(),
          b: Id.nullable(),
          /** The base when both sides are null or to check a version's base; default the versions' base. */
          modelId: Id.optional(),
          /** Token limit of each side; default the saved sampling setting. */
          maxTokens: z.number().int().min(1).max(32768).optional(),
        })
        .strict(),
      result: z.object({ a: CompareSide, b: CompareSide, seed: z.number().int() }),
    }),
  },
  events: {
    /** The registry changed: a version was added, gated, activated, rolled back or deleted. */
    changed: z.object({ reason: z.string() }),
    /** The gate's verdict on a new version, to tell the user with its numbers. */
    gated: z.object({ versionId: Id, number: z.number().int().positive(), baseName: z.string(), jobType: z.enum(['manual', 'adaptive']), activated: z.boolean(), kinds: z.array(z.union([GeneratedKind, z.literal('*')])), gate: GateResult }),
    progress: OperationProgress,
  },
});
