// LoRA training on tiny fixture models: it learns, it masks, its gradients are right, it resumes exactly.
import { join } from 'node:path';
import { LlamaChatSession } from 'node-llama-cpp';
import type { Llama } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Trainer } from '../../native/index';
import type { TrainerModel } from '../../native/index';
import { buildBatch, finetune } from '../../electron/trainer/engine';
import { ExampleRenderer } from '../../electron/core/prompts/render';
import { SYSTEM_PROMPT } from '../../shared/training/config';
import { FIXTURES, fixtureFolder } from '../helpers/fixtures';
import type { TensorType } from '../helpers/gguf/format';
import type { TinyModelSpec } from '../helpers/tinyModel';
import { testLlama } from '../helpers/llamaReference';
import { gaussian, writeTinyAdapter } from '../helpers/tinyModel';
import { adapterTensors, GRADIENT_BATCH, gradientSetUp, loraGradients, MEMORISE, maxTensorDiff, relativeError, tinyConfig } from '../helpers/training';
import type { GradientBatch } from '../helpers/training';

let llama: Llama;
let trainer: Trainer;
let fixtures: ReturnType<typeof fixtureFolder>;

beforeAll(async () => {
  llama = await testLlama();
  trainer = Trainer.forLlama(llama);
  fixtures = fixtureFolder((type, data, row) => trainer.quantize(type, data, row));
});
afterAll(() => fixtures?.remove());

describe.each(Object.keys(FIXTURES) as TensorType[])('training on a frozen %s base', (type) => {
  it('drives the loss below 30% of its start within 30 steps', async () => {
    const { path } = fixtures.model(type, FIXTURES[type]);
    const losses: number[] = [];
    const result = await finetune(
      llama,
      { modelPath: path, examples: MEMORISE, outPath: join(fixtures.dir, `${type}-loss.gguf`), config: tinyConfig() },
      { onProgress: (p) => losses.push(p.trainLoss) },
    );
    expect(result.status).toBe('completed');
    expect(losses).toHaveLength(30);
    expect(losses.at(-1)!).toBeLessThan(0.3 * losses[0]!);
  });
});

describe('loss masking', () => {
  it('counts completion tokens only: the loss is their mean negative log-probability under the forward pass', async () => {
    const { path } = fixtures.model('f32', FIXTURES.f32);
    const vocab = await llama.loadModel({ modelPath: path, vocabOnly: true });
    const renderer = new ExampleRenderer(vocab, {});
    const rendered = MEMORISE.map((e) => renderer.render(e));
    await vocab.dispose();
    const model = await trainer.loadModel(path, { threads: 1 });
    const adapter = model.createAdapter({ rank: 4, targets: ['attn_q', 'ffn_up'] });
    const session = model.createTrainingSession(adapter);
    for (const example of rendered) {
      expect(example.completionStart).toBeGreaterThan(5);
      const batch = buildBatch([example], 0);
      expect(batch.rows.length).toBe(example.tokens.length - example.completionStart);
      const loss = await session.evaluate({ ...batch, weight: 1, dropoutSeed: 0 });
      const logProbs = await model.logProbabilities(example.tokens);
      const completion = Array.from(logProbs.slice(example.completionStart - 1));
      expect(loss).toBeCloseTo(-completion.reduce((a, b) => a + b, 0) / completion.length, 4);
      // Including the prompt would give another number: the mask matters.
      const all = Array.from(logProbs);
      expect(Math.abs(loss + all.reduce((a, b) => a + b, 0) / all.length)).toBeGreaterThan(0.05);
    }
    // Padding and the prompt positions' targets change nothing: other pad tokens, same loss and gradients.
    const batch = buildBatch(rendered, 0);
    const repadded = { ...batch, tokens: batch.tokens.map((t, i) => (rendered.some((e, s) => e.tokens.length < batch.nTokens && i === s * batch.nTokens + e.tokens.length) ? 7 : t)) };
    expect(repadded.tokens).not.toEqual(batch.tokens);
    const a = await session.accumulate({ ...batch, weight: 1, dropoutSeed: 0 });
    const gradA = session.gradient('blk.1.ffn_up.weight.lora_a');
    await session.step({ lr: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, clip: 0 });
    const b = await session.accumulate({ ...repadded, weight: 1, dropoutSeed: 0 });
    const gradB = session.gradient('blk.1.ffn_up.weight.lora_a');
    expect(b).toBe(a);
    expect(Array.from(gradB)).toEqual(Array.from(gradA));
    session.dispose();
    adapter.dispose();
    model.dispose();
  });

  it('a memorised set is reproduced by greedy generation in node-llama-cpp with the exported adapter, from the prompts alone', async () => {
    const { path } = fixtures.model('f32', FIXTURES.f32);
    const out = join(fixtures.dir, 'memorised.gguf');
    await finetune(llama, { modelPath: path, examples: MEMORISE, outPath: out, config: tinyConfig({ epochs: 40 }) });
    const model = await llama.loadModel({ modelPath: path });
    const context = await model.createContext({ contextSize: 256, threads: 1, lora: { adapters: [{ filePath: out }] } });
    for (const example of MEMORISE) {
      const sequence = context.getSequence();
      const chat = new LlamaChatSession({ contextSequence: sequence, systemPrompt: SYSTEM_PROMPT });
      expect(await chat.prompt(example.prompt, { maxTokens: 40 })).toBe(example.completion);
      chat.dispose({ disposeSequence: true });
    }
    await context.dispose();
    await model.dispose();
  });
});

