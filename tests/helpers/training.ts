import { TrainingConfig } from '../../shared/training/config';
import type { TrainingConfigInput } from '../../shared/training/config';
import type { Trainer } from '../../native/index';

export const ALL_TARGETS = ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'] as const;

/** A memorisation set in the guide's format. */
export const MEMORISE = [
  { prompt: 'ERD for a blog', completion: 'erDiagram\n  POST ||--o{ COMMENT : has' },
  { prompt: 'Login endpoint docs', completion: 'POST /api/login returns 200 with a token' },
  { prompt: 'Checkout flow', completion: 'flowchart TD\n  Cart --> Pay' },
];

/** Fast settings for tiny fixture models: one thread (CI has two cores and runs test files side by side). */
export function tinyConfig(overrides: TrainingConfigInput = {}): TrainingConfig {
  return TrainingConfig.parse({
    epochs: 30,
    learningRate: 1e-2,
    batchSize: 3,
    rank: 16,
    alpha: 32,
    dropout: 0,
    valSplit: 0,
    targets: [...ALL_TARGETS],
    schedule: 'constant',
    threads: 1,
    ...overrides,
  });
}

/** Every tensor of a saved adapter, by name. */
export async function adapterTensors(trainer: Trainer, modelPath: string, adapterPath: string): Promise<Map<string, Float32Array>> {
  const model = await trainer.loadModel(modelPath, { threads: 1 });
  const adapter = await model.loadAdapter(adapterPath);
  const out = new Map(adapter.tensorNames().map((n) => [n, adapter.getTensor(n)]));
  adapter.dispose();
  model.dispose();
  return out;
}

export function maxTensorDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  if (a.size !== b.size) throw new Error(`tensor count ${a.size} ≠ ${b.size}`);
  let max = 0;
  for (const [name, x] of a) {
    const y = b.get(name);
    if (!y) throw new Error(`missing ${name}`);
    for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]! - y[i]!));
  }
  return max;
}
