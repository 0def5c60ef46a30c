import type { GateMetrics } from '../contract/versions';

/**
 * The evaluation gate's rule: a new version serves only when it is better than the one it would replace
 * on the same held-out examples. Better: held-out loss lower by at least `minLossGain` (relative), and, for
 * diagram kinds, no lower a share of valid Mermaid and a mean validation score at most `maxScoreDrop` lower.
 */
export const GATE_RULE = { minLossGain: 0.005, maxScoreDrop: 2 } as const;

/** Greedy generations per side on held-out diagram prompts (the gate's stated number). */
export const GATE_PROMPTS = 8;
/** Token limit of each of those generations. */
export const GATE_MAX_TOKENS = 256;

export const GATE_RULE_TEXT =
  `better when its held-out loss is at least ${GATE_RULE.minLossGain * 100}% lower, and (diagram kinds) its share of valid Mermaid ` +
  `is not lower and its mean validation score is at most ${GATE_RULE.maxScoreDrop} points lower, on the same held-out examples`;

export interface GateVerdict {
  readonly passed: boolean;
  readonly summary: string;
}

const label = (version: number | null) => (version === null ? 'the plain base' : `v${version}`);
const share = (m: GateMetrics) => (m.validShare === null ? '—' : `${Math.round(m.validShare * m.prompts)}/${m.prompts}`);

/** The verdict on `candidate` (version `number`) against `against` (its parent, or the base), in words and numbers. */
export function judge(number: number, candidate: GateMetrics, againstVersion: number | null, against: GateMetrics): GateVerdict {
  const failures: string[] = [];
  const facts: string[] = [];
  if (candidate.validationLoss === null || against.validationLoss === null) {
    failures.push('there were no held-out examples to measure the loss on');
  } else {
    const change = (candidate.validationLoss - against.validationLoss) / against.validationLoss;
    facts.push(
      `held-out loss ${candidate.validationLoss.toFixed(3)} vs ${against.validationLoss.toFixed(3)} (${change >= 0 ? '+' : '−'}${Math.abs(change * 100).toFixed(1)}%) on ${candidate.examples} examples`,
    );
    if (change > -GATE_RULE.minLossGain) failures.push(`the loss is not ${GATE_RULE.minLossGain * 100}% lower`);
  }
  if (candidate.validShare !== null && against.validShare !== null) {
    facts.push(`valid Mermaid ${share(candidate)} vs ${share(against)}`);
    if (candidate.validShare < against.validShare) failures.push('fewer generations are valid Mermaid');
  }
  if (candidate.meanScore !== null && against.meanScore !== null) {
    facts.push(`mean score ${candidate.meanScore.toFixed(0)} vs ${against.meanScore.toFixed(0)}`);
    if (candidate.meanScore < against.meanScore - GATE_RULE.maxScoreDrop) failures.push(`the mean score is more than ${GATE_RULE.maxScoreDrop} points lower`);
  }
  const passed = failures.length === 0;
  const numbers = facts.length ? `: ${facts.join('; ')}` : '';
  const summary = passed
    ? `v${number} is better than ${label(againstVersion)}${numbers}.`
    : `v${number} is not better than ${label(againstVersion)}${numbers} (${failures.join('; ')}).`;
  return { passed, summary };
}
