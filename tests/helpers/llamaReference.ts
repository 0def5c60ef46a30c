import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import type { Llama, LlamaModel, Token } from 'node-llama-cpp';

let llama: Promise<Llama> | undefined;

/** node-llama-cpp's runtime for tests: whatever backend it picks here (the CPU in CI). Never compiles. */
export function testLlama(): Promise<Llama> {
  llama ??= getLlama({ gpu: 'auto', build: 'never', logLevel: LlamaLogLevel.error });
  return llama;
}

/**
 * node-llama-cpp's log-probability of each next token, from its full-vocabulary next-token probabilities
 * (greedy sampling, so nothing is filtered). The KV cache is F32 and flash attention off, so llama.cpp
 * computes attention at the same precision as our trainer.
 */
export async function referenceLogProbs(model: LlamaModel, tokens: readonly number[], adapterPath?: string): Promise<number[]> {
  const context = await model.createContext({
    contextSize: Math.max(64, tokens.length),
    flashAttention: false,
    experimentalKvCacheKeyType: 'F32',
    experimentalKvCacheValueType: 'F32',
    ...(adapterPath ? { lora: { adapters: [{ filePath: adapterPath, scale: 1 }] } } : {}),
  });
  try {
    const input = tokens.map((token, i) =>
      i < tokens.length - 1 ? ([token as Token, { generateNext: { probabilities: true } }] as const) : (token as Token),
    );
    const results = await context.getSequence().controlledEvaluate(input as never);
    return tokens.slice(1).map((next, i) => Math.log(results[i]?.next.probabilities?.get(next as Token) ?? 0));
  } finally {
    await context.dispose();
  }
}

/** Largest absolute difference between two equal-length number lists. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** Max and median absolute difference. */
export function diffStats(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; median: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  const d = Array.from(a, (v, i) => Math.abs(v - b[i]!)).sort((x, y) => x - y);
  return { max: d[d.length - 1] ?? 0, median: d[Math.floor(d.length / 2)] ?? 0 };
}
