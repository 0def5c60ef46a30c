// The native trainer's forward pass against node-llama-cpp (llama.cpp) on the same GGUF files.
import { copyFileSync, openSync, closeSync, ftruncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Llama, LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Trainer } from '../../native/index';
import type { TrainerModel } from '../../native/index';
import { FIXTURES, fixtureFolder, SAMPLE_TEXT } from '../helpers/fixtures';
import type { TensorType } from '../helpers/gguf/format';
import { diffStats, maxAbsDiff, referenceLogProbs, testLlama } from '../helpers/llamaReference';

/**
 * Tolerances on per-token log-probabilities (nats), max and median over the 63 positions. Both sides run
 * ggml's kernels on the same weights with F32 attention; what remains is summation order. Measured on this
 * machine (max): F32 1.6e-5, Q8_0 1.1e-5, Q4_0 1.1e-5, F16 8.4e-4 (activations are rounded to F16 before each
 * product, so a last-bit difference upstream can flip a rounding). Q4_K is looser: on AVX2/NEON CPUs
 * llama.cpp repacks Q4_K weights into its q4_K_8x8 kernels, whose Q8_K activation path rounds differently
 * from ggml's plain Q4_K kernel that we use (training needs plain buffers): max 6.4e-2, median 5e-3.
 */
const TOLERANCE: Record<TensorType, { max: number; median: number }> = {
  f32: { max: 1e-4, median: 1e-5 },
  // ggml picks its CPU kernels per processor: on CPUs with AVX512-FP16 and AMX (Sapphire Rapids and later)
  // llama.cpp's F16 dot products round differently from ours: max 4.3e-3 and median 6.5e-4 measured there,
  // under 2e-3 and 1e-4 elsewhere. A wrong op or weight moves log-probabilities by 0.1 and more, so this
  // still catches real errors.
  f16: { max: 6e-3, median: 1e-3 },
  q8_0: { max: 1e-4, median: 1e-5 },
  q4_0: { max: 1e-4, median: 1e-5 },
  q4_K: { max: 0.1, median: 1e-2 },
};
const ADAPTER_TARGETS = ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'];

let llama: Llama;
let trainer: Trainer;
let fixtures: ReturnType<typeof fixtureFolder>;
const tokenCache = new Map<string, number[]>();

beforeAll(async () => {
  llama = await testLlama();
  trainer = Trainer.forLlama(llama);
  fixtures = fixtureFolder((type, data, row) => trainer.quantize(type, data, row));
});
afterAll(() => fixtures?.remove());

async function load(type: TensorType): Promise<{ ours: TrainerModel; theirs: LlamaModel; tokens: number[]; spec: ReturnType<typeof fixtures.model>['spec']; path: string }> {
  const { path, spec } = fixtures.model(type, FIXTURES[type]);
  const theirs = await llama.loadModel({ modelPath: path });
  const ours = await trainer.loadModel(path, { threads: 2 });
  let tokens = tokenCache.get('sample');
  if (!tokens) {
    tokens = [theirs.tokens.bos!, ...theirs.tokenize(SAMPLE_TEXT)].slice(0, 64);
    tokenCache.set('sample', tokens);
  }
  return { ours, theirs, tokens, spec, path };
}

function expectClose(ours: ArrayLike<number>, theirs: ArrayLike<number>, type: TensorType): void {
  const { max, median } = diffStats(ours, theirs);
  expect(max, `max |Δ| for ${type}`).toBeLessThan(TOLERANCE[type].max);
  expect(median, `median |Δ| for ${type}`).toBeLessThan(TOLERANCE[type].median);
}

describe.each(Object.keys(FIXTURES) as TensorType[])('forward parity with llama.cpp: %s', (type) => {
  let ctx: Awaited<ReturnType<typeof load>>;
  beforeAll(async () => (ctx = await load(type)));
  afterAll(async () => {
    ctx?.ours.dispose();
    await ctx?.theirs.dispose();
  });

  it('matches per-token log-probabilities of a 64-token text', async () => {
    expect(ctx.tokens).toHaveLength(64);
    expect(ctx.ours.info).toMatchObject({ architecture: 'llama', vocabSize: 32000, layerCount: 2 });
    const ours = await ctx.ours.logProbabilities(ctx.tokens);
    const theirs = await referenceLogProbs(ctx.theirs, ctx.tokens);
    expect(ours).toHaveLength(63);
    expectClose(ours, theirs, type);
    // Not a degenerate model: the distribution is far from uniform (log 1/32000 = -10.37).
    expect(Math.max(...theirs) - Math.min(...theirs)).toBeGreaterThan(2);
  });

  it('matches with a non-zero LoRA adapter loaded on both sides', async () => {
    const adapterPath = fixtures.adapter(`${type}-random`, ctx.spec, ADAPTER_TARGETS);
    const adapter = await ctx.ours.loadAdapter(adapterPath);
    expect(adapter.info).toMatchObject({ rank: 4, alpha: 8, scale: 2, targets: ADAPTER_TARGETS });
    const ours = await ctx.ours.logProbabilities(ctx.tokens, { adapter });
    const theirs = await referenceLogProbs(ctx.theirs, ctx.tokens, adapterPath);
    const base = await ctx.ours.logProbabilities(ctx.tokens);
    expect(maxAbsDiff(ours, base)).toBeGreaterThan(0.05); // the adapter really moves the output
    expectClose(ours, theirs, type);
    adapter.dispose();
  });
});

