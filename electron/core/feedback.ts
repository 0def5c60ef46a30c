import type { Store } from '../../db/store';
import type { NewFeedbackEvent } from '../../db/feedbackEvents';
import { FeedbackInput } from '../../shared/contract/feedback';
import type { FeedbackEvent, RecordResult, TrainingExample } from '../../shared/contract/feedback';
import type { LearningStatus } from '../../shared/contract/learning';
import { exampleOutcome, isEligible } from '../../shared/example';
import { AppError } from '../../shared/errors';
import { DEFAULT_REWARD_SETTINGS, guideRewardPolicy, RewardSettings } from '../../shared/reward';
import type { RewardInput, RewardPolicy } from '../../shared/reward';
import { textSimilarity } from '../../shared/similarity';
import type { Clock } from './clock';
import type { LearningLoop } from './learning';
import { parseInput } from './parseArgs';

export interface FeedbackServiceDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly learning: LearningLoop;
  /** Default: the guide's table. */
  readonly policy?: RewardPolicy;
  /** Called after an event commits (the host pushes it to the UI). */
  readonly onRecorded?: (result: RecordResult, status: LearningStatus) => void;
}

const REWARD_KEY = 'reward';

type ParsedInput = ReturnType<typeof FeedbackInput.parse>;

/**
 * Records feedback events. One IMMEDIATE transaction per event: the artifact is checked, the reward is
 * computed and checked, the event is stored, the artifact's training example is updated and any batch
 * that became due is created. Either all of it lands or none of it does.
 */
export class FeedbackService {
  private readonly policy: RewardPolicy;

  constructor(private readonly deps: FeedbackServiceDeps) {
    this.policy = deps.policy ?? guideRewardPolicy;
  }

  record(input: FeedbackInput): RecordResult {
    // Checked, and the similarity computed, before taking the write lock: on a large text it is the slow part.
    const prepared = this.prepare(input);
    const { result, status } = this.deps.store.db.transaction(() => this.commit(prepared)).immediate();
    this.deps.onRecorded?.(result, status);
    return result;
  }

  /**
   * Records an event inside the caller's transaction (so an artifact and its validation event land
   * together); the caller reports it with `announce` once that transaction has committed.
   */
  recordInTransaction(input: FeedbackInput): { result: RecordResult; status: LearningStatus } {
    if (!this.deps.store.db.inTransaction) throw new AppError('internal', 'recordInTransaction needs a transaction.');
    return this.commit(this.prepare(input));
  }

  /** Tells listeners about an event recorded by recordInTransaction, after its transaction committed. */
  announce(recorded: { result: RecordResult; status: LearningStatus }): void {
    this.deps.onRecorded?.(recorded.result, recorded.status);
  }

  private prepare(input: FeedbackInput): { event: ParsedInput; similarity: number | null } {
    const event = parseInput(FeedbackInput, input);
    return { event, similarity: event.type === 'correction' ? this.similarityTo(event.artifactId, event.text) : null };
  }

  private commit({ event, similarity }: { event: ParsedInput; similarity: number | null }): { result: RecordResult; status: LearningStatus } {
    const { store } = this.deps;
    const now = this.deps.clock().toISOString();
    if (!store.artifacts.exists(event.artifactId)) throw unknownArtifact(event.artifactId);
    const state = this.deps.learning.state();
    const reward = this.reward(this.rewardInput(event, similarity), this.rewardSettings());
    const row: NewFeedbackEvent = {
      artifactId: event.artifactId,
      type: event.type,
      reward,
      correctedText: event.type === 'correction' ? event.text : null,
      similarity,
      score: event.type === 'validation' ? event.score : null,
      reasons: event.type === 'validation' ? event.reasons : null,
      validator: event.type === 'validation' ? event.validator : null,
      createdAt: now,
    };
    const id = store.events.insert(row);
    const outcome = exampleOutcome(store.events.outcomeEvents(event.artifactId));
    if (outcome) {
      store.learning.upsertExample({ artifactId: event.artifactId, ...outcome, threshold: state.minRewardThreshold, now });
    }
    const batches = this.deps.learning.createDueBatches(state, now);
    const result: RecordResult = { event: toEvent(id, row), example: this.example(event.artifactId, state.minRewardThreshold), batches };
    return { result, status: this.deps.learning.readStatus(state) };
  }

  /** The reward table in force. */
  rewardSettings(): RewardSettings {
    return this.deps.store.settings.get(REWARD_KEY, RewardSettings, DEFAULT_REWARD_SETTINGS);
  }

  setRewardSettings(settings: RewardSettings): RewardSettings {
    const valid = parseInput(RewardSettings, settings);
    this.deps.store.settings.set(REWARD_KEY, valid);
    return valid;
  }

  /** An artifact's training example as the contract shows it. */
  example(artifactId: number, threshold: number): TrainingExample | null {
    const row = this.deps.store.learning.example(artifactId);
    if (!row) return null;
    return {
      artifactId,
      target: row.correctionId > 0 ? 'correction' : 'generated',
      reward: row.reward,
      eligible: isEligible(row.reward, threshold),
      batchId: row.batchId,
    };
  }

  private similarityTo(artifactId: number, text: string): number {
    const artifact = this.deps.store.artifacts.get(artifactId);
    if (!artifact) throw unknownArtifact(artifactId);
    if (text === artifact.output) {
      throw new AppError('invalid_arguments', 'The correction is the same as the generated text: nothing was changed.', { field: 'args.text' });
    }
    return Math.round(textSimilarity(artifact.output, text) * 1e4) / 1e4;
  }

  private rewardInput(event: ParsedInput, similarity: number | null): RewardInput {
    switch (event.type) {
      case 'explicit_positive':
      case 'explicit_negative':
        return { type: event.type, validationScore: this.deps.store.events.validationScoreOfOutput(event.artifactId) };
      case 'correction':
        return { type: 'correction', similarity: similarity! };
      case 'validation':
        return { type: 'validation', score: event.score };
    }
  }

  private reward(input: RewardInput, settings: RewardSettings): number {
    const reward = this.policy(input, settings);
    if (typeof reward !== 'number' || !Number.isFinite(reward) || reward < -1 || reward > 1) {
      throw new AppError('internal', `The reward policy returned ${String(reward)} for a ${input.type} event; a reward must lie in [−1, 1]. Nothing was stored.`, {
        field: 'reward',
      });
    }
    return reward;
  }
}

function unknownArtifact(id: number): AppError {
  return new AppError('not_found', `There is no artifact ${id}.`, { field: 'args.artifactId' });
}

function toEvent(id: number, row: NewFeedbackEvent): FeedbackEvent {
  const base = { id, artifactId: row.artifactId, reward: row.reward, createdAt: row.createdAt };
  switch (row.type) {
    case 'correction':
      return { ...base, type: 'correction', similarity: row.similarity!, length: row.correctedText!.length };
    case 'validation':
      return { ...base, type: 'validation', score: row.score!, reasons: [...row.reasons!], validator: row.validator! };
    default:
      return { ...base, type: row.type };
  }
}
