// Tiny llama-architecture GGUF models for tests and benchmarks: random weights, the real vocabulary from
// the vocab-only GGUF files in the llama.cpp source node-llama-cpp ships. Written at test time, never committed.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TENSOR_TYPES, ValueType } from './gguf/format';
import type { MetaValue, TensorType } from './gguf/format';
import { readGgufHeader } from './gguf/reader';
import { writeGguf } from './gguf/writer';
import type { TensorToWrite } from './gguf/writer';

export interface TinyModelSpec {
  /** Type of the 2-D weights; norms stay F32 as in llama.cpp's own files. */
  readonly type: TensorType;
  readonly nEmbd?: number;
  readonly nLayer?: number;
  readonly nHead?: number;
  readonly nHeadKv?: number;
  readonly nFf?: number;
  readonly contextLength?: number;
  /** No output.weight: the output reuses token_embd (tied embeddings). */
  readonly tiedOutput?: boolean;
  readonly seed?: number;
  readonly ropeFreqBase?: number;
  /** Vocab file under llama.cpp/models: ggml-vocab-<vocab>.gguf. Default llama-spm (32000 tokens). */
  readonly vocab?: string;
  /** tokenizer.chat_template (Jinja); default '': the vocabulary file's own, if it has one. */
  readonly chatTemplate?: string;
  /** general.architecture; anything but 'llama' makes a file our loader must refuse. */
  readonly architecture?: string;
  /**
   * Fill weights by tiling a block of random values instead of drawing each one: for benchmark models of
   * billions of parameters, where generation time matters and the statistics do not.
   */
  readonly tiledRandom?: boolean;
}

/** ggml's quantization (the trainer addon's `quantize`): rows of `rowLength` floats → `type`'s bytes. */
export type Quantizer = (type: string, data: Float32Array, rowLength: number) => Uint8Array;

const MODELS_DIR = fileURLToPath(new URL('../../node_modules/node-llama-cpp/llama/llama.cpp/models/', import.meta.url));
const FILE_TYPE: Record<TensorType, number> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7, q4_K: 15 };

export function vocabPath(vocab = 'llama-spm'): string {
  const path = `${MODELS_DIR}ggml-vocab-${vocab}.gguf`;
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build:native\`, which unpacks node-llama-cpp's llama.cpp source`);
  return path;
}

/** Deterministic N(0, 1) samples (mulberry32 + Box–Muller). */
export function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Writes the model; returns its full spec with defaults filled in. */
export function writeTinyModel(path: string, spec: TinyModelSpec, quantize: Quantizer): Required<TinyModelSpec> {
  const full: Required<TinyModelSpec> = {
    nEmbd: spec.type === 'q4_K' ? 256 : 64,
    nLayer: 2,
    nHead: 4,
    nHeadKv: 2,
    nFf: spec.type === 'q4_K' ? 512 : 128,
    contextLength: 512,
    tiedOutput: false,
    seed: 1,
    ropeFreqBase: 10000,
    vocab: 'llama-spm',
    architecture: 'llama',
    tiledRandom: false,
    chatTemplate: '',
    ...spec,
  };
  const { nEmbd, nLayer, nHead, nHeadKv, nFf } = full;
  const vocab = readGgufHeader(vocabPath(full.vocab)).metadata;
  const tokens = vocab.get('tokenizer.ggml.tokens');
  if (!tokens || tokens.type !== ValueType.Array) throw new Error('vocab file has no tokenizer.ggml.tokens');
  const nVocab = tokens.value.length;
  const headDim = nEmbd / nHead;
  const random = gaussian(full.seed);

  const metadata = new Map<string, MetaValue>([
    ['general.architecture', { type: ValueType.String, value: full.architecture }],
    ['general.name', { type: ValueType.String, value: `tiny-llama-${full.type}` }],
    ['general.file_type', { type: ValueType.U32, value: FILE_TYPE[full.type] }],
    ['llama.context_length', { type: ValueType.U32, value: full.contextLength }],
    ['llama.embedding_length', { type: ValueType.U32, value: nEmbd }],
    ['llama.block_count', { type: ValueType.U32, value: nLayer }],
    ['llama.feed_forward_length', { type: ValueType.U32, value: nFf }],
    ['llama.attention.head_count', { type: ValueType.U32, value: nHead }],
    ['llama.attention.head_count_kv', { type: ValueType.U32, value: nHeadKv }],
    ['llama.rope.dimension_count', { type: ValueType.U32, value: headDim }],
    ['llama.rope.freq_base', { type: ValueType.F32, value: full.ropeFreqBase }],
    ['llama.attention.layer_norm_rms_epsilon', { type: ValueType.F32, value: 1e-5 }],
    ['llama.vocab_size', { type: ValueType.U32, value: nVocab }],
  ]);
  for (const [key, value] of vocab) if (key.startsWith('tokenizer.')) metadata.set(key, value);
  if (full.chatTemplate) metadata.set('tokenizer.chat_template', { type: ValueType.String, value: full.chatTemplate });

  const tensors: TensorToWrite[] = [];
  const pools = new Map<string, Float32Array>();
  const fill = (data: Float32Array, std: number, mean: number) => {
    if (!full.tiledRandom) {
      for (let i = 0; i < data.length; i++) data[i] = mean + std * random();
      return;
    }
    const key = `${std}:${mean}`;
    let pool = pools.get(key);
    if (!pool) pools.set(key, (pool = Float32Array.from({ length: 1 << 20 }, () => mean + std * random())));
    for (let i = 0; i < data.length; i += pool.length) data.set(pool.subarray(0, Math.min(pool.length, data.length - i)), i);
  };
  const add = (name: string, dims: number[], std: number, mean = 0, type: TensorType = full.type) => {
    const { blockSize, blockBytes } = TENSOR_TYPES[type];
    const count = dims.reduce((a, b) => a * b, 1);
    const produce = () => {
      const data = new Float32Array(count);
      fill(data, std, mean);
      return quantize(type, data, dims[0]!);
    };
    // Small models are made at once (their random draws then follow tensor order); big ones as they are written.
    const data = full.tiledRandom ? { byteLength: (count / blockSize) * blockBytes, produce } : produce();
    tensors.push({ name, dims, typeId: TENSOR_TYPES[type].id, data });
  };
  const proj = (nIn: number) => 1 / Math.sqrt(nIn);
  // Scaled like an output matrix, so a tied output is as peaky as an untied one (RMSNorm undoes it on input).
  const outputStd = 1.5 / Math.sqrt(nEmbd);
  add('token_embd.weight', [nEmbd, nVocab], outputStd);
  add('output_norm.weight', [nEmbd], 0.1, 1, 'f32');
  if (!full.tiedOutput) add('output.weight', [nEmbd, nVocab], outputStd);
  for (let l = 0; l < nLayer; l++) {
    const p = `blk.${l}.`;
    add(`${p}attn_norm.weight`, [nEmbd], 0.1, 1, 'f32');
    add(`${p}attn_q.weight`, [nEmbd, nEmbd], proj(nEmbd));
    add(`${p}attn_k.weight`, [nEmbd, headDim * nHeadKv], proj(nEmbd));
    add(`${p}attn_v.weight`, [nEmbd, headDim * nHeadKv], proj(nEmbd));
    add(`${p}attn_output.weight`, [nEmbd, nEmbd], proj(nEmbd));
    add(`${p}ffn_norm.weight`, [nEmbd], 0.1, 1, 'f32');
    add(`${p}ffn_gate.weight`, [nEmbd, nFf], proj(nEmbd));
    add(`${p}ffn_up.weight`, [nEmbd, nFf], proj(nEmbd));
    add(`${p}ffn_down.weight`, [nFf, nEmbd], proj(nFf));
  }
  writeGguf(path, metadata, tensors);
  return full;
}

