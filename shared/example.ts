/** The part of a feedback event that decides an artifact's training example. */
export interface OutcomeEvent {
  readonly id: number;
  readonly type: 'explicit_positive' | 'explicit_negative' | 'correction' | 'validation';
  readonly reward: number;
}

/** An artifact's training example: which text to train on, and how good it is. */
export interface ExampleOutcome {
  /** 0 when the target is the generated output, else the id of the correction whose text is the target. */
  readonly correctionId: number;
  readonly reward: number;
  /** The event whose reward this is. */
  readonly decidedBy: number;
}

/**
 * The best target for an artifact and its reward (events in the order they were recorded). The target
 * is the latest correction if there is one, else the generated text. The reward is that of the latest
 * judgement by the user (👍, 👎 or a correction: a 👍 after a correction approves the corrected text);
 * without one, the latest validation's. Null when there is nothing to go on.
 */
export function exampleOutcome(events: readonly OutcomeEvent[]): ExampleOutcome | null {
  let correctionId = 0;
  let user: OutcomeEvent | undefined;
  let validation: OutcomeEvent | undefined;
  for (const event of events) {
    if (event.type === 'validation') validation = event;
    else user = event;
    if (event.type === 'correction') correctionId = event.id;
  }
  const decisive = user ?? validation;
  return decisive ? { correctionId, reward: decisive.reward, decidedBy: decisive.id } : null;
}

/** Whether an example with this reward is trained on (the guide's quality filter: reward ≥ threshold). */
export function isEligible(reward: number, minRewardThreshold: number): boolean {
  return reward >= minRewardThreshold;
}
