import type { Llama, Token } from 'node-llama-cpp';
import type { Trainer } from '../../native/index';

export const N_TOKENS = 512;
const STEPS = 4;

/**
 * One sequence with the loss on its last `lossRows` positions (a completion after its prompt); by default on
 * every position: the most work a step of that length can do.
 */
export function benchBatch(tokens: readonly number[], lossRows = tokens.length - 1) {
  const first = tokens.length - 1 - lossRows;
  return {
    nSeq: 1,
    nTokens: tokens.length,
    tokens: Int32Array.from(tokens),
    rows: Int32Array.from({ length: lossRows }, (_, i) => first + i),
    targets: Int32Array.from(tokens.slice(first + 1)),
    weight: 1,
    dropoutSeed: 1,
  };
}

export interface TrainingFigures {
  tokensPerSecond: number;
  /** Weights + adapter/optimizer state + peak compute buffers. */
  peakBytes: number;
  device: string;
  cpuFallbackOps: string[];
}

/**
 * LoRA rank 8 on q/k/v/o: one warm-up step, then the fastest of STEPS optimizer steps (each does the same work;
 * the fastest is the least disturbed by other load, as measurePromptEval's best run is).
 */
export async function measureTraining(
  trainer: Trainer,
  path: string,
  tokens: readonly number[],
  options: { threads: number; device?: 'cpu' | 'gpu' | 'auto'; gradientCheckpointing: boolean; lossRows?: number },
): Promise<TrainingFigures> {
  const model = await trainer.loadModel(path, { threads: options.threads, device: options.device ?? 'auto' });
  const adapter = model.createAdapter({ rank: 8, alpha: 16, targets: ['attn_q', 'attn_k', 'attn_v', 'attn_output'] });
  const session = model.createTrainingSession(adapter, { gradientCheckpointing: options.gradientCheckpointing });
  try {
    const batch = benchBatch(tokens, options.lossRows);
    const step = { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, clip: 1 };
    await session.accumulate(batch);
    await session.step(step);
    let seconds = Infinity;
    for (let i = 0; i < STEPS; i++) {
      const started = performance.now();
      await session.accumulate(batch);
      await session.step(step);
      seconds = Math.min(seconds, (performance.now() - started) / 1000);
    }
    const memory = session.memory();
    return {
      tokensPerSecond: tokens.length / seconds,
      peakBytes: model.info.weightsBytes + memory.stateBytes + memory.peakComputeBytes,
      device: model.info.device,
      cpuFallbackOps: memory.cpuFallbackOps,
    };
  } finally {
    session.dispose();
    adapter.dispose();
    model.dispose();
  }
}

/** node-llama-cpp's prompt evaluation of the same tokens: best of STEPS after a warm-up. */
export async function measurePromptEval(llama: Llama, path: string, tokens: readonly number[], threads: number): Promise<number> {
  const model = await llama.loadModel({ modelPath: path });
  const context = await model.createContext({ contextSize: Math.max(1024, tokens.length), batchSize: tokens.length, threads });
  try {
    const sequence = context.getSequence();
    let best = Infinity;
    for (let i = 0; i <= STEPS; i++) {
      await sequence.clearHistory();
      const started = performance.now();
      await sequence.evaluateWithoutGeneratingNewTokens(tokens as Token[]);
      if (i > 0) best = Math.min(best, (performance.now() - started) / 1000);
    }
    return tokens.length / best;
  } finally {
    await context.dispose();
    await model.dispose();
  }
}
