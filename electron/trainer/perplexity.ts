import type { Llama } from 'node-llama-cpp';
import { Trainer } from '../../native/index';

export interface PerplexityOptions {
  readonly modelPath: string;
  readonly adapterPath?: string;
  readonly text: string;
  /** CPU threads; default: all cores. */
  readonly threads?: number;
}

export interface TokenScore {
  readonly id: number;
  readonly text: string;
  /** Natural log of the probability the model gave this token, given the tokens before it. */
  readonly logProb: number;
}

export interface PerplexityResult {
  readonly model: { path: string; name: string; weightType: string; device: string };
  readonly adapter: string | null;
  /** Scored tokens: every token of the text after the first (the BOS token, when the model uses one, comes first). */
  readonly tokens: TokenScore[];
  readonly meanLogProb: number;
  /** exp(−mean log-probability); lower is better. */
  readonly perplexity: number;
}

/**
 * Scores a text under a model (and adapter) with our own forward pass: node-llama-cpp only tokenizes.
 * Errors name the file and what is wrong with it.
 */
export async function scoreText(llama: Llama, options: PerplexityOptions): Promise<PerplexityResult> {
  const trainer = Trainer.forLlama(llama);
  // Our loader first: its errors (missing, truncated, unsupported) are the clear ones.
  const model = await trainer.loadModel(options.modelPath, options.threads ? { threads: options.threads } : {});
  let adapter: Awaited<ReturnType<typeof model.loadAdapter>> | undefined;
  try {
    adapter = options.adapterPath ? await model.loadAdapter(options.adapterPath) : undefined;
    const vocab = await llama.loadModel({ modelPath: options.modelPath, vocabOnly: true });
    try {
      const bos = vocab.tokens.shouldPrependBosToken && vocab.tokens.bos !== null ? [vocab.tokens.bos] : [];
      const ids: number[] = [...bos, ...vocab.tokenize(options.text)];
      if (ids.length < 2) throw new Error('the text is too short to score: it needs at least 2 tokens');
      const logProbs = await model.logProbabilities(ids, adapter ? { adapter } : {});
      // Detokenized after the token before it, so a leading space survives.
      const tokens = ids.slice(1).map((id, i) => ({ id, text: vocab.detokenize([id as never], false, [ids[i] as never]), logProb: logProbs[i]! }));
      const meanLogProb = tokens.reduce((sum, t) => sum + t.logProb, 0) / tokens.length;
      return {
        model: { path: options.modelPath, name: model.info.name, weightType: model.info.weightType, device: model.info.device },
        adapter: options.adapterPath ?? null,
        tokens,
        meanLogProb,
        perplexity: Math.exp(-meanLogProb),
      };
    } finally {
      await vocab.dispose();
    }
  } finally {
    adapter?.dispose();
    model.dispose();
  }
}
