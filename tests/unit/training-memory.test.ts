// The training memory estimate (shared/training/memory.ts) against what the native trainer really allocates:
// weights + adapter/optimizer state + peak compute buffers (the engine's peakMemoryBytes), on the fixture shape and
// the 60M-parameter bench shape, F16 and Q8_0 bases, with and without gradient checkpointing.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Llama } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Trainer } from '../../native/index';
import type { TrainingSessionOptions } from '../../native/addon-types';
import type { ModelShape } from '../../shared/contract/models';
import type { LoraTarget } from '../../shared/training/config';
import {
  attentionPairs,
  baseWeightBytes,
  estimateTrainingMemory,
  loraParameters,
  moduleShape,
  parameterCount,
} from '../../shared/training/memory';
import type { TrainingMemoryInput } from '../../shared/training/memory';
import type { TensorType } from '../helpers/gguf/format';
import { testLlama } from '../helpers/llamaReference';
import { makeTempDir } from '../helpers/tempDir';
import { gaussian, writeTinyModel } from '../helpers/tinyModel';
import type { TinyModelSpec } from '../helpers/tinyModel';

const TARGETS: LoraTarget[] = ['attn_q', 'attn_k', 'attn_v', 'attn_output'];
/** The fixture models' shape (tests/helpers/fixtures.ts) and the train bench's (tests/bench/train.bench.ts). */
const SHAPES: Record<string, Omit<TinyModelSpec, 'type'>> = {
  fixture: { nEmbd: 64, nLayer: 2, nHead: 4, nHeadKv: 2, nFf: 128, contextLength: 512 },
  bench: { nEmbd: 512, nLayer: 8, nHead: 8, nHeadKv: 4, nFf: 1536, contextLength: 1024 },
};
/** Sequences of 128 tokens with the loss on the last 64 of each (a prompt, then its completion): two on the fixture, one on the bench shape (seconds on one thread). */
const BATCHES: Record<string, { nSeq: number; nTokens: number; lossTokens: number }> = {
  fixture: { nSeq: 2, nTokens: 128, lossTokens: 64 },
  bench: { nSeq: 1, nTokens: 128, lossTokens: 64 },
};

let llama: Llama;
let trainer: Trainer;
const dir = makeTempDir('architect-memory-');
const paths = new Map<string, string>();

beforeAll(async () => {
  llama = await testLlama();
  trainer = Trainer.forLlama(llama);
});
afterAll(() => dir.remove());

function modelFile(shape: string, type: TensorType): string {
  const key = `${shape}-${type}`;
  let path = paths.get(key);
  if (!path) {
    path = join(dir.path, `${key}.gguf`);
    // Tiled random weights: memory does not depend on the values, and the bench shape is written in a second.
    writeTinyModel(path, { type, ...SHAPES[shape]!, tiledRandom: true }, (t, d, r) => trainer.quantize(t, d, r));
    paths.set(key, path);
  }
  return path;
}

interface Measured {
  peakBytes: number;
  weightsBytes: number;
  stateBytes: number;
  computeBytes: number;
  shape: ModelShape;
  fileBytes: number;
  batch: { nSeq: number; nTokens: number; lossTokens: number };
}

/** One optimizer step (rank 8 on q/k/v/o) on one thread; the trainer's own peak, as the engine reports it. */
async function measure(shapeName: string, path: string, options: Partial<TrainingSessionOptions>): Promise<Measured> {
  const batch = BATCHES[shapeName]!;
  const model = await trainer.loadModel(path, { threads: 1, device: 'cpu' });
  const adapter = model.createAdapter({ rank: 8, alpha: 16, targets: TARGETS });
  const session = model.createTrainingSession(adapter, { cacheWeightCopies: false, ...options });
  try {
    const random = gaussian(9);
    const { nSeq, nTokens, lossTokens } = batch;
    const tokens = Int32Array.from({ length: nSeq * nTokens }, () => 3 + (Math.floor(Math.abs(random() * 7000)) % 31990));
    const rows: number[] = [];
    for (let s = 0; s < nSeq; s++) for (let t = nTokens - 1 - lossTokens; t < nTokens - 1; t++) rows.push(s * nTokens + t);
    await session.accumulate({ nSeq, nTokens, tokens, rows: Int32Array.from(rows), targets: Int32Array.from(rows, (r) => tokens[r + 1]!), weight: 1, dropoutSeed: 1 });
    await session.step({ lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, clip: 1 });
    const memory = session.memory();
    const i = model.info;
    return {
      peakBytes: i.weightsBytes + memory.stateBytes + memory.peakComputeBytes,
      weightsBytes: i.weightsBytes,
      stateBytes: memory.stateBytes,
      computeBytes: memory.peakComputeBytes,
      shape: { layers: i.layerCount, width: i.embeddingLength, heads: i.headCount, kvHeads: i.headCountKv, feedForward: i.feedForwardLength, vocabulary: i.vocabSize, contextLength: i.contextLength },
      fileBytes: statSync(path).size,
      batch,
    };
  } finally {
    session.dispose();
    adapter.dispose();
    model.dispose();
  }
}