export interface TinyAdapterSpec {
  readonly rank: number;
  readonly alpha: number;
  readonly targets: readonly string[];
  readonly seed?: number;
  /** Standard deviation of A and B entries. */
  readonly std?: number;
  /** Layers that get LoRA tensors (default: all). */
  readonly layers?: readonly number[];
  /** Extra tensor names to write (each a 1-element F32), e.g. to make a file that matches no weight. */
  readonly extraTensors?: readonly string[];
}

/** A LoRA adapter GGUF with random, non-zero A and B (F32), for the model spec it was written for. */
export function writeTinyAdapter(path: string, model: Required<TinyModelSpec>, spec: TinyAdapterSpec): void {
  const random = gaussian(spec.seed ?? 7);
  const headDim = model.nEmbd / model.nHead;
  const shapes: Record<string, [number, number]> = {
    attn_q: [model.nEmbd, model.nEmbd],
    attn_k: [model.nEmbd, headDim * model.nHeadKv],
    attn_v: [model.nEmbd, headDim * model.nHeadKv],
    attn_output: [model.nEmbd, model.nEmbd],
    ffn_gate: [model.nEmbd, model.nFf],
    ffn_up: [model.nEmbd, model.nFf],
    ffn_down: [model.nFf, model.nEmbd],
  };
  const f32 = (dims: number[]) => {
    const data = new Float32Array(dims[0]! * dims[1]!);
    for (let i = 0; i < data.length; i++) data[i] = (spec.std ?? 0.2) * random();
    return new Uint8Array(data.buffer);
  };
  const tensors: TensorToWrite[] = [];
  for (let l = 0; l < model.nLayer; l++) {
    if (spec.layers && !spec.layers.includes(l)) continue;
    for (const target of spec.targets) {
      const [nIn, nOut] = shapes[target]!;
      const name = `blk.${l}.${target}.weight`;
      tensors.push({ name: `${name}.lora_a`, dims: [nIn, spec.rank], typeId: 0, data: f32([nIn, spec.rank]) });
      tensors.push({ name: `${name}.lora_b`, dims: [spec.rank, nOut], typeId: 0, data: f32([spec.rank, nOut]) });
    }
  }
  for (const name of spec.extraTensors ?? []) tensors.push({ name, dims: [1, 1], typeId: 0, data: new Uint8Array(4) });
  writeGguf(
    path,
    new Map<string, MetaValue>([
      ['general.architecture', { type: ValueType.String, value: 'llama' }],
      ['general.type', { type: ValueType.String, value: 'adapter' }],
      ['adapter.type', { type: ValueType.String, value: 'lora' }],
      ['adapter.lora.alpha', { type: ValueType.F32, value: spec.alpha }],
    ]),
    tensors,
  );
}
