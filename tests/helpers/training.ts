import { LoraTarget, TrainingConfig } from '../../shared/training/config';
import type { TrainingConfigInput } from '../../shared/training/config';
import type { LoadModelOptions, LoraAdapter, Trainer, TrainerModel } from '../../native/index';
import { gaussian } from './tinyModel';

/** Every module LoRA can adapt (shared/training/config.ts's one list). */
export const ALL_TARGETS = LoraTarget.options;

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

/** Two padded sequences (llama vocabulary) with the loss on some positions only: the batch gradient checks use. */
export const GRADIENT_BATCH = {
  nSeq: 2,
  nTokens: 8,
  tokens: Int32Array.from([1, 450, 4996, 17354, 1701, 29916, 432, 17204, 975, 278, 17366, 11203, 29889, 2, 0, 0]),
  rows: Int32Array.from([3, 4, 5, 6, 11, 12]),
  targets: Int32Array.from([1701, 29916, 432, 17204, 29889, 2]),
  weight: 1,
  dropoutSeed: 0,
};
export type GradientBatch = typeof GRADIENT_BATCH;

/** A model and a rank-4 adapter on attn_q, attn_v and ffn_down whose B tensors are not zero (seeded), so that every LoRA tensor has a gradient. */
export async function gradientSetUp(trainer: Trainer, path: string, options: LoadModelOptions = { threads: 1 }): Promise<{ model: TrainerModel; adapter: LoraAdapter }> {
  const model = await trainer.loadModel(path, options);
  const adapter = model.createAdapter({ rank: 4, alpha: 8, targets: ['attn_q', 'attn_v', 'ffn_down'] });
  const random = gaussian(5);
  for (const name of adapter.tensorNames().filter((n) => n.endsWith('lora_b'))) {
    adapter.setTensor(name, Float32Array.from(adapter.getTensor(name), () => 0.1 * random()));
  }
  return { model, adapter };
}

/** The loss of one micro-batch and every LoRA gradient after it, concatenated (gradientSetUp's adapter). */
export async function loraGradients(
  trainer: Trainer,
  path: string,
  options: Parameters<TrainerModel['createTrainingSession']>[1] = {},
  batch: GradientBatch = GRADIENT_BATCH,
  load?: LoadModelOptions,
): Promise<{ loss: number; gradients: Float32Array; device: string }> {
  const { model, adapter } = await gradientSetUp(trainer, path, load);
  const session = model.createTrainingSession(adapter, options);
  try {
    const loss = await session.accumulate(batch);
    const parts = adapter.tensorNames().map((name) => session.gradient(name));
    const gradients = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((offset, p) => (gradients.set(p, offset), offset + p.length), 0);
    return { loss, gradients, device: model.info.device };
  } finally {
    session.dispose();
    adapter.dispose();
    model.dispose();
  }
}

/** ‖actual − expected‖ / ‖expected‖. */
export function relativeError(actual: Float32Array, expected: Float32Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i]! - expected[i]!) ** 2;
    norm += expected[i]! ** 2;
  }
  return Math.sqrt(diff / norm);
}
