import { describe, expect, it } from 'vitest';
import { exampleOutcome, isEligible } from '../../shared/example';
import { DEFAULT_REWARD_SETTINGS, formatReward, guideRewardPolicy, RewardSettings } from '../../shared/reward';
import { textSimilarity } from '../../shared/similarity';

const reward = (input: Parameters<typeof guideRewardPolicy>[0]) => guideRewardPolicy(input, DEFAULT_REWARD_SETTINGS);
const validation = (score: number) => reward({ type: 'validation', score });

describe("reward policy (the guide's table)", () => {
  it('scales validation successes from +0.8 at 80 to +1.0 at 100', () => {
    expect(validation(80)).toBe(0.8);
    expect(validation(90)).toBe(0.9);
    expect(validation(100)).toBe(1);
  });

  it('gives nothing between 60 and 80', () => {
    expect(validation(60)).toBe(0);
    expect(validation(70)).toBe(0);
    expect(validation(79.9)).toBe(0);
  });

  it('scales validation failures from −0.3 just below 60 to −1.0 at 0', () => {
    expect(validation(59.9)).toBeCloseTo(-0.3012, 4);
    expect(validation(59.9)).toBeLessThan(-0.3);
    expect(validation(30)).toBe(-0.65);
    expect(validation(0)).toBe(-1);
  });

  it('scores corrections from +0.2 (total rewrite) to +0.6 (smallest edit)', () => {
    expect(reward({ type: 'correction', similarity: 1 })).toBe(0.6); // an empty edit
    expect(reward({ type: 'correction', similarity: 0 })).toBe(0.2); // a total rewrite
    expect(reward({ type: 'correction', similarity: 0.5 })).toBe(0.4);
    const small = reward({ type: 'correction', similarity: textSimilarity('erDiagram\n  USER ||--o{ ORDER : places', 'erDiagram\n  USER ||--o{ ORDERS : places') });
    const large = reward({ type: 'correction', similarity: textSimilarity('erDiagram\n  USER ||--o{ ORDER : places', 'flowchart TD\n  A --> B') });
    expect(small).toBeGreaterThan(large);
    expect(small).toBeLessThanOrEqual(0.6);
    expect(large).toBeGreaterThanOrEqual(0.2);
  });

  it('scores 👍 from +0.7 to +1.0 and 👎 from −0.9 to −1.0 by what validation said', () => {
    expect(reward({ type: 'explicit_positive', validationScore: null })).toBe(1);
    expect(reward({ type: 'explicit_positive', validationScore: 100 })).toBe(1);
    expect(reward({ type: 'explicit_positive', validationScore: 0 })).toBe(0.7);
    expect(reward({ type: 'explicit_positive', validationScore: 50 })).toBe(0.85);
    expect(reward({ type: 'explicit_negative', validationScore: null })).toBe(-1);
    expect(reward({ type: 'explicit_negative', validationScore: 0 })).toBe(-1);
    expect(reward({ type: 'explicit_negative', validationScore: 100 })).toBe(-0.9);
  });

  it('takes thresholds and ranges from the settings', () => {
    const settings: RewardSettings = {
      ...DEFAULT_REWARD_SETTINGS,
      validation: { ...DEFAULT_REWARD_SETTINGS.validation, successAt: 90, failureBelow: 50 },
      positive: { weak: 0.5, strong: 0.5 },
    };
    expect(guideRewardPolicy({ type: 'validation', score: 85 }, settings)).toBe(0);
    expect(guideRewardPolicy({ type: 'validation', score: 90 }, settings)).toBe(0.8);
    expect(guideRewardPolicy({ type: 'validation', score: 55 }, settings)).toBe(0);
    expect(guideRewardPolicy({ type: 'explicit_positive', validationScore: null }, settings)).toBe(0.5);
    expect(guideRewardPolicy({ type: 'validation', score: 100 }, { ...settings, validation: { ...settings.validation, successAt: 100 } })).toBe(1);
  });

  it('refuses settings outside [−1, 1] or with the failure threshold above the success one', () => {
    expect(RewardSettings.safeParse(DEFAULT_REWARD_SETTINGS).success).toBe(true);
    const tooHigh = RewardSettings.safeParse({ ...DEFAULT_REWARD_SETTINGS, positive: { weak: 0.7, strong: 1.5 } });
    expect(tooHigh.error?.issues[0]?.path).toEqual(['positive', 'strong']);
    const crossed = RewardSettings.safeParse({ ...DEFAULT_REWARD_SETTINGS, validation: { ...DEFAULT_REWARD_SETTINGS.validation, failureBelow: 90 } });
    expect(crossed.error?.issues[0]?.path).toEqual(['validation', 'failureBelow']);
  });

  it('formats rewards with a sign', () => {
    expect(formatReward(0.8512)).toBe('+0.85');
    expect(formatReward(-1)).toBe('−1.00');
    expect(formatReward(0)).toBe('0.00');
    expect(formatReward(-0.001)).toBe('0.00');
  });
});

describe('text similarity', () => {
  it('is 1 for equal texts and 0 for texts with nothing in common', () => {
    expect(textSimilarity('abc', 'abc')).toBe(1);
    expect(textSimilarity('', '')).toBe(1);
    expect(textSimilarity('a\r\nb', 'a\nb')).toBe(1);
    expect(textSimilarity('abcdef', 'uvwxyz')).toBe(0);
    expect(textSimilarity('', 'something')).toBe(0);
  });

  it('falls as the edit grows', () => {
    const base = 'erDiagram\n  CUSTOMER ||--o{ ORDER : places\n  ORDER ||--|{ LINE_ITEM : contains\n';
    const one = textSimilarity(base, base.replace('places', 'placed'));
    const two = textSimilarity(base, base.replace('places', 'placed').replace('contains', 'holds'));
    expect(one).toBeGreaterThan(two);
    expect(one).toBeGreaterThan(0.85);
    expect(two).toBeGreaterThan(0);
  });
});

describe('training example of an artifact', () => {
  const e = (id: number, type: 'explicit_positive' | 'explicit_negative' | 'correction' | 'validation', reward: number) => ({ id, type, reward });

  it('is null with no events, and the validation alone decides without a user judgement', () => {
    expect(exampleOutcome([])).toBeNull();
    expect(exampleOutcome([e(1, 'validation', 0.9), e(2, 'validation', -0.5)])).toEqual({ correctionId: 0, reward: -0.5, decidedBy: 2 });
  });

  it("takes the latest correction's text and the latest user judgement's reward", () => {
    expect(exampleOutcome([e(1, 'validation', 1), e(2, 'explicit_positive', 0.9)])).toEqual({ correctionId: 0, reward: 0.9, decidedBy: 2 });
    expect(exampleOutcome([e(1, 'explicit_positive', 1), e(2, 'correction', 0.5), e(3, 'validation', 1)])).toEqual({ correctionId: 2, reward: 0.5, decidedBy: 2 });
    // 👍 after a correction approves the corrected text; 👎 after it condemns it.
    expect(exampleOutcome([e(2, 'correction', 0.5), e(3, 'explicit_positive', 1)])).toEqual({ correctionId: 2, reward: 1, decidedBy: 3 });
    expect(exampleOutcome([e(2, 'correction', 0.5), e(3, 'explicit_negative', -1)])).toEqual({ correctionId: 2, reward: -1, decidedBy: 3 });
  });

  it('is eligible at and above the threshold only', () => {
    expect(isEligible(0.3, 0.3)).toBe(true);
    expect(isEligible(0.2999, 0.3)).toBe(false);
  });
});