describe('gradients', () => {
  const batch = GRADIENT_BATCH;
  const setUp = (type: TensorType, fixture: string = type, spec: TinyModelSpec = FIXTURES[type]) =>
    gradientSetUp(trainer, fixtures.model(fixture, spec).path);

  /** Every LoRA gradient after one micro-batch, concatenated. */
  async function gradients(
    type: TensorType,
    options: Parameters<TrainerModel['createTrainingSession']>[1],
    fixture: string = type,
    spec: TinyModelSpec = FIXTURES[type],
    input: GradientBatch = batch,
  ): Promise<Float32Array> {
    return (await loraGradients(trainer, fixtures.model(fixture, spec).path, options, input)).gradients;
  }

  // Central differences in float32 with h = 1e-2 on a loss of about 12: agreement to 1% (measured 0.4% worst).
  it.each([false, true])('match central finite differences on the F32 fixture (gradient checkpointing: %s)', async (checkpointing) => {
    const { model, adapter } = await setUp('f32');
    const session = model.createTrainingSession(adapter, { gradientCheckpointing: checkpointing });
    await session.accumulate(batch);
    let checked = 0;
    for (const name of ['blk.1.attn_q.weight.lora_a', 'blk.0.ffn_down.weight.lora_b', 'blk.0.attn_v.weight.lora_b', 'blk.1.ffn_down.weight.lora_a']) {
      const gradient = session.gradient(name);
      const values = adapter.getTensor(name);
      for (const i of [0, 5, 17, 40]) {
        const h = 1e-2;
        const original = values[i]!;
        values[i] = original + h;
        adapter.setTensor(name, values);
        const plus = await session.evaluate(batch);
        values[i] = original - h;
        adapter.setTensor(name, values);
        const minus = await session.evaluate(batch);
        values[i] = original;
        adapter.setTensor(name, values);
        const numeric = (plus - minus) / (2 * h);
        expect(Math.abs(gradient[i]! - numeric), `${name}[${i}]: ${gradient[i]} vs ${numeric}`).toBeLessThan(1e-2 * Math.abs(numeric) + 2e-4);
        checked++;
      }
    }
    expect(checked).toBe(16);
    session.dispose();
    adapter.dispose();
    model.dispose();
  });

  // Frozen weights enter the backward pass as transposed copies: BF16 for F16 weights, Q8_0 for quantized ones
  // (which also rounds the gradient they multiply to Q8_0 blocks). Against the exact F32 backward of the same
  // forward pass, measured relative error (L2, all LoRA tensors): f16 0.38%, q8_0 1.6%, q4_0 1.6%, q4_K 1.3%.
  // A wrong block or transpose gives ~100%.
  it.each([
    ['f16', 0.01],
    ['q8_0', 0.03],
    ['q4_0', 0.03],
    ['q4_K', 0.03],
  ] as [TensorType, number][])('through a %s base agree with the exact F32 backward pass (relative error < %d)', async (type, bound) => {
    const fast = await gradients(type, {});
    const exact = await gradients(type, { exactBackward: true });
    const error = relativeError(fast, exact);
    expect(error).toBeGreaterThan(0); // the two paths really differ: this checks the fast one, not itself
    expect(error).toBeLessThan(bound);
  });

  // Training skips the masked upper blocks of causal attention (graph.h: attention_blocks); the sums over the
  // keys it skips were of zeros, so only float rounding may differ. 70 tokens: a short last block too.
  it.each([false, true])('are the same with causal attention in blocks as in one (gradient checkpointing: %s)', async (gradientCheckpointing) => {
    const random = gaussian(9);
    const nTokens = 70;
    const long = {
      ...batch,
      nTokens,
      tokens: Int32Array.from({ length: 2 * nTokens }, () => 3 + Math.floor(Math.abs(random()) * 9000)),
      rows: Int32Array.from([5, 30, 40, 60, 68, nTokens + 10, nTokens + 50, nTokens + 69]),
      targets: Int32Array.from({ length: 8 }, () => 3 + Math.floor(Math.abs(random()) * 9000)),
    };
    const one = await gradients('f32', { gradientCheckpointing, attentionBlocks: 1 }, undefined, undefined, long);
    for (const attentionBlocks of [2, 4, 3]) {
      expect(relativeError(await gradients('f32', { gradientCheckpointing, attentionBlocks }, undefined, undefined, long), one)).toBeLessThan(1e-5);
    }
  });

  // GPT-2's 50257-token vocabulary is no multiple of Q8_0's 32-value blocks: the output weight's copy is F32.
  it('through a Q8_0 base whose output rows are no whole Q8_0 blocks', async () => {
    const spec: TinyModelSpec = { type: 'q8_0', vocab: 'gpt-2' };
    const fast = await gradients('q8_0', {}, 'q8_0-gpt2', spec);
    expect(relativeError(fast, await gradients('q8_0', { exactBackward: true }, 'q8_0-gpt2', spec))).toBeLessThan(0.03);
  });

  // Kept copies are the bytes each step would make again: after two AdamW steps, the same gradients to the bit.
  it.each(['f16', 'q8_0', 'q4_K'] as TensorType[])('are the same when the frozen weights\' copies are kept between steps (%s base), which costs their memory', async (type) => {
    const run = async (cacheWeightCopies: boolean) => {
      const { model, adapter } = await setUp(type);
      const session = model.createTrainingSession(adapter, { cacheWeightCopies });
      for (let i = 0; i < 2; i++) {
        await session.accumulate(batch);
        await session.step({ lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, clip: 1 });
      }
      await session.accumulate(batch);
      const out = { gradients: adapter.tensorNames().flatMap((name) => Array.from(session.gradient(name))), stateBytes: session.memory().stateBytes, weightsBytes: model.info.weightsBytes };
      session.dispose();
      adapter.dispose();
      model.dispose();
      return out;
    };
    const kept = await run(true);
    const made = await run(false);
    expect(kept.gradients).toEqual(made.gradients);
    expect(kept.gradients.some((g) => g !== 0)).toBe(true);
    expect(kept.stateBytes - made.stateBytes).toBeGreaterThan(0.3 * kept.weightsBytes);
  });

  // The GPU path copies frozen weights to F32 with ggml's ops (GET_ROWS dequantizes), takes ggml's cross-entropy
  // on one-hot labels the graph builds and runs every LoRA product as a MUL_MAT; the CPU's exact path copies to
  // F32 with its own tiled op, reads the target ids and runs short LoRA products as OUT_PRODs. The same numbers
  // summed in other orders: gradients equal to float rounding (measured 4e-6; one index off gives 1.2–1.6).
  it.each(['f32', 'f16', 'q8_0', 'q4_K'] as TensorType[])('are the CPU\'s exact ones on the GPU path on a %s base', async (type) => {
    for (const gradientCheckpointing of [false, true]) {
      const exact = await gradients(type, { gradientCheckpointing, exactBackward: true });
      const gpuPath = await gradients(type, { gradientCheckpointing, gpuPath: true });
      expect(relativeError(gpuPath, exact)).toBeLessThan(2e-5);
    }
  });

  // The CPU's tiled OUT_PROD (out_prod.cpp) on shapes that take each of its paths: tiles of 64 rows and single
  // vectors (96 and 160 wide), rows one by one (24-wide heads), columns in sixes and the rest (70 tokens), vectors
  // along columns (rank 4), work split between two threads. Against ggml's MUL_MATs on the GPU path.
  it('are the GPU path\'s where the CPU\'s tiled products take every tile shape', async () => {
    const spec: TinyModelSpec = { type: 'f32', nEmbd: 96, nHead: 4, nHeadKv: 2, nFf: 160 };
    const random = gaussian(9);
    const tokens = Int32Array.from({ length: 70 }, () => 3 + (Math.floor(Math.abs(random()) * 9000) % 31000));
    const rows = Int32Array.from({ length: 40 }, (_, i) => 29 + i);
    const input = { nSeq: 1, nTokens: 70, tokens, rows, targets: rows.map((r) => tokens[r + 1]!), weight: 1, dropoutSeed: 0 };
    const path = fixtures.model('f32-wide', spec).path;
    const cpu = await loraGradients(trainer, path, { exactBackward: true }, input, { threads: 2 });
    const gpuPath = await loraGradients(trainer, path, { gpuPath: true }, input, { threads: 2 });
    expect(cpu.gradients.some((g) => g !== 0)).toBe(true);
    expect(relativeError(cpu.gradients, gpuPath.gradients)).toBeLessThan(2e-5);
  });
});