describe('adapters we write', () => {
  let ctx: Awaited<ReturnType<typeof load>>;
  beforeAll(async () => (ctx = await load('q8_0')));
  afterAll(async () => {
    ctx?.ours.dispose();
    await ctx?.theirs.dispose();
  });

  it('a fresh adapter (B = 0) changes nothing, here and in node-llama-cpp', async () => {
    const adapter = ctx.ours.createAdapter({ rank: 8, alpha: 16, targets: ['attn_q', 'attn_v', 'ffn_down'] });
    expect(adapter.info.parameterCount).toBe(2 * (8 * (64 + 64) + 8 * (64 + 32) + 8 * (128 + 64)));
    const base = await ctx.ours.logProbabilities(ctx.tokens);
    expect(Array.from(await ctx.ours.logProbabilities(ctx.tokens, { adapter }))).toEqual(Array.from(base));
    const path = join(fixtures.dir, 'zero.lora.gguf');
    await adapter.save(path);
    const withZero = await referenceLogProbs(ctx.theirs, ctx.tokens, path);
    const without = await referenceLogProbs(ctx.theirs, ctx.tokens);
    expect(maxAbsDiff(withZero, without)).toBeLessThan(1e-6);
  });

  it('a saved adapter loads in node-llama-cpp and moves its output exactly as our forward predicts', async () => {
    const source = await ctx.ours.loadAdapter(fixtures.adapter('q8_0-source', ctx.spec, ['attn_q', 'ffn_up'], 8, 4));
    const saved = join(fixtures.dir, 'resaved.lora.gguf');
    await source.save(saved);
    const reloaded = await ctx.ours.loadAdapter(saved);
    expect(reloaded.info).toMatchObject({ rank: 8, alpha: 4, targets: ['attn_q', 'ffn_up'] });
    const predicted = await ctx.ours.logProbabilities(ctx.tokens, { adapter: reloaded });
    const observed = await referenceLogProbs(ctx.theirs, ctx.tokens, saved);
    expect(maxAbsDiff(predicted, await ctx.ours.logProbabilities(ctx.tokens))).toBeGreaterThan(0.05);
    expectClose(predicted, observed, 'q8_0');
  });
});

describe('bad input gets a clear error, and the process lives on', () => {
  it('a missing file', async () => {
    await expect(trainer.loadModel('/no/such/model.gguf')).rejects.toThrow('/no/such/model.gguf: no such file');
  });

  it('a truncated GGUF', async () => {
    const { path } = fixtures.model('f32', FIXTURES.f32);
    const cut = join(fixtures.dir, 'truncated.gguf');
    copyFileSync(path, cut);
    const fd = openSync(cut, 'r+');
    ftruncateSync(fd, Math.floor(statSync(path).size / 2));
    closeSync(fd);
    await expect(trainer.loadModel(cut)).rejects.toThrow(/truncated/);
    const header = join(fixtures.dir, 'header-only.gguf');
    copyFileSync(path, header);
    const fd2 = openSync(header, 'r+');
    ftruncateSync(fd2, 100);
    closeSync(fd2);
    await expect(trainer.loadModel(header)).rejects.toThrow(/not a valid GGUF file/);
  });

  it('an unsupported architecture names it and the supported list', async () => {
    const { path } = fixtures.model('gpt2', { type: 'f32', architecture: 'gpt2' });
    await expect(trainer.loadModel(path)).rejects.toThrow(/unsupported model architecture 'gpt2'; supported: llama/);
  });

  it('an adapter made for another model', async () => {
    const small = fixtures.model('f32', FIXTURES.f32);
    const { path } = fixtures.model('q4_K', FIXTURES.q4_K);
    const model = await trainer.loadModel(path);
    const foreign = fixtures.adapter('for-small', small.spec, ['attn_q']);
    await expect(model.loadAdapter(foreign)).rejects.toThrow(/made for another model: blk\.0\.attn_q\.weight is \[256, 256\]/);
    await expect(model.loadAdapter(small.path)).rejects.toThrow(/not a LoRA adapter/);
    model.dispose();
  });

  it('a text longer than the context, and tokens outside the vocabulary', async () => {
    const { path } = fixtures.model('f32', FIXTURES.f32);
    const model = await trainer.loadModel(path);
    await expect(model.logProbabilities(new Array(600).fill(1))).rejects.toThrow(/600 tokens long, longer than the model's context of 512/);
    await expect(model.logProbabilities([1, 32000])).rejects.toThrow(/token 32000 at position 1 is outside the vocabulary/);
    await expect(model.logProbabilities([1])).rejects.toThrow(/at least 2 tokens/);
    expect(() => model.createAdapter({ rank: 0 })).toThrow(/rank must be at least 1/);
    expect(() => model.createAdapter({ targets: ['attn_z' as never] })).toThrow(/unknown target module 'attn_z'/);
    model.dispose();
    await expect(model.logProbabilities([1, 2])).rejects.toThrow(/disposed/);
    // Still alive and correct after all of that.
    const again = await trainer.loadModel(path);
    expect((await again.logProbabilities([1, 2, 3])).length).toBe(2);
    again.dispose();
  });
});

describe('the wrapper', () => {
  it('reports loading progress up to 1, survives a throwing callback, and stops on abort', async () => {
    const { path } = fixtures.model('f32', FIXTURES.f32);
    const seen: number[] = [];
    const model = await trainer.loadModel(path, { threads: 1, onProgress: (f) => seen.push(f) });
    expect(seen.length).toBeGreaterThan(10);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)).toBe(1);
    model.dispose();
    const error = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const again = await trainer.loadModel(path, { threads: 1, onProgress: () => { throw new Error('callback bug'); } });
    error.mockRestore();
    expect((await again.logProbabilities([1, 2, 3])).length).toBe(2);
    again.dispose();
    const controller = new AbortController();
    const loading = trainer.loadModel(path, { threads: 1, signal: controller.signal, onProgress: () => controller.abort() });
    await expect(loading).rejects.toMatchObject({ name: 'AbortError' });
    await expect(trainer.loadModel(path, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });
});
