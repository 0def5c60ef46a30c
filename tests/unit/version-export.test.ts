// Exporting a version as GGUF (electron/core/versions/export.ts): the merge in its child process
// (out/workers/export.js, the native merge of native/src/merge.cpp) and the adapter-only verified copy, on tiny
// real models; the merged file against base + adapter in our forward pass and in node-llama-cpp.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import type { Llama, LlamaModel, Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkSpawner } from '../../electron/core/childHost';
import { exportVersion } from '../../electron/core/versions/export';
import type { ExportOptions, ExportProgress } from '../../electron/core/versions/export';
import { Trainer } from '../../native/index';
import { AppError } from '../../shared/errors';
import { REPO } from '../helpers/cli';
import { SAMPLE_TEXT } from '../helpers/fixtures';
import { TENSOR_TYPES, ValueType } from '../helpers/gguf/format';
import type { MetaValue, TensorType } from '../helpers/gguf/format';
import { readGgufHeader } from '../helpers/gguf/reader';
import { writeGguf } from '../helpers/gguf/writer';
import { diffStats } from '../helpers/llamaReference';
import { makeTempDir } from '../helpers/tempDir';
import { writeTinyAdapter, writeTinyModel } from '../helpers/tinyModel';
import type { TinyModelSpec } from '../helpers/tinyModel';

const ENTRY = `${REPO}out/workers/export.js`;
const TIMEOUT = 120_000;
const TARGETS = ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'];

/**
 * Merged model vs base + adapter, per-token log-probabilities (nats), max and median over 63 positions, in our
 * forward pass (same kernels both sides). What differs is the rounding of W + scale·B·A to the stored type, where
 * the unmerged side keeps the LoRA branch in F32: F32 shows the merge's arithmetic alone. Measured here (max /
 * median): F32 1.9e-6 / 0, F16 4.0e-3 / 1.3e-3, Q8_0 0.11 / 2.8e-2, Q4_K 0.85 / 0.20, each about the type's own
 * rounding step relative to the weights. The adapter itself moves log-probabilities by 4–5 nats (max), and the
 * merged model must also be far closer to base + adapter than the base is (EFFECT_SHARE), so a wrong sign,
 * scale or layout cannot pass even at Q4_K's tolerance.
 */
const MERGE_TOLERANCE: Partial<Record<TensorType, { max: number; median: number }>> = {
  f32: { max: 1e-3, median: 1e-4 },
  f16: { max: 1e-2, median: 3e-3 },
  q8_0: { max: 0.25, median: 0.06 },
  q4_K: { max: 1.5, median: 0.4 },
};
/** The merged model's median distance to base + adapter, at most this share of the base's. */
const EFFECT_SHARE = 0.25;
/** Our forward pass vs llama.cpp on the same (merged) file: tests/unit/trainer-forward.test.ts's bounds. */
const FORWARD_TOLERANCE: Partial<Record<TensorType, { max: number; median: number }>> = {
  f32: { max: 1e-4, median: 1e-5 },
  f16: { max: 6e-3, median: 1e-3 },
  q8_0: { max: 1e-4, median: 1e-5 },
  q4_K: { max: 0.1, median: 1e-2 },
};

let llama: Llama;
let trainer: Trainer;
let work: ReturnType<typeof makeTempDir>;
let tokens: number[];
const models = new Map<TensorType, { path: string; spec: Required<TinyModelSpec>; adapter: string }>();

const SPECS: Partial<Record<TensorType, TinyModelSpec>> = {
  f32: { type: 'f32' },
  f16: { type: 'f16', tiedOutput: true },
  q8_0: { type: 'q8_0' },
  q4_K: { type: 'q4_K', nLayer: 1 },
};

