import type { Schedule } from './config';

/**
 * Learning rate for optimizer update `step` (0-based) of `total`: linear warm-up over `warmup` steps,
 * then constant, linear decay to 0, or cosine decay to 0 (as in Hugging Face's schedulers).
 */
export function learningRateAt(step: number, total: number, base: number, schedule: Schedule, warmup: number): number {
  if (step < warmup) return (base * (step + 1)) / warmup;
  const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  switch (schedule) {
    case 'constant':
      return base;
    case 'linear':
      return base * (1 - progress);
    case 'cosine':
      return base * 0.5 * (1 + Math.cos(Math.PI * progress));
  }
}
