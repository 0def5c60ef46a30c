// The memory a LoRA training run needs on our trainer (native/), from the model's shape and the run's
// settings: pure arithmetic, so presets, the CLI, the UI and the tests compute the same figures. The activation
// terms follow what native/src/train.cpp, graph.cpp and lora.cpp keep alive, calibrated against the trainer's
// own peak (`weightsBytes + stateBytes + peakComputeBytes`, what the engine reports as peakMemoryBytes).
import type { ModelShape } from '../contract/models';
import type { LoraTarget } from './config';

const F32 = 4;
const GB = 1e9;
const MIB = 1024 * 1024;

/** Bytes per weight of ggml's tensor types (block size / block bytes), and of llama.cpp's usual file mixes. */
export const BYTES_PER_WEIGHT: Readonly<Record<string, number>> = {
  f32: 4,
  f16: 2,
  bf16: 2,
  q8_0: 34 / 32,
  q5_1: 24 / 32,
  q5_0: 22 / 32,
  q4_1: 20 / 32,
  q4_0: 18 / 32,
  q6_k: 210 / 256,
  q5_k: 176 / 256,
  q4_k: 144 / 256,
  q3_k: 110 / 256,
  q2_k: 84 / 256,
  // File types: a mix of block types (measured on the catalog's files: size / parameters).
  q4_k_m: 0.605,
  q4_k_s: 0.57,
  q5_k_m: 0.71,
  q5_k_s: 0.69,
  q3_k_m: 0.49,
  q2_k_s: 0.39,
  q6_k_m: 0.82,
  q8_k: 1.0625,
};

/** How the trainer treats a base's stored type: F32 stays exact, F16/BF16 and quantized bases get cheaper backward copies. */
export type WeightKind = 'f32' | 'f16' | 'quantized';

export interface BaseWeightsInput {
  /** The bytes of the weights: the GGUF file's size is close enough (its header is a few MB). */
  readonly bytes?: number;
  /** The stored type (`f16`, `q8_0`, `q4_0`, `Q4_K_M`, …); gives the bytes from the shape when `bytes` is absent. */
  readonly type?: string;
}

export interface TrainingMemoryInput {
  readonly shape: ModelShape;
  readonly base: BaseWeightsInput;
  /** Whether the output projection reuses the token embeddings (no output.weight); default false. */
  readonly tiedOutput?: boolean;
  readonly rank: number;
  readonly targets: readonly LoraTarget[];
  /** Sequences per micro-batch. */
  readonly batchSize: number;
  /** Tokens per sequence (the batch is padded to it). */
  readonly maxLength: number;
  /** Tokens per sequence the loss covers (completion tokens); default all of them, the most a step can hold. */
  readonly lossTokens?: number;
  readonly gradientCheckpointing: boolean;
  /** Where the weights and compute buffers live: GPU (VRAM) or CPU (RAM). */
  readonly device: 'gpu' | 'cpu';
  /**
   * CPU only: the session keeps the frozen weights' transposed copies between steps (what createTrainingSession
   * does without checkpointing when they fit in a quarter of free memory). Default false.
   */
  readonly cacheWeightCopies?: boolean;
}

export interface TrainingMemoryParts {
  /** The frozen base as stored (plus its transposed copies when a CPU session caches them). */
  readonly weights: number;
  /** LoRA A and B, F32. */
  readonly lora: number;
  /** AdamW's two moments, F32. */
  readonly optimizer: number;
  /** The accumulated LoRA gradients, F32. */
  readonly gradients: number;
  /** The compute buffers at their peak: activations kept for the backward pass, logits and their gradient, copies. */
  readonly activations: number;
  /** What the backend itself takes beside the trainer's buffers (GPU context and libraries; process and graph metadata on the CPU). */
  readonly backend: number;
}

export interface TrainingMemoryEstimate {
  readonly totalBytes: number;
  /** What the trainer reports as its peak (weights + adapter/optimizer state + peak compute): total less `backend`. */
  readonly trainerBytes: number;
  readonly parts: TrainingMemoryParts;
  /** Of `activations`: the logits of the loss rows and their gradient (plus one-hot labels on a GPU). */
  readonly logitsBytes: number;
  readonly loraParameters: number;
  /** E.g. "needs 7.9 GB: weights 3.8, LoRA 0.02, optimizer 0.04, gradients 0.02, activations 3.5, backend 0.5". */
  readonly summary: string;
}