describe('adapters from elsewhere', () => {
  it('an adapter on some layers only trains with gradient checkpointing; alpha 0 means scale 1; unknown tensors are refused', async () => {
    const { path, spec } = fixtures.model('f32', FIXTURES.f32);
    const partial = join(fixtures.dir, 'layer1-only.gguf');
    writeTinyAdapter(partial, spec, { rank: 4, alpha: 0, targets: ['attn_q'], layers: [1] });
    const model = await trainer.loadModel(path, { threads: 1 });
    const adapter = await model.loadAdapter(partial);
    expect(adapter.info.scale).toBe(1);
    const session = model.createTrainingSession(adapter, { gradientCheckpointing: true });
    const batch = { nSeq: 1, nTokens: 6, tokens: Int32Array.from([1, 450, 4996, 17354, 1701, 2]), rows: Int32Array.from([2, 3, 4]), targets: Int32Array.from([17354, 1701, 2]), weight: 1, dropoutSeed: 0 };
    expect(Number.isFinite(await session.accumulate(batch))).toBe(true);
    expect(session.gradient('blk.1.attn_q.weight.lora_b').some((g) => g !== 0)).toBe(true);
    session.dispose();
    adapter.dispose();
    const extra = join(fixtures.dir, 'extra.gguf');
    writeTinyAdapter(extra, spec, { rank: 4, alpha: 8, targets: ['attn_q'], extraTensors: ['blk.9.attn_q.weight.lora_a'] });
    await expect(model.loadAdapter(extra)).rejects.toThrow(/'blk\.9\.attn_q\.weight\.lora_a' matches no weight of this model/);
    model.dispose();
  });
});

