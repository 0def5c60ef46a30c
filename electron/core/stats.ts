import type { Store } from '../../db/store';
import { FeedbackType } from '../../shared/contract/feedback';
import type { Stats } from '../../shared/contract/learning';
import { ArtifactKind } from '../../shared/contract/validation';
import type { LearningLoop } from './learning';

/** The guide's get_learning_stats(), and more: one consistent read of the whole store. */
export function readStats(store: Store, learning: LearningLoop): Stats {
  return store.db.transaction(() => {
    const totals = store.stats.feedbackTotals();
    const status = learning.readStatus(learning.state());
    const round = (x: number) => Math.round(x * 1e4) / 1e4;
    return {
      totalFeedback: totals.total,
      averageReward: totals.averageReward === null ? null : round(totals.averageReward),
      histogram: totals.histogram.map((count, i) => ({ from: round(-1 + i * 0.2), to: round(-0.8 + i * 0.2), count })),
      byType: Object.fromEntries(FeedbackType.options.map((t) => [t, totals.byType[t] ?? 0])) as Stats['byType'],
      byKind: Object.fromEntries(
        ArtifactKind.options.map((k) => [k, totals.byKind[k] ?? { artifacts: 0, feedback: 0 }]),
      ) as Stats['byKind'],
      artifacts: totals.artifacts,
      eligiblePending: status.pending,
      untilNextBatch: status.untilNextBatch,
      trainingBatches: status.batches,
      lastBatchAt: status.lastBatchAt,
    };
  })();
}
