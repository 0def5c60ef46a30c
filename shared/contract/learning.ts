import { z } from 'zod';
import { defineMethod, defineService } from '../rpc/contract';
import { BatchSummary, FeedbackType, Reward, Timestamp } from './feedback';
import { ArtifactKind } from './validation';

/** The adaptive-learning loop's settings (the guide's AdaptiveLearningLoop). */
export const LearningSettings = z
  .object({
    /** Eligible examples per training batch. Default 50. */
    batchSize: z.number().int().min(1).max(10_000),
    /** Examples with a reward below this are not trained on. Default 0.3. */
    minRewardThreshold: Reward,
    /** Create a batch as soon as `batchSize` examples wait. Default on. */
    autoTrigger: z.boolean(),
  })
  .strict();
export type LearningSettings = z.infer<typeof LearningSettings>;

export const DEFAULT_LEARNING_SETTINGS: LearningSettings = { batchSize: 50, minRewardThreshold: 0.3, autoTrigger: true };

export const JobCounts = z.object({
  queued: z.number().int().nonnegative(),
  running: z.number().int().nonnegative(),
  paused: z.number().int().nonnegative(),
  succeeded: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  cancelled: z.number().int().nonnegative(),
});

export const LearningStatus = z.object({
  settings: LearningSettings,
  /** Paused: no batch is created until resumed. */
  paused: z.boolean(),
  /** Eligible examples not yet in a batch. */
  pending: z.number().int().nonnegative(),
  /** Eligible examples still needed for the next batch (0 when one is due but paused or manual). */
  untilNextBatch: z.number().int().nonnegative(),
  batches: z.number().int().nonnegative(),
  lastBatchAt: Timestamp.nullable(),
  /** Adaptive training jobs by status. */
  jobs: JobCounts,
  /** The latest batches, newest first (at most 10). */
  recentBatches: z.array(BatchSummary),
});
export type LearningStatus = z.infer<typeof LearningStatus>;

const Count = z.number().int().nonnegative();

export const Stats = z.object({
  totalFeedback: Count,
  /** Mean reward of all feedback events; null when there are none. */
  averageReward: Reward.nullable(),
  /** Ten buckets of width 0.2 from −1 to +1; the last includes +1. */
  histogram: z.array(z.object({ from: z.number(), to: z.number(), count: Count })),
  byType: z.record(FeedbackType, Count),
  byKind: z.record(ArtifactKind, z.object({ artifacts: Count, feedback: Count })),
  artifacts: Count,
  eligiblePending: Count,
  untilNextBatch: Count,
  trainingBatches: Count,
  lastBatchAt: Timestamp.nullable(),
});
export type Stats = z.infer<typeof Stats>;

export const learningService = defineService({
  methods: {
    status: defineMethod({
      summary: 'Progress to the next batch, batches so far, jobs, settings and whether learning is paused.',
      args: z.object({}).strict(),
      result: LearningStatus,
    }),
    pause: defineMethod({ summary: 'Stop creating training batches.', args: z.object({}).strict(), result: LearningStatus }),
    resume: defineMethod({
      summary: 'Create batches again (at once, for the examples that are waiting).',
      args: z.object({}).strict(),
      result: LearningStatus,
    }),
    updateSettings: defineMethod({
      summary: 'Change batchSize, minRewardThreshold or autoTrigger; a batch that becomes due is created at once.',
      args: LearningSettings.partial().strict(),
      result: LearningStatus,
    }),
    createBatch: defineMethod({
      summary: 'Create one batch now from the waiting examples (up to batchSize), even with autoTrigger off.',
      args: z.object({}).strict(),
      result: BatchSummary,
    }),
    stats: defineMethod({
      summary: 'Feedback totals, average reward, reward histogram, counts by type and kind, batch progress.',
      args: z.object({}).strict(),
      result: Stats,
    }),
  },
  events: {
    /** Pushed whenever this app changes the loop's state (feedback, batch, pause, settings). */
    changed: LearningStatus,
  },
});
