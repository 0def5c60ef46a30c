import type { ArtifactDetail } from '../../shared/contract/artifacts';
import type { FeedbackEvent, RecordResult } from '../../shared/contract/feedback';
import type { LearningStatus, Stats } from '../../shared/contract/learning';
import type { ValidationResult } from '../../shared/contract/validation';
import { formatReward } from '../../shared/reward';

const LABELS: Record<FeedbackEvent['type'], string> = {
  explicit_positive: '👍',
  explicit_negative: '👎',
  correction: 'correction',
  validation: 'validation',
};

/** One line for an event: what it was, its details, its reward. */
export function describeEvent(event: FeedbackEvent): string {
  const detail =
    event.type === 'validation' ? ` ${event.score}/100` : event.type === 'correction' ? ` (similarity ${event.similarity.toFixed(2)})` : '';
  return `${LABELS[event.type]}${detail} on artifact ${event.artifactId}: reward ${formatReward(event.reward)} (event ${event.id})`;
}

export function describeRecord(result: RecordResult): string {
  const lines = [`Recorded ${describeEvent(result.event)}`];
  if (result.example) {
    const { example } = result;
    lines.push(`Training example: ${example.target} text, reward ${formatReward(example.reward)}, ${example.eligible ? 'eligible' : 'not eligible'}`);
  }
  for (const batch of result.batches) lines.push(`Training batch ${batch.id} created (${batch.size} examples); adaptive job ${batch.jobId} ${batch.jobStatus}`);
  return lines.join('\n');
}

export function describeValidation(result: ValidationResult): string {
  const reasons = result.reasons.map((r) => `  ${r.ok ? '✓' : '✗'} ${r.text}${r.of > 0 ? ` (${r.points}/${r.of})` : ''}`);
  return [`Score ${result.score}/100 for ${result.kind} (${result.validator})`, ...reasons].join('\n');
}

export function describeArtifact(artifact: ArtifactDetail): string {
  return [
    `Artifact ${artifact.id} (${artifact.kind}), added ${artifact.createdAt}`,
    `Prompt: ${artifact.prompt.length > 200 ? `${artifact.prompt.slice(0, 200)}…` : artifact.prompt}`,
    ...artifact.events.map((e) => `  ${describeEvent(e)}`),
    artifact.example
      ? `Training example: ${artifact.example.target} text, reward ${formatReward(artifact.example.reward)}, ${artifact.example.eligible ? 'eligible' : 'not eligible'}${artifact.example.batchId ? `, in batch ${artifact.example.batchId}` : ''}`
      : 'No training example yet (no feedback).',
  ].join('\n');
}

export function describeLearning(status: LearningStatus): string {
  const { settings } = status;
  return [
    `Learning ${status.paused ? 'paused' : 'active'}; batch size ${settings.batchSize}, reward threshold ${settings.minRewardThreshold}, auto-trigger ${settings.autoTrigger ? 'on' : 'off'}`,
    `Eligible examples waiting: ${status.pending} (${status.untilNextBatch} until the next batch)`,
    `Training batches: ${status.batches}${status.lastBatchAt ? `, last at ${status.lastBatchAt}` : ''}`,
    `Adaptive jobs: ${status.jobs.queued} queued, ${status.jobs.running} running, ${status.jobs.succeeded} succeeded, ${status.jobs.failed} failed`,
  ].join('\n');
}

export function describeStats(stats: Stats): string {
  const types = Object.entries(stats.byType).map(([t, n]) => `${LABELS[t as FeedbackEvent['type']]} ${n}`).join(', ');
  const kinds = Object.entries(stats.byKind)
    .filter(([, k]) => k.artifacts > 0)
    .map(([kind, k]) => `${kind} ${k.artifacts} (${k.feedback} events)`)
    .join(', ');
  const widest = Math.max(1, ...stats.histogram.map((b) => b.count));
  const bars = stats.histogram.map(
    (b) => `  ${formatReward(b.from).padStart(5)} … ${formatReward(b.to).padStart(5)} ${'█'.repeat(Math.round((b.count / widest) * 30))} ${b.count}`,
  );
  return [
    `Total feedback: ${stats.totalFeedback}; average reward ${stats.averageReward === null ? '—' : formatReward(stats.averageReward)}`,
    `By type: ${types}`,
    `Artifacts: ${stats.artifacts}${kinds ? ` — ${kinds}` : ''}`,
    `Eligible examples waiting: ${stats.eligiblePending} (${stats.untilNextBatch} until the next batch); training batches: ${stats.trainingBatches}${stats.lastBatchAt ? `, last at ${stats.lastBatchAt}` : ''}`,
    'Reward histogram:',
    ...bars,
  ].join('\n');
}