beforeAll(async () => {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run npm run build`);
  llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  trainer = Trainer.forLlama(llama);
  work = makeTempDir('architect-export-');
  for (const [type, spec] of Object.entries(SPECS) as [TensorType, TinyModelSpec][]) {
    const path = join(work.path, `${type}.gguf`);
    const full = writeTinyModel(path, spec, (t, d, r) => trainer.quantize(t, d, r));
    const adapter = join(work.path, `${type}.lora.gguf`);
    // std 0.1, rank 4, alpha 8: updates about as large as the weights themselves.
    writeTinyAdapter(adapter, full, { rank: 4, alpha: 8, targets: TARGETS, std: 0.1, seed: 11 });
    models.set(type, { path, spec: full, adapter });
  }
  const probe = await llama.loadModel({ modelPath: models.get('q8_0')!.path });
  tokens = [probe.tokens.bos!, ...probe.tokenize(SAMPLE_TEXT)].slice(0, 64);
  await probe.dispose();
}, TIMEOUT);
afterAll(async () => {
  work?.remove();
  await llama?.dispose();
});

/** A fresh, empty folder of the work folder. */
function folder(name: string): string {
  const dir = join(work.path, name);
  mkdirSync(dir);
  return dir;
}

function run(options: Partial<ExportOptions> & Pick<ExportOptions, 'modelPath' | 'adapterPath' | 'outPath' | 'merged'>) {
  return exportVersion({ spawner: forkSpawner, workerEntry: ENTRY, threads: 1, ...options });
}

/** The AppError an export rejects with. */
async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the export should have failed').toBeInstanceOf(AppError);
  return error as AppError;
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

async function oursLogProbs(path: string, adapterPath?: string): Promise<Float32Array> {
  const model = await trainer.loadModel(path, { threads: 1, device: 'cpu' });
  const adapter = adapterPath ? await model.loadAdapter(adapterPath) : undefined;
  try {
    return await model.logProbabilities(tokens, adapter ? { adapter } : {});
  } finally {
    adapter?.dispose();
    model.dispose();
  }
}

/** node-llama-cpp's log-probabilities, one thread, F32 KV cache (as llamaReference.ts's referenceLogProbs). */
async function theirLogProbs(model: LlamaModel, adapterPath?: string): Promise<number[]> {
  const context = await model.createContext({
    contextSize: 64,
    threads: 1,
    flashAttention: false,
    experimentalKvCacheKeyType: 'F32',
    experimentalKvCacheValueType: 'F32',
    ...(adapterPath ? { lora: { adapters: [{ filePath: adapterPath, scale: 1 }] } } : {}),
  });
  try {
    const input = tokens.map((token, i) => (i < tokens.length - 1 ? ([token as Token, { generateNext: { probabilities: true } }] as const) : (token as Token)));
    const results = await context.getSequence().controlledEvaluate(input as never);
    return tokens.slice(1).map((next, i) => Math.log(results[i]?.next.probabilities?.get(next as Token) ?? 0));
  } finally {
    await context.dispose();
  }
}

/** [start, end) of each tensor's bytes in a file our GGUF writer made (each tensor padded to 32 bytes). */
function tensorRanges(path: string): Map<string, [number, number]> {
  const { tensors } = readGgufHeader(path);
  const bytes = (t: (typeof tensors)[number]) => {
    const type = Object.values(TENSOR_TYPES).find((x) => x.id === t.typeId)!;
    return (t.dims.reduce((a, b) => a * b, 1) / type.blockSize) * type.blockBytes;
  };
  const last = tensors.reduce((a, b) => (b.offset > a.offset ? b : a));
  const dataStart = statSync(path).size - (Number(last.offset) + Math.ceil(bytes(last) / 32) * 32);
  return new Map(tensors.map((t) => [t.name, [dataStart + Number(t.offset), dataStart + Number(t.offset) + bytes(t)]]));
}

describe.each(Object.keys(SPECS) as TensorType[])('merged export of a %s base', (type) => {
  let out: string;
  let progress: ExportProgress[];
  let result: Awaited<ReturnType<typeof exportVersion>>;

  beforeAll(async () => {
    const { path, adapter } = models.get(type)!;
    out = join(folder(`merged-${type}`), 'merged.gguf');
    progress = [];
    result = await run({ modelPath: path, adapterPath: adapter, outPath: out, merged: true, onProgress: (p) => progress.push(p) });
  }, TIMEOUT);

  it('writes the file it reports, with its size and SHA-256, and nothing else', () => {
    expect(result.path).toBe(out);
    expect(result.bytes).toBe(statSync(out).size);
    expect(result.sha256).toBe(sha256(out));
    expect(readdirSync(join(out, '..'))).toEqual(['merged.gguf']);
    // The merged file has the base's size: every tensor keeps its type.
    expect(result.bytes).toBe(statSync(models.get(type)!.path).size);
  });

  it('reports progress by tensor and bytes, merging then hashing', () => {
    const merging = progress.filter((p) => p.phase === 'merging');
    const hashing = progress.filter((p) => p.phase === 'hashing');
    expect(merging.length).toBeGreaterThan(0);
    expect(merging.at(-1)).toMatchObject({ done: result.bytes, total: result.bytes });
    expect(merging.at(-1)!.message).toMatch(/^tensor (\d+)\/\1 /);
    expect(merging.some((p) => p.message.includes('(merged)'))).toBe(true);
    expect(hashing.at(-1)).toMatchObject({ done: result.bytes, total: result.bytes });
    expect(progress.indexOf(hashing[0]!)).toBeGreaterThan(progress.indexOf(merging.at(-1)!));
  });

  it('keeps the metadata, the tensor table and every unadapted tensor byte for byte', () => {
    const { path, spec } = models.get(type)!;
    const base = readGgufHeader(path);
    const merged = readGgufHeader(out);
    expect(merged.metadata).toEqual(base.metadata);
    expect(merged.tensors).toEqual(base.tensors);
    const adapted = new Set(Array.from({ length: spec.nLayer }, (_, l) => TARGETS.map((t) => `blk.${l}.${t}.weight`)).flat());
    const a = readFileSync(path);
    const b = readFileSync(out);
    const ranges = tensorRanges(path);
    let changed = 0;
    let from = 0;
    for (const [name, [start, end]] of [...ranges].sort((x, y) => x[1][0] - y[1][0])) {
      // Header, metadata and padding before this tensor; then the tensor itself.
      expect(b.subarray(from, start).equals(a.subarray(from, start)), `bytes before ${name}`).toBe(true);
      const same = b.subarray(start, end).equals(a.subarray(start, end));
      if (adapted.has(name)) changed += same ? 0 : 1;
      else expect(same, `${name} is not adapted and must be unchanged`).toBe(true);
      from = end;
    }
    expect(b.subarray(from).equals(a.subarray(from))).toBe(true);
    expect(changed).toBe(adapted.size);
  });

  it('gives the log-probabilities of base + adapter (our forward pass)', async () => {
    const { path, adapter } = models.get(type)!;
    const withAdapter = await oursLogProbs(path, adapter);
    const plain = await oursLogProbs(path);
    const merged = await oursLogProbs(out);
    const { max, median } = diffStats(merged, withAdapter);
    const effect = diffStats(plain, withAdapter);
    console.log(`${type}: merged vs base+adapter max ${max.toExponential(2)} median ${median.toExponential(2)}; adapter effect max ${effect.max.toFixed(2)} median ${effect.median.toFixed(2)}`);
    expect(effect.max, 'the adapter changes the model').toBeGreaterThan(1);
    expect(median).toBeLessThan(EFFECT_SHARE * effect.median);
    expect(max).toBeLessThan(MERGE_TOLERANCE[type]!.max);
    expect(median).toBeLessThan(MERGE_TOLERANCE[type]!.median);
  }, TIMEOUT);

  it('loads in node-llama-cpp as a normal model and evaluates as our forward pass does', async () => {
    const model = await llama.loadModel({ modelPath: out });
    try {
      const theirs = await theirLogProbs(model);
      const ours = await oursLogProbs(out);
      const { max, median } = diffStats(ours, theirs);
      expect(max).toBeLessThan(FORWARD_TOLERANCE[type]!.max);
      expect(median).toBeLessThan(FORWARD_TOLERANCE[type]!.median);
      expect(theirs.every(Number.isFinite)).toBe(true);
    } finally {
      await model.dispose();
    }
  }, TIMEOUT);
});

describe('merged export, llama.cpp on both sides', () => {
  it('the merged F16 model matches llama.cpp applying the adapter, token_embd LoRA included', async () => {
    // Untied: llama.cpp applies a token_embd LoRA to a tied output too, where its shapes do not multiply (it aborts).
    const path = join(work.path, 'f16-untied.gguf');
    const spec = writeTinyModel(path, { type: 'f16', seed: 3 }, (t, d, r) => trainer.quantize(t, d, r));
    // llama.cpp's flipped layout for the embedding: lora_a [r, n_vocab], lora_b [r, n_embd].
    const adapter = join(work.path, 'embd.lora.gguf');
    writeTinyAdapter(adapter, spec, { rank: 4, alpha: 8, targets: ['attn_q', 'ffn_down'], std: 0.1, seed: 5 });
    const header = readGgufHeader(adapter);
    const data = readFileSync(adapter);
    const ranges = tensorRanges(adapter);
    const tensors = header.tensors.map((t) => ({ name: t.name, dims: t.dims, typeId: t.typeId, data: new Uint8Array(data.subarray(...ranges.get(t.name)!)) }));
    const nVocab = readGgufHeader(path).tensors.find((t) => t.name === 'token_embd.weight')!.dims[1]!;
    const random = (n: number, std: number) => {
      const values = Float32Array.from({ length: n }, (_, i) => std * Math.sin(i * 12.9898 + 78.233) * 1.7);
      return new Uint8Array(values.buffer);
    };
    tensors.push({ name: 'token_embd.weight.lora_a', dims: [4, nVocab], typeId: 0, data: random(4 * nVocab, 0.1) });
    tensors.push({ name: 'token_embd.weight.lora_b', dims: [4, spec.nEmbd], typeId: 0, data: random(4 * spec.nEmbd, 0.1) });
    writeGguf(adapter, header.metadata, tensors);

    const out = join(folder('merged-embd'), 'merged.gguf');
    await run({ modelPath: path, adapterPath: adapter, outPath: out, merged: true });
    const base = await llama.loadModel({ modelPath: path });
    const merged = await llama.loadModel({ modelPath: out });
    try {
      const withAdapter = await theirLogProbs(base, adapter);
      const plain = await theirLogProbs(base);
      const ofMerged = await theirLogProbs(merged);
      expect(diffStats(plain, withAdapter).max).toBeGreaterThan(0.5);
      const { max, median } = diffStats(ofMerged, withAdapter);
      expect(max).toBeLessThan(MERGE_TOLERANCE.f16!.max);
      expect(median).toBeLessThan(MERGE_TOLERANCE.f16!.median);
    } finally {
      await base.dispose();
      await merged.dispose();
    }
  }, TIMEOUT);
});

describe('adapter-only export', () => {
  it('is a verified copy of the adapter', async () => {
    const { path, adapter } = models.get('q8_0')!;
    const out = join(folder('adapter-only'), 'v1.lora.gguf');
    const progress: ExportProgress[] = [];
    const result = await run({ modelPath: path, adapterPath: adapter, outPath: out, merged: false, onProgress: (p) => progress.push(p) });
    expect(readFileSync(out).equals(readFileSync(adapter))).toBe(true);
    expect(result).toEqual({ path: out, bytes: statSync(adapter).size, sha256: sha256(adapter) });
    expect(progress.filter((p) => p.phase === 'writing').at(-1)).toMatchObject({ done: result.bytes, total: result.bytes });
    expect(progress.filter((p) => p.phase === 'hashing').at(-1)).toMatchObject({ done: result.bytes, total: result.bytes });
    expect(readdirSync(join(out, '..'))).toEqual(['v1.lora.gguf']);
  });

  it('replaces an existing file atomically', async () => {
    const { path, adapter } = models.get('f16')!;
    const dir = folder('replace');
    const out = join(dir, 'v1.lora.gguf');
    await run({ modelPath: path, adapterPath: models.get('q8_0')!.adapter, outPath: out, merged: false });
    await run({ modelPath: path, adapterPath: adapter, outPath: out, merged: false });
    expect(sha256(out)).toBe(sha256(adapter));
    expect(readdirSync(dir)).toEqual(['v1.lora.gguf']);
  });

  it('refuses a file that is no LoRA adapter', async () => {
    const { path } = models.get('q8_0')!;
    const dir = folder('not-adapter');
    const error = await failure(run({ modelPath: path, adapterPath: path, outPath: join(dir, 'x.gguf'), merged: false }));
    expect(error).toMatchObject({ code: 'invalid_arguments', field: 'adapterPath' });
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/no LoRA adapter/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('bad input leaves nothing behind', () => {
  it('refuses an adapter made for another base, naming the tensor', async () => {
    const { path } = models.get('q8_0')!;
    const wide = writeTinyModel(join(work.path, 'wide.gguf'), { type: 'q8_0', nEmbd: 128, nFf: 256 }, (t, d, r) => trainer.quantize(t, d, r));
    const adapter = join(work.path, 'wide.lora.gguf');
    writeTinyAdapter(adapter, wide, { rank: 4, alpha: 8, targets: ['attn_q'] });
    const dir = folder('other-base');
    const error = await failure(run({ modelPath: path, adapterPath: adapter, outPath: join(dir, 'merged.gguf'), merged: true }));
    expect(error).toMatchObject({ code: 'invalid_arguments', field: 'adapterPath' });
    expect(error.message).toContain(adapter);
    expect(error.message).toMatch(/made for another model: blk\.0\.attn_q\.weight is \[64, 64\] but its lora_a is \[128, 4\]/);
    expect(readdirSync(dir)).toEqual([]);
  }, TIMEOUT);

  it('refuses a tensor type that needs an importance matrix, naming tensor and type', async () => {
    // A GGUF with one IQ2_XXS weight (ggml type 16: 66 bytes per 256 values), and an adapter for it.
    const model = join(work.path, 'iq2.gguf');
    const meta = new Map<string, MetaValue>([['general.architecture', { type: ValueType.String, value: 'llama' }]]);
    writeGguf(model, meta, [{ name: 'blk.0.attn_q.weight', dims: [256, 4], typeId: 16, data: new Uint8Array(4 * 66) }]);
    const adapter = join(work.path, 'iq2.lora.gguf');
    writeGguf(
      adapter,
      new Map<string, MetaValue>([...meta, ['general.type', { type: ValueType.String, value: 'adapter' }], ['adapter.type', { type: ValueType.String, value: 'lora' }]]),
      [
        { name: 'blk.0.attn_q.weight.lora_a', dims: [256, 2], typeId: 0, data: new Uint8Array(256 * 2 * 4) },
        { name: 'blk.0.attn_q.weight.lora_b', dims: [2, 4], typeId: 0, data: new Uint8Array(2 * 4 * 4) },
      ],
    );
    const dir = folder('imatrix');
    const error = await failure(run({ modelPath: model, adapterPath: adapter, outPath: join(dir, 'merged.gguf'), merged: true }));
    expect(error).toMatchObject({ code: 'invalid_arguments', field: 'modelPath' });
    expect(error.message).toContain(model);
    expect(error.message).toMatch(/'blk\.0\.attn_q\.weight'.*iq2_xxs needs an importance matrix/);
    expect(readdirSync(dir)).toEqual([]);
  }, TIMEOUT);

  it('refuses missing files, naming them', async () => {
    const { path, adapter } = models.get('q8_0')!;
    const dir = folder('missing');
    const gone = join(work.path, 'no-such.gguf');
    for (const [options, field] of [
      [{ modelPath: gone, adapterPath: adapter, merged: true }, 'modelPath'],
      [{ modelPath: path, adapterPath: gone, merged: true }, 'adapterPath'],
      [{ modelPath: path, adapterPath: gone, merged: false }, 'adapterPath'],
    ] as const) {
      const error = await failure(run({ ...options, outPath: join(dir, 'out.gguf') }));
      expect(error).toMatchObject({ code: 'not_found', field });
      expect(error.message).toContain(gone);
    }
    const error = await failure(run({ modelPath: path, adapterPath: adapter, outPath: join(dir, 'no-folder', 'out.gguf'), merged: true }));
    expect(error).toMatchObject({ code: 'not_found', field: 'outPath' });
    expect(error.message).toContain(join(dir, 'no-folder'));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('stops on abort, killing the child and removing the temporary file', async () => {
    const { path, adapter } = models.get('q8_0')!;
    const dir = folder('abort');
    const controller = new AbortController();
    const error = await failure(
      run({ modelPath: path, adapterPath: adapter, outPath: join(dir, 'merged.gguf'), merged: true, signal: controller.signal, onProgress: () => controller.abort() }),
    );
    expect(error).toMatchObject({ code: 'cancelled' });
    expect(error.message).toContain(join(dir, 'merged.gguf'));
    expect(readdirSync(dir)).toEqual([]);
  }, TIMEOUT);

  describe('on file systems that refuse the write (tmpfs mounts)', () => {
    const mounts: string[] = [];
    /** A tmpfs of `options` at a new folder, or the reason it could not be mounted. */
    function mount(name: string, options: string): { dir?: string; refused?: string } {
      const dir = folder(name);
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
      } catch (error) {
        return { refused: `mount -t tmpfs -o ${options} was refused: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}` };
      }
      mounts.push(dir);
      return { dir };
    }
    afterAll(() => {
      for (const dir of mounts) execFileSync('umount', [dir]);
    });

    it('refuses an unwritable (read-only) folder before starting', async (context) => {
      const { dir, refused } = mount('read-only', 'ro,size=1m');
      if (!dir) return context.skip(refused);
      const { path, adapter } = models.get('q8_0')!;
      for (const merged of [true, false]) {
        const error = await failure(run({ modelPath: path, adapterPath: adapter, outPath: join(dir, 'out.gguf'), merged }));
        expect(error).toMatchObject({ code: 'invalid_arguments', field: 'outPath' });
        expect(error.message).toContain(dir);
        expect(error.message).toMatch(/read-only/);
      }
      expect(readdirSync(dir)).toEqual([]);
    });

    it('fails on a full disk naming the file, and leaves nothing, not even the temporary file', async (context) => {
      const { dir, refused } = mount('full', 'size=16k');
      if (!dir) return context.skip(refused);
      const { path, adapter } = models.get('q8_0')!;
      const out = join(dir, 'out.gguf');
      const merged = await failure(run({ modelPath: path, adapterPath: adapter, outPath: out, merged: true }));
      expect(merged).toMatchObject({ code: 'unavailable', field: 'outPath' });
      expect(merged.message).toContain(`${out}: could not write: the disk is full (ENOSPC)`);
      expect(readdirSync(dir)).toEqual([]);
      // The adapter (32 KiB) does not fit either.
      expect(statSync(adapter).size).toBeGreaterThan(16 * 1024);
      const copied = await failure(run({ modelPath: path, adapterPath: adapter, outPath: out, merged: false }));
      expect(copied).toMatchObject({ code: 'unavailable', field: 'outPath' });
      expect(copied.message).toContain(`${out}: could not write: the disk is full (ENOSPC)`);
      expect(readdirSync(dir)).toEqual([]);
    }, TIMEOUT);
  });
});