function input(m: Measured, type: TensorType, overrides: Partial<TrainingMemoryInput>): TrainingMemoryInput {
  return {
    shape: m.shape,
    base: { bytes: m.fileBytes, type },
    rank: 8,
    targets: TARGETS,
    batchSize: m.batch.nSeq,
    maxLength: m.batch.nTokens,
    lossTokens: m.batch.lossTokens,
    gradientCheckpointing: false,
    device: 'cpu',
    ...overrides,
  };
}

const errors: string[] = [];
afterAll(() => console.log(`estimate vs measured peak:\n  ${errors.join('\n  ')}`));

describe.each(['fixture', 'bench'])('the estimate on the %s shape', (shapeName) => {
  describe.each(['f16', 'q8_0'] as TensorType[])('with a %s base', (type) => {
    it.each([[false], [true]])('lands within a quarter of the trainer’s measured peak, gradient checkpointing %s', async (gradientCheckpointing) => {
      const m = await measure(shapeName, modelFile(shapeName, type), { gradientCheckpointing });
      const estimate = estimateTrainingMemory(input(m, type, { gradientCheckpointing }));
      const error = estimate.trainerBytes / m.peakBytes - 1;
      errors.push(`${shapeName} ${type}${gradientCheckpointing ? ' checkpointing' : ''}: ${(100 * error).toFixed(1)}% (estimate ${(estimate.trainerBytes / 2 ** 20).toFixed(1)} MiB, measured ${(m.peakBytes / 2 ** 20).toFixed(1)} MiB)`);
      expect(Math.abs(error)).toBeLessThan(0.25);
      // The state is exact: A, B, their gradients and two AdamW moments, all F32.
      const { lora, optimizer, gradients } = estimate.parts;
      expect(Math.abs(lora + optimizer + gradients - m.stateBytes)).toBeLessThan(1024);
      // The weights from the file size are within the file's header (its vocabulary) of the loaded bytes.
      expect(estimate.parts.weights).toBeGreaterThanOrEqual(m.weightsBytes);
      expect(estimate.parts.weights - m.weightsBytes).toBeLessThan(2e6);
    });
  });

  it('counts the copies a CPU session keeps between steps, and the GPU path’s one attention block and F32 copies', async () => {
    const path = modelFile(shapeName, 'f16');
    const cached = await measure(shapeName, path, { cacheWeightCopies: true });
    const cachedEstimate = estimateTrainingMemory(input(cached, 'f16', { cacheWeightCopies: true }));
    expect(Math.abs(cachedEstimate.trainerBytes / cached.peakBytes - 1)).toBeLessThan(0.25);
    for (const gradientCheckpointing of [false, true]) {
      // gpuPath runs on the CPU what a GPU runs: ggml's copies and cross-entropy, one attention block.
      const gpu = await measure(shapeName, path, { gradientCheckpointing, gpuPath: true, attentionBlocks: 1 });
      const estimate = estimateTrainingMemory(input(gpu, 'f16', { gradientCheckpointing, device: 'gpu' }));
      const error = estimate.trainerBytes / gpu.peakBytes - 1;
      errors.push(`${shapeName} f16 GPU path${gradientCheckpointing ? ' checkpointing' : ''}: ${(100 * error).toFixed(1)}%`);
      expect(Math.abs(error)).toBeLessThan(0.25);
    }
  });
});