/**
 * The calibration, in F32 values: what each layer keeps per token for the backward pass beyond its LoRA inputs
 * (the layer input, attention's q/k/v in their blocked copies, the FFN input, gate and up), the extra a LoRA'd
 * module keeps (its input), the softmax of attention, and the transient of the backward pass. Fitted against the
 * trainer's measured peaks (tests/unit/training-memory.test.ts, `npm run bench estimate`).
 */
export const CALIBRATION = {
  /** Per token per layer: × width. */
  keptPerWidth: 6.3,
  /** Per token per layer: × feed-forward width (gate and up, for SwiGLU's backward). */
  keptPerFeedForward: 2,
  /** Softmax outputs kept per layer: × heads × the query-key pairs attention computes. */
  keptPerAttentionPair: 1,
  /** The backward pass of one layer holds this many F32 per token (× feed-forward width) beside what is kept… */
  transientPerFeedForward: 1.25,
  /** …and this many more when the FFN has LoRA (its gradients)… */
  transientPerFeedForwardLora: 0.85,
  /** …or, when larger, attention's gradients: × heads × the largest query block's pairs. */
  transientPerAttentionPair: 1.2,
  /** GPU backend: context, cuBLAS workspace, scheduler buffers. */
  gpuBackendBytes: 512 * MIB,
  /** CPU backend: graph metadata, thread work buffers. */
  cpuBackendBytes: 128 * MIB,
} as const;

/** Attention blocks the trainer uses on the CPU for sequences of n tokens (native/src/graph.cpp); GPUs take one. */
export function attentionBlocks(nTokens: number, device: 'gpu' | 'cpu'): number {
  if (device === 'gpu') return 1;
  return nTokens >= 128 ? 4 : nTokens >= 32 ? 2 : 1;
}

/** Query-key pairs causal attention computes in `blocks` query blocks of a sequence of n tokens. */
export function attentionPairs(nTokens: number, blocks: number): number {
  const block = Math.ceil(nTokens / blocks);
  let pairs = 0;
  for (let first = 0; first < nTokens; first += block) {
    const nq = Math.min(block, nTokens - first);
    pairs += (first + nq) * nq;
  }
  return pairs;
}

/** [in, out] of each LoRA target's frozen weight. */
export function moduleShape(shape: ModelShape, target: LoraTarget): [number, number] {
  const kv = shape.kvHeads * (shape.width / shape.heads);
  switch (target) {
    case 'attn_q':
    case 'attn_output':
      return [shape.width, shape.width];
    case 'attn_k':
    case 'attn_v':
      return [shape.width, kv];
    case 'ffn_gate':
    case 'ffn_up':
      return [shape.width, shape.feedForward];
    case 'ffn_down':
      return [shape.feedForward, shape.width];
  }
}

/** LoRA parameters: per layer and target, A [in, r] and B [r, out]. */
export function loraParameters(shape: ModelShape, rank: number, targets: readonly LoraTarget[]): number {
  let perLayer = 0;
  for (const target of new Set(targets)) {
    const [nIn, nOut] = moduleShape(shape, target);
    perLayer += rank * (nIn + nOut);
  }
  return shape.layers * perLayer;
}

/** Weights of the shape: embeddings, output (unless tied), every layer's matrices and norms. */
export function parameterCount(shape: ModelShape, tiedOutput = false): number {
  const { width: d, feedForward: f, vocabulary: v, layers } = shape;
  const kv = shape.kvHeads * (d / shape.heads);
  return v * d * (tiedOutput ? 1 : 2) + d + layers * (2 * d * d + 2 * d * kv + 3 * d * f + 2 * d);
}

/** Bytes per weight of a type name (`Q4_K_M`, `q8_0`, `F16`, `MOSTLY_Q4_K_M`); undefined when unknown. */
export function bytesPerWeight(type: string): number | undefined {
  return BYTES_PER_WEIGHT[type.toLowerCase().replace(/^(mostly|all)_/, '')];
}

/** F32, F16/BF16 or quantized: from the type name, else from the bytes per weight. */
export function weightKind(base: BaseWeightsInput, parameters: number): WeightKind {
  const type = base.type?.toLowerCase().replace(/^(mostly|all)_/, '');
  if (type === 'f32') return 'f32';
  if (type === 'f16' || type === 'bf16') return 'f16';
  if (type !== undefined && bytesPerWeight(type) !== undefined) return 'quantized';
  const perWeight = (base.bytes ?? 0) / parameters;
  return perWeight >= 3.5 ? 'f32' : perWeight >= 1.8 ? 'f16' : 'quantized';
}

