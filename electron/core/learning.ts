import { z } from 'zod';
import type { Store } from '../../db/store';
import type { BatchSummary } from '../../shared/contract/feedback';
import { DEFAULT_LEARNING_SETTINGS, LearningSettings } from '../../shared/contract/learning';
import type { LearningStatus } from '../../shared/contract/learning';
import { AppError } from '../../shared/errors';
import type { Clock } from './clock';
import { parseInput } from './parseArgs';

/** The loop's stored state: its settings and whether it is paused. */
export const LearningState = LearningSettings.extend({ paused: z.boolean() });
export type LearningState = z.infer<typeof LearningState>;

const KEY = 'learning';
const DEFAULTS: LearningState = { ...DEFAULT_LEARNING_SETTINGS, paused: false };
/** Upper bound on batches created in one go (after a long pause or a lowered batchSize). */
const MAX_BATCHES_AT_ONCE = 1000;

/**
 * The adaptive-learning loop: when `batchSize` eligible examples wait, they become a training batch with
 * a queued adaptive job. Everything that can make a batch due runs in the same IMMEDIATE transaction as
 * the batch creation, so a batch is created exactly once however many processes record feedback.
 */
export class LearningLoop {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    /** Called after a change commits, with the new status (the host pushes it to the UI). */
    private readonly onChange: (status: LearningStatus) => void = () => {},
  ) {}

  /** The stored settings and pause state (defaults for anything never set). */
  state(): LearningState {
    return this.store.settings.get(KEY, LearningState, DEFAULTS);
  }

  /** Inside a write transaction: creates every batch that is due under `state`. */
  createDueBatches(state: LearningState, now: string): BatchSummary[] {
    if (state.paused || !state.autoTrigger) return [];
    const created: BatchSummary[] = [];
    while (created.length < MAX_BATCHES_AT_ONCE && this.store.learning.pendingCount() >= state.batchSize) {
      created.push(this.store.learning.createBatch(state.batchSize, state.minRewardThreshold, now)!);
    }
    return created;
  }

  status(): LearningStatus {
    return this.store.db.transaction(() => this.readStatus(this.state()))();
  }

  pause(): LearningStatus {
    return this.change((state) => ({ ...state, paused: true }));
  }

  /** Resumes and creates the batches that became due while paused. */
  resume(): LearningStatus {
    return this.change((state) => ({ ...state, paused: false }));
  }

  updateSettings(patch: Partial<LearningSettings>): LearningStatus {
    const valid = parseInput(LearningSettings.partial().strict(), patch);
    return this.change((state) => ({ ...state, ...valid }));
  }

  /** One batch now from up to `batchSize` waiting examples, whatever autoTrigger says (not while paused). */
  createBatch(): BatchSummary {
    const batch = this.store.db.transaction(() => {
      const state = this.state();
      if (state.paused) throw new AppError('conflict', 'Learning is paused: resume it to create batches.');
      const created = this.store.learning.createBatch(state.batchSize, state.minRewardThreshold, this.clock().toISOString());
      if (!created) throw new AppError('conflict', 'No eligible examples are waiting for a batch.');
      return created;
    }).immediate();
    this.notify();
    return batch;
  }

  /** Pushes the current status to listeners (after feedback was recorded elsewhere in this process). */
  notify(): void {
    this.onChange(this.status());
  }

  /** Reads the status inside the caller's transaction. */
  readStatus(state: LearningState): LearningStatus {
    const pending = this.store.learning.pendingCount();
    const totals = this.store.learning.batchTotals();
    const { paused, ...settings } = state;
    return {
      settings,
      paused,
      pending,
      untilNextBatch: Math.max(0, settings.batchSize - pending),
      batches: totals.count,
      lastBatchAt: totals.lastAt,
      jobs: this.store.learning.jobCounts(),
      recentBatches: this.store.learning.recentBatches(10),
    };
  }

  private change(update: (state: LearningState) => LearningState): LearningStatus {
    const status = this.store.db.transaction(() => {
      const before = this.state();
      const after = update(before);
      this.store.settings.set(KEY, after);
      if (after.minRewardThreshold !== before.minRewardThreshold) this.store.learning.recomputePending(after.minRewardThreshold);
      this.createDueBatches(after, this.clock().toISOString());
      return this.readStatus(after);
    }).immediate();
    this.onChange(status);
    return status;
  }
}
