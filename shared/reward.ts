import { z } from 'zod';

/** A reward range: `weak` at the mild end of its trigger, `strong` at the far end. Rewards lie in [−1, 1]. */
const Range = z
  .object({ weak: z.number().min(-1).max(1), strong: z.number().min(-1).max(1) })
  .strict();

/** The guide's reward table, as settings. Scores are 0–100; similarities 0 (total rewrite) – 1 (no change). */
export const RewardSettings = z
  .object({
    validation: z
      .object({
        /** A validation score at or above this is a success. Default 80. */
        successAt: z.number().min(0).max(100),
        /** A validation score below this is a failure; between the two the reward is 0. Default 60. */
        failureBelow: z.number().min(0).max(100),
        /** At `successAt` → weak, at 100 → strong. Default +0.8 … +1.0. */
        success: Range,
        /** Just below `failureBelow` → weak, at 0 → strong. Default −0.3 … −1.0. */
        failure: Range,
      })
      .strict()
      .refine((v) => v.failureBelow <= v.successAt, { error: 'failureBelow must not exceed successAt', path: ['failureBelow'] }),
    /** Total rewrite → weak, smallest edit → strong. Default +0.2 … +0.6. */
    correction: Range,
    /** 👍 on an artifact that failed validation → weak; validated perfect or unvalidated → strong. Default +0.7 … +1.0. */
    positive: Range,
    /** 👎 on an artifact that validated perfectly → weak; otherwise → strong. Default −0.9 … −1.0. */
    negative: Range,
  })
  .strict();
export type RewardSettings = z.infer<typeof RewardSettings>;

export const DEFAULT_REWARD_SETTINGS: RewardSettings = {
  validation: {
    successAt: 80,
    failureBelow: 60,
    success: { weak: 0.8, strong: 1.0 },
    failure: { weak: -0.3, strong: -1.0 },
  },
  correction: { weak: 0.2, strong: 0.6 },
  positive: { weak: 0.7, strong: 1.0 },
  negative: { weak: -0.9, strong: -1.0 },
};

/** What a reward is computed from: one feedback event, with what is known about its artifact. */
export type RewardInput =
  /** `validationScore`: the artifact's latest validation score (0–100), or null when it has none. */
  | { readonly type: 'explicit_positive'; readonly validationScore: number | null }
  | { readonly type: 'explicit_negative'; readonly validationScore: number | null }
  /** `similarity`: 1 for an unchanged text, 0 for a total rewrite. */
  | { readonly type: 'correction'; readonly similarity: number }
  | { readonly type: 'validation'; readonly score: number };

/** A reward function; replaceable. The store refuses any result outside [−1, 1]. */
export type RewardPolicy = (input: RewardInput, settings: RewardSettings) => number;

const lerp = (range: { weak: number; strong: number }, t: number) => range.weak + (range.strong - range.weak) * clamp01(t);
const clamp01 = (t: number) => Math.min(1, Math.max(0, t));
/** Four decimals, so thresholds like 0.3 compare exactly; never −0. */
const round = (x: number) => Math.round(x * 1e4) / 1e4 + 0;

/** The guide's table ("Feedback Types & Rewards"), scaled inside each range. */
export const guideRewardPolicy: RewardPolicy = (input, settings) => {
  switch (input.type) {
    case 'validation': {
      const { successAt, failureBelow, success, failure } = settings.validation;
      if (input.score >= successAt) {
        return round(successAt >= 100 ? success.strong : lerp(success, (input.score - successAt) / (100 - successAt)));
      }
      if (input.score < failureBelow) return round(lerp(failure, 1 - input.score / failureBelow));
      return 0;
    }
    case 'correction':
      return round(lerp(settings.correction, input.similarity));
    case 'explicit_positive':
      return round(lerp(settings.positive, input.validationScore === null ? 1 : input.validationScore / 100));
    case 'explicit_negative':
      return round(lerp(settings.negative, input.validationScore === null ? 1 : 1 - input.validationScore / 100));
  }
};

/** +0.85, −1.00, 0.00: how a reward is shown everywhere. */
export function formatReward(reward: number): string {
  const text = Math.abs(reward).toFixed(2);
  if (text === '0.00') return '0.00';
  return `${reward < 0 ? '−' : '+'}${text}`;
}