function check(value: number, what: string, { min = 1, integer = true }: { min?: number; integer?: boolean } = {}): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new RangeError(`${what} must be ${integer ? 'a whole number' : 'a number'} ≥ ${min}, got ${String(value)}`);
  }
}

function checkShape(shape: ModelShape): void {
  for (const key of ['layers', 'width', 'heads', 'kvHeads', 'feedForward', 'vocabulary', 'contextLength'] as const) check(shape[key], `shape.${key}`);
  if (shape.width % shape.heads !== 0) throw new RangeError(`shape.width (${shape.width}) must be a multiple of shape.heads (${shape.heads})`);
  if (shape.heads % shape.kvHeads !== 0) throw new RangeError(`shape.heads (${shape.heads}) must be a multiple of shape.kvHeads (${shape.kvHeads})`);
}

/** The base's weight bytes: given, or from the type and the shape. */
export function baseWeightBytes(shape: ModelShape, base: BaseWeightsInput, tiedOutput = false): number {
  if (base.bytes !== undefined) {
    check(base.bytes, 'base.bytes');
    return base.bytes;
  }
  if (base.type === undefined) throw new RangeError('base needs its bytes (the file size) or its type (e.g. q4_0)');
  const perWeight = bytesPerWeight(base.type);
  if (perWeight === undefined) throw new RangeError(`unknown weight type '${base.type}' (known: ${Object.keys(BYTES_PER_WEIGHT).join(', ')})`);
  return Math.round(parameterCount(shape, tiedOutput) * perWeight);
}

/**
 * The tensors the backward pass makes to get a transposed copy of one frozen weight of `weights` values
 * (native/src/train.cpp `transposed`, transpose.cpp): on the CPU one copy, Q8_0 for quantized bases, BF16 for F16
 * ones, F32 for F32; on a GPU an F32 cast (or dequantized rows) and its F32 transpose, alive together (F32 bases
 * need no cast).
 */
function copyTensors(weights: number, kind: WeightKind, device: 'gpu' | 'cpu'): number[] {
  if (device === 'gpu') return kind === 'f32' ? [weights * F32] : [weights * F32, weights * F32];
  return [weights * (kind === 'f32' ? F32 : kind === 'f16' ? 2 : 34 / 32)];
}

/** Bytes of `tensors` that do not fit, first come first placed, in a freed hole of `hole` bytes. */
function beyondHole(tensors: readonly number[], hole: number): number {
  let left = hole;
  let beyond = 0;
  for (const bytes of tensors) {
    if (bytes < left) left -= bytes;
    else beyond += bytes;
  }
  return beyond;
}

/** "4.4" (GB, one decimal; two below 0.1). */
export function gbNumber(bytes: number): string {
  const gb = bytes / GB;
  return gb > 0 && gb < 0.095 ? gb.toFixed(2) : gb.toFixed(1);
}