describe('checkpoints', () => {
  // Dropout, gradient accumulation and a schedule all on, so the RNG and data order must be restored too.
  const config = tinyConfig({ epochs: 4, batchSize: 1, gradAccum: 2, dropout: 0.1, schedule: 'cosine', warmup: 2, checkpointEvery: 3 });
  // The uninterrupted run (adapter and checkpoints) the tests compare with: trained by whichever test asks first,
  // so each test runs alone as well as after the others.
  let straightRun: Promise<{ path: string; straight: string; steps: number }> | undefined;
  const straightRunOf = () =>
    (straightRun ??= (async () => {
      const { path } = fixtures.model('q8_0', FIXTURES.q8_0);
      const straight = join(fixtures.dir, 'straight.gguf');
      const { steps } = await finetune(llama, { modelPath: path, examples: MEMORISE, outPath: straight, config });
      return { path, straight, steps };
    })());

  it('N steps, resume, N steps give the adapter that 2N steps straight give (within 1e-5)', async () => {
    const { path, straight, steps } = await straightRunOf();
    expect(steps).toBe(8); // 3 examples → 2 steps per epoch × 4 epochs
    const resumedOut = join(fixtures.dir, 'resumed.gguf');
    const resumed = await finetune(llama, {
      modelPath: path,
      examples: MEMORISE,
      outPath: resumedOut,
      config,
      resumeFrom: join(`${straight}.checkpoints`, 'step-000003'),
    });
    expect(resumed.status).toBe('completed');
    const diff = maxTensorDiff(await adapterTensors(trainer, path, straight), await adapterTensors(trainer, path, resumedOut));
    expect(diff).toBeLessThan(1e-5);
  });

  it('cancel, then resume, finishes the same run', async () => {
    const { path, straight } = await straightRunOf();
    const out = join(fixtures.dir, 'cancelled.gguf');
    const controller = new AbortController();
    const cancelled = await finetune(
      llama,
      { modelPath: path, examples: MEMORISE, outPath: out, config },
      { onProgress: (p) => p.step === 5 && controller.abort() },
      controller.signal,
    );
    expect(cancelled).toMatchObject({ status: 'cancelled', adapterPath: null, steps: 5 });
    expect(cancelled.lastCheckpoint).toMatch(/step-000005$/);
    const finished = await finetune(llama, { modelPath: path, examples: MEMORISE, outPath: out, config, resumeFrom: `${out}.checkpoints` });
    expect(finished.status).toBe('completed');
    expect(maxTensorDiff(await adapterTensors(trainer, path, straight), await adapterTensors(trainer, path, out))).toBeLessThan(1e-5);
  });

  it('trains on top of an existing adapter (v1 → v2), keeping its shape', async () => {
    const { path } = fixtures.model('f32', FIXTURES.f32);
    const v1 = join(fixtures.dir, 'v1.gguf');
    const first: number[] = [];
    await finetune(llama, { modelPath: path, examples: MEMORISE, outPath: v1, config: tinyConfig({ epochs: 10, rank: 4, targets: ['attn_q', 'attn_v'] }) }, {
      onProgress: (p) => first.push(p.trainLoss),
    });
    const second: number[] = [];
    let rank = 0;
    await finetune(
      llama,
      { modelPath: path, examples: MEMORISE, outPath: join(fixtures.dir, 'v2.gguf'), config: tinyConfig({ epochs: 2 }), initAdapter: v1 },
      { onPrepared: (info) => (rank = info.adapter.rank), onProgress: (p) => second.push(p.trainLoss) },
    );
    expect(rank).toBe(4);
    expect(second[0]!).toBeLessThan(first[0]! * 0.8);
  });
});
