import type { CSSProperties } from 'react';
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

/** Kept in the text (copy, search, screen readers) but not drawn: a machine without an emoji font shows a box. */
const UNDRAWN: CSSProperties = { position: 'absolute', width: 1, height: 1, overflow: 'hidden', clip: 'rect(0 0 0 0)', whiteSpace: 'nowrap' };

/** A thumb drawn as an inline icon, so it reads the same with or without an emoji font. */
export function ThumbIcon({ down = false }: { down?: boolean }) {
  return (
    <svg
      aria-hidden="true"
      viewBox="0 0 24 24"
      width="1em"
      height="1em"
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
      strokeLinecap="round"
      strokeLinejoin="round"
      style={{ verticalAlign: '-0.125em' }}
    >
      {down ? (
        <path d="M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3zm7-13h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17" />
      ) : (
        <path d="M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3zM7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3" />
      )}
    </svg>
  );
}

/** 👍 or 👎: the icon is drawn, the emoji stays in the text. */
export function Thumb({ down = false }: { down?: boolean }) {
  return (
    <span className="thumb-symbol" style={{ position: 'relative' }}>
      <ThumbIcon down={down} />
      <span style={UNDRAWN}>{down ? '👎' : '👍'}</span>
    </span>
  );
}

/** An event's label with its thumb drawn as an icon: "👍 Good", "✎ Correction 0.91", "✓ Validation 85". */
export function EventLabel({ event }: { event: FeedbackEvent }) {
  if (event.type === 'explicit_positive' || event.type === 'explicit_negative') {
    const down = event.type === 'explicit_negative';
    return (
      <>
        <Thumb down={down} /> {down ? 'Bad' : 'Good'}
      </>
    );
  }
  return <>{eventLabel(event)}</>;
}

/** What an event was, in a few characters: "👍 Good", "✎ Correction 0.91", "✓ Validation 85". */
export function eventLabel(event: FeedbackEvent): string {
  if (event.type === 'validation') return `${EVENT_LABELS.validation} ${event.score}`;
  if (event.type === 'correction') return `${EVENT_LABELS.correction} ${event.similarity.toFixed(2)}`;
  return EVENT_LABELS[event.type];
}

/** An event with its reward, as a chip. */
export function EventChip({ event }: { event: FeedbackEvent }) {
  return (
    <span className={`event-chip ${event.type}`} data-testid={`event-${event.type}`} title={new Date(event.createdAt).toLocaleString()}>
      <span>
        <EventLabel event={event} />
      </span>{' '}
      <RewardBadge reward={event.reward} />
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

/** A validation event's score, reward, reasons and validator: the Validation card's body on every page. */
export function ValidationDetails({ validation, rewardTestId }: { validation: Extract<FeedbackEvent, { type: 'validation' }>; rewardTestId: string }) {
  return (
    <>
      <div className="row">
        <span className="label">Score</span>
        <ScoreBadge score={validation.score} />
      </div>
      <div className="row">
        <span className="label">Reward</span>
        <RewardBadge reward={validation.reward} testId={rewardTestId} />
      </div>
      <ValidationReasons reasons={validation.reasons} />
      <p className="muted">Checked by {validation.validator}.</p>
    </>
  );
}