describe('the estimate’s arithmetic', () => {
  const llama8b: ModelShape = { layers: 32, width: 4096, heads: 32, kvHeads: 8, feedForward: 14336, vocabulary: 128256, contextLength: 8192 };
  const base: TrainingMemoryInput = {
    shape: llama8b,
    base: { bytes: 4.92e9, type: 'Q4_K_M' },
    rank: 8,
    targets: TARGETS,
    batchSize: 1,
    maxLength: 512,
    gradientCheckpointing: false,
    device: 'gpu',
  };

  it('sizes LoRA by the modules: A is [in, r], B is [r, out]', () => {
    expect(moduleShape(llama8b, 'attn_k')).toEqual([4096, 1024]);
    expect(moduleShape(llama8b, 'ffn_down')).toEqual([14336, 4096]);
    // q and o: 2 × 8 × (4096 + 4096); k and v: 2 × 8 × (4096 + 1024); per layer, 32 layers.
    expect(loraParameters(llama8b, 8, TARGETS)).toBe(32 * (2 * 8 * 8192 + 2 * 8 * 5120));
    const e = estimateTrainingMemory(base);
    expect(e.parts.lora).toBe(4 * e.loraParameters);
    expect(e.parts.optimizer).toBe(8 * e.loraParameters);
    expect(e.parts.gradients).toBe(4 * e.loraParameters);
    // Llama 3 8B has 8.03 billion parameters.
    expect(parameterCount(llama8b) / 1e9).toBeCloseTo(8.03, 2);
    expect(baseWeightBytes(llama8b, { type: 'q8_0' }) / 1e9).toBeCloseTo(8.53, 1);
  });

  it('grows with batch, length and rank; checkpointing and 4 bits shrink it', () => {
    const at = (o: Partial<TrainingMemoryInput>) => estimateTrainingMemory({ ...base, ...o }).totalBytes;
    expect(at({ batchSize: 2 })).toBeGreaterThan(at({}));
    expect(at({ maxLength: 1024 })).toBeGreaterThan(at({}));
    expect(at({ rank: 32 })).toBeGreaterThan(at({}));
    expect(at({ gradientCheckpointing: true })).toBeLessThan(at({}));
    expect(at({ base: { bytes: 16.1e9, type: 'f16' } })).toBeGreaterThan(at({}) + 10e9);
    // Activations scale with the batch: twice the sequences, about twice the layers' share.
    const one = estimateTrainingMemory(base).parts.activations;
    const four = estimateTrainingMemory({ ...base, batchSize: 4 }).parts.activations;
    expect(four / one).toBeGreaterThan(2);
    expect(four / one).toBeLessThan(4.5);
  });

  it('counts causal attention’s blocks as the trainer computes them', () => {
    expect(attentionPairs(512, 1)).toBe(512 * 512);
    // Four blocks of 128 queries see 128, 256, 384 and 512 keys: 10/16 of the square.
    expect(attentionPairs(512, 4)).toBe(128 * (128 + 256 + 384 + 512));
  });

  it('summarises in GB and refuses impossible input with the reason', () => {
    expect(estimateTrainingMemory(base).summary).toMatch(/^needs \d+\.\d GB: weights 4\.9, LoRA 0\.\d+, optimizer 0\.\d+, gradients 0\.\d+, activations \d+\.\d \(logits \d\.\d+\), backend 0\.5$/);
    expect(() => estimateTrainingMemory({ ...base, batchSize: 0 })).toThrow(/batchSize must be a whole number ≥ 1, got 0/);
    expect(() => estimateTrainingMemory({ ...base, rank: Number.NaN })).toThrow(/rank .* got NaN/);
    expect(() => estimateTrainingMemory({ ...base, maxLength: 10_000 })).toThrow(/longer than the model's context of 8192/);
    expect(() => estimateTrainingMemory({ ...base, targets: [] })).toThrow(/at least one LoRA target/);
    expect(() => estimateTrainingMemory({ ...base, base: {} })).toThrow(/bytes .* or its type/);
    expect(() => estimateTrainingMemory({ ...base, base: { type: 'q9_9' } })).toThrow(/unknown weight type 'q9_9'/);
    expect(() => estimateTrainingMemory({ ...base, base: { bytes: -1 } })).toThrow(/base\.bytes/);
  });
});
