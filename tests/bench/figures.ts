/** One measured figure, e.g. { name: 'feedback.record.p50', value: 0.21, unit: 'ms' }. */
export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** What it is compared with (the guide's figure, a target), shown beside it. */
  readonly note?: string;
}

/** A group of figures measured together; suites register in tests/bench/index.ts. */
export interface BenchSuite {
  readonly name: string;
  run(record: (figure: Figure) => void): Promise<void>;
}

/** Peak resident set size of this process so far, in MiB (Linux and macOS report it). */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Percentile (0–100) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}
