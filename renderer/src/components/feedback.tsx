import { ArtifactKind } from '../../../shared/contract/validation';
import type { FeedbackEvent } from '../../../shared/contract/feedback';
import type { ValidationReason } from '../../../shared/contract/validation';
import { formatReward } from '../../../shared/reward';

const EVENT_LABELS: Record<FeedbackEvent['type'], string> = {
  explicit_positive: '👍 Good',
  explicit_negative: '👎 Bad',
  correction: '✎ Correction',
  validation: '✓ Validation',
};

/** A reward, coloured by sign: +0.85, −1.00. */
export function RewardBadge({ reward, testId }: { reward: number | null; testId?: string }) {
  if (reward === null) return <span className="reward none">—</span>;
  const tone = reward > 0 ? 'positive' : reward < 0 ? 'negative' : 'neutral';
  return (
    <span className={`reward ${tone}`} data-testid={testId}>
      {formatReward(reward)}
    </span>
  );
}

/** What an event was, in a few characters: "👍", "✎ Correction 0.91", "✓ Validation 85". */
export function eventLabel(event: FeedbackEvent): string {
  if (event.type === 'validation') return `${EVENT_LABELS.validation} ${event.score}`;
  if (event.type === 'correction') return `${EVENT_LABELS.correction} ${event.similarity.toFixed(2)}`;
  return EVENT_LABELS[event.type];
}

/** An event with its reward, as a chip. */
export function EventChip({ event }: { event: FeedbackEvent }) {
  return (
    <span className={`event-chip ${event.type}`} data-testid={`event-${event.type}`} title={new Date(event.createdAt).toLocaleString()}>
      <span>{eventLabel(event)}</span> <RewardBadge reward={event.reward} />
    </span>
  );
}

/** A validation score 0–100, coloured by the guide's bands (≥ 80 success, < 60 failure). */
export function ScoreBadge({ score }: { score: number }) {
  const tone = score >= 80 ? 'positive' : score < 60 ? 'negative' : 'neutral';
  return (
    <span className={`score ${tone}`} data-testid="validation-score">
      {score}/100
    </span>
  );
}

/** A validator's checks: passed or not, with the points each earned. */
export function ValidationReasons({ reasons }: { reasons: readonly ValidationReason[] }) {
  return (
    <ul className="reasons" aria-label="Validation reasons">
      {reasons.map((reason, i) => (
        <li key={i} className={reason.ok ? 'ok' : 'failed'}>
          <span aria-hidden="true">{reason.ok ? '✓' : '✗'}</span> {reason.text}
          {reason.of > 0 && (
            <span className="muted">
              {' '}
              ({reason.points}/{reason.of})
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}

export const KIND_LABELS = {
  erd: 'ERD',
  flowchart: 'Flowchart',
  sequence: 'Sequence diagram',
  'api-doc': 'API doc',
  code: 'Code',
  other: 'Other',
} as const;

/** One <option> per artifact kind, labelled for people. */
export function KindOptions() {
  return ArtifactKind.options.map((k) => (
    <option key={k} value={k}>
      {KIND_LABELS[k]}
    </option>
  ));
}
