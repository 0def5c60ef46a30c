import { z } from 'zod';
import { RewardSettings } from '../reward';
import { defineMethod, defineService } from '../rpc/contract';
import { Score, Text, ValidationReason } from './validation';

export const Id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
export const Reward = z.number().min(-1).max(1);
export const Timestamp = z.iso.datetime();

export const FeedbackType = z.enum(['explicit_positive', 'explicit_negative', 'correction', 'validation']);
export type FeedbackType = z.infer<typeof FeedbackType>;

const EventBase = { id: Id, artifactId: Id, reward: Reward, createdAt: Timestamp };

/** One recorded feedback event with its reward. A correction's text is on the artifact (`ArtifactDetail.correction`). */
export const FeedbackEvent = z.discriminatedUnion('type', [
  z.object({ ...EventBase, type: z.literal('explicit_positive') }),
  z.object({ ...EventBase, type: z.literal('explicit_negative') }),
  z.object({
    ...EventBase,
    type: z.literal('correction'),
    /** 1 = unchanged, 0 = nothing in common with the generated text. */
    similarity: z.number().min(0).max(1),
    /** Length of the corrected text in characters. */
    length: z.number().int().nonnegative(),
  }),
  z.object({ ...EventBase, type: z.literal('validation'), score: Score, reasons: z.array(ValidationReason), validator: z.string() }),
]);
export type FeedbackEvent = z.infer<typeof FeedbackEvent>;

/** What a caller records: the reward is computed by the store's reward policy. */
export const FeedbackInput = z.discriminatedUnion('type', [
  z.object({ artifactId: Id, type: z.literal('explicit_positive') }).strict(),
  z.object({ artifactId: Id, type: z.literal('explicit_negative') }).strict(),
  // An empty correction has nothing to train on (an import refuses an empty completion as well).
  z.object({ artifactId: Id, type: z.literal('correction'), text: Text.refine((s) => s.trim().length > 0, { error: 'is empty: a correction is the text the artifact should have been' }) }).strict(),
  z
    .object({
      artifactId: Id,
      type: z.literal('validation'),
      score: Score,
      reasons: z.array(ValidationReason).max(200).default([]),
      validator: z.string().max(100).default('external'),
    })
    .strict(),
]);
export type FeedbackInput = z.input<typeof FeedbackInput>;

/** An artifact's training example: its best target and reward, and whether it is trained on. */
export const TrainingExample = z.object({
  artifactId: Id,
  /** The target text: the user's latest correction, or the generated output. */
  target: z.enum(['generated', 'correction']),
  reward: Reward,
  /** reward ≥ minRewardThreshold. */
  eligible: z.boolean(),
  /** The batch this target went into, or null while it waits (or is not eligible). */
  batchId: Id.nullable(),
});
export type TrainingExample = z.infer<typeof TrainingExample>;

export const BatchSummary = z.object({
  id: Id,
  createdAt: Timestamp,
  size: z.number().int().positive(),
  averageReward: Reward,
  jobId: Id,
  jobStatus: z.enum(['queued', 'running', 'paused', 'succeeded', 'failed', 'cancelled']),
});
export type BatchSummary = z.infer<typeof BatchSummary>;

export const RecordResult = z.object({
  event: FeedbackEvent,
  example: TrainingExample.nullable(),
  /** Batches this event completed (usually none, at most one unless batchSize was lowered). */
  batches: z.array(BatchSummary),
});
export type RecordResult = z.infer<typeof RecordResult>;

export const feedbackService = defineService({
  methods: {
    record: defineMethod({
      summary: 'Record 👍, 👎, a correction or a validation result on an artifact; returns the event with its reward.',
      args: FeedbackInput,
      result: RecordResult,
    }),
    validate: defineMethod({
      summary: "Validate an artifact's generated text and record the result as a feedback event.",
      args: z.object({ artifactId: Id }).strict(),
      result: RecordResult,
    }),
    rewardSettings: defineMethod({
      summary: 'The reward table in force: thresholds and ranges.',
      args: z.object({}).strict(),
      result: RewardSettings,
    }),
    setRewardSettings: defineMethod({
      summary: 'Replace the reward table; applies to events recorded from now on.',
      args: RewardSettings,
      result: RewardSettings,
    }),
  },
  events: {
    /** Pushed after each event recorded through this app. */
    recorded: RecordResult,
  },
});
