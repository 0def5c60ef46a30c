import type { ArtifactKind, ValidationReason, ValidationResult } from '../../../shared/contract/validation';

/** Collects a validator's checks; the score is the sum of the points earned, out of 100. */
export class Scorecard {
  private readonly reasons: ValidationReason[] = [];

  /** A check worth `of` points; `fraction` (0–1) of them are earned, all when `ok` and no fraction is given. */
  check(ok: boolean, text: string, of: number, fraction = ok ? 1 : 0): this {
    const earned = Math.max(0, Math.min(1, fraction));
    this.reasons.push({ ok, text, points: round1(of * earned), of });
    return this;
  }

  /** A remark that costs nothing, e.g. which parser ran or what was stripped. */
  note(text: string): this {
    this.reasons.push({ ok: true, text, points: 0, of: 0 });
    return this;
  }

  result(kind: ArtifactKind, validator: string): ValidationResult {
    const total = this.reasons.reduce((sum, r) => sum + r.of, 0);
    if (Math.abs(total - 100) > 1e-9) throw new Error(`The ${kind} validator's checks add up to ${total} points, not 100.`);
    const score = round1(this.reasons.reduce((sum, r) => sum + r.points, 0));
    return { kind, score: Math.min(100, score), reasons: this.reasons, validator };
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** "3 of 4" phrasing helper: the fraction, 1 when there is nothing to count. */
export function share(good: number, all: number): number {
  return all === 0 ? 1 : good / all;
}