/** The memory one training run needs, in parts, with a one-line summary. Throws RangeError for impossible input. */
export function estimateTrainingMemory(input: TrainingMemoryInput): TrainingMemoryEstimate {
  const { shape, device } = input;
  checkShape(shape);
  check(input.rank, 'rank');
  check(input.batchSize, 'batchSize');
  check(input.maxLength, 'maxLength', { min: 2 });
  if (input.maxLength > shape.contextLength) {
    throw new RangeError(`maxLength ${input.maxLength} is longer than the model's context of ${shape.contextLength} tokens`);
  }
  const lossTokens = input.lossTokens ?? input.maxLength;
  check(lossTokens, 'lossTokens');
  if (lossTokens > input.maxLength) throw new RangeError(`lossTokens ${lossTokens} exceeds maxLength ${input.maxLength}`);
  if (device !== 'gpu' && device !== 'cpu') throw new RangeError(`device must be 'gpu' or 'cpu', got ${String(device)}`);
  const targets = [...new Set(input.targets)];
  if (targets.length === 0) throw new RangeError('choose at least one LoRA target');
  for (const t of targets) {
    const [nIn, nOut] = moduleShape(shape, t);
    if (input.rank > Math.min(nIn, nOut)) throw new RangeError(`rank ${input.rank} is larger than ${t} allows (${Math.min(nIn, nOut)})`);
  }

  const tied = input.tiedOutput ?? false;
  const parameters = parameterCount(shape, tied);
  const weightBytes = baseWeightBytes(shape, input.base, tied);
  const kind = weightKind(input.base, parameters);
  const { width: d, feedForward: f, vocabulary: v, layers: L, heads: h } = shape;
  const S = input.batchSize;
  const T = input.maxLength;
  const n = S * T;
  const M = S * lossTokens;
  const r = input.rank;
  const has = (t: LoraTarget) => targets.includes(t);

  // What one layer keeps for its backward pass, per token (F32 values), and its softmax outputs.
  const c = CALIBRATION;
  const keptPerToken =
    c.keptPerWidth * d +
    c.keptPerFeedForward * f +
    (has('attn_q') || has('attn_k') || has('attn_v') ? d : 0) +
    (has('attn_output') ? d : 0) +
    (has('ffn_gate') || has('ffn_up') ? d : 0) +
    (has('ffn_down') ? f : 0) +
    r * targets.length;
  const blocks = attentionBlocks(T, device);
  const pairs = attentionPairs(T, blocks);
  const layerKept = (n * keptPerToken + S * c.keptPerAttentionPair * h * pairs) * F32;
  const ffnLora = has('ffn_gate') || has('ffn_up') || has('ffn_down');
  const largestBlockPairs = T * Math.ceil(T / blocks);
  const layerTransient = Math.max(
    n * (c.transientPerFeedForward + (ffnLora ? c.transientPerFeedForwardLora : 0)) * f * F32,
    S * c.transientPerAttentionPair * h * largestBlockPairs * F32,
  );

  // Transposed copies of frozen weights, one at a time: the output projection's and the largest layer matrix's.
  const cached = device === 'cpu' && !input.gradientCheckpointing && (input.cacheWeightCopies ?? false);
  const outputCopy = cached ? [] : copyTensors(v * d, kind, device);
  const layerCopy = cached ? 0 : copyTensors(d * Math.max(f, d), kind, device).reduce((a, b) => a + b, 0);
  const layerMatrices = L * (2 * d * d + 2 * d * shape.kvHeads * (d / h) + 3 * d * f);
  const cachedCopies = cached ? copyTensors(v * d + layerMatrices, kind, 'cpu')[0]! : 0;

  // The head: logits of the M loss rows and their gradient (a GPU also builds one-hot labels of that size). Once
  // the gradient is made, the logits (and labels) are freed and the output projection's copy goes into their place
  // where it fits; what does not fit goes beside them (the allocator moves nothing that is live). At about equal
  // sizes it depends on what lies next to them; this counts the copy then, the safe side.
  const logits = M * v * F32;
  const logitsBytes = device === 'gpu' ? 3 * logits : 2 * logits;
  // With checkpointing the head is a graph of its own, and the rows' norm freed beside the logits widens the hole by
  // its size (measured: copies up to that much larger than the logits fit there; in the whole graph they do not).
  const rows = M * d * F32;
  const hole = (device === 'gpu' ? 2 * logits : logits) + (input.gradientCheckpointing ? rows : 0);
  const head = logitsBytes + beyondHole(outputCopy, hole) + 3 * rows;

  let activations: number;
  if (input.gradientCheckpointing) {
    // Each layer's input and two gradients kept, then one graph at a time: the head's, or one layer's recompute.
    const keep = (L + 3) * n * d * F32;
    activations = keep + Math.max(head + n * d * F32, layerKept + layerTransient + layerCopy);
  } else {
    activations = L * layerKept + Math.max(head, layerTransient + layerCopy);
  }

  const P = loraParameters(shape, r, targets);
  const parts: TrainingMemoryParts = {
    weights: weightBytes + cachedCopies,
    lora: P * F32,
    optimizer: 2 * P * F32,
    gradients: P * F32,
    activations: Math.round(activations),
    backend: device === 'gpu' ? c.gpuBackendBytes : c.cpuBackendBytes,
  };
  const trainerBytes = parts.weights + parts.lora + parts.optimizer + parts.gradients + parts.activations;
  const totalBytes = trainerBytes + parts.backend;
  const summary =
    `needs ${gbNumber(totalBytes)} GB: weights ${gbNumber(parts.weights)}${cached ? ' (with transposed copies)' : ''}, ` +
    `LoRA ${gbNumber(parts.lora)}, optimizer ${gbNumber(parts.optimizer)}, gradients ${gbNumber(parts.gradients)}, ` +
    `activations ${gbNumber(parts.activations)} (logits ${gbNumber(logitsBytes)}), backend ${gbNumber(parts.backend)}`;
  return { totalBytes, trainerBytes, parts, logitsBytes, loraParameters: P, summary };
}
