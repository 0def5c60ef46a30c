// The raw surface of native/out/<variant>/architect_trainer.node (see native/src/addon.cpp).

declare const handle: unique symbol;

export interface AddonModelInfo {
  architecture: string;
  name: string;
  vocabSize: number;
  embeddingLength: number;
  layerCount: number;
  headCount: number;
  headCountKv: number;
  feedForwardLength: number;
  contextLength: number;
  ropeFreqBase: number;
  rmsEpsilon: number;
  /** ggml type name of most weights, e.g. "f16", "q4_0". */
  weightType: string;
  weightsBytes: number;
  /** ggml device name, e.g. "CPU", "CUDA0". */
  device: string;
  threads: number;
}

export interface AddonModel {
  readonly [handle]: 'AddonModel';
  info(): AddonModelInfo;
  forward(tokens: Int32Array, adapter?: AddonAdapter | null): Promise<Float32Array>;
  dispose(): void;
}

export interface AddonAdapterInfo {
  rank: number;
  alpha: number;
  scale: number;
  parameterCount: number;
  targets: string[];
}

export interface AddonAdapter {
  readonly [handle]: 'AddonAdapter';
  info(): AddonAdapterInfo;
  save(path: string): Promise<void>;
  /** GGUF names of every A and B tensor, e.g. "blk.0.attn_q.weight.lora_a". */
  tensorNames(): string[];
  getTensor(name: string): Float32Array;
  setTensor(name: string, values: Float32Array): void;
  dispose(): void;
}

/** nSeq padded sequences of nTokens; the loss is over `rows` (flat s·nTokens+t) predicting `targets`. */
export interface AddonBatch {
  nSeq: number;
  nTokens: number;
  tokens: Int32Array;
  rows: Int32Array;
  targets: Int32Array;
  /** Gradient weight of this micro-batch's mean loss: its share of the optimizer step's target tokens. */
  weight: number;
  dropoutSeed: number;
}

export interface AddonStepOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Max global gradient norm; 0 disables clipping. */
  clip: number;
}

export interface AddonMemory {
  /** Adapter, gradients and AdamW moments. */
  stateBytes: number;
  /** Compute buffers of the last micro-batch (plus activation checkpoints). */
  computeBytes: number;
  peakComputeBytes: number;
  adamSteps: number;
  /** ggml ops the scheduler ran on the CPU although the model is on a GPU (empty on CPU runs). */
  cpuFallbackOps: string[];
}

export interface TrainingSessionOptions {
  dropout: number;
  gradientCheckpointing: boolean;
  /** Frozen weights enter the CPU's backward pass in F32 instead of BF16 / Q8_0: slower, for checking those. */
  exactBackward?: boolean;
  /** The GPU path on the CPU (ggml's copy ops, F32 copies, ggml's cross-entropy on labels the graph builds): for checking it where no GPU is. */
  gpuPath?: boolean;
  /** Causal attention in this many query blocks (1: one block, as inference does); default: by sequence length. */
  attentionBlocks?: number;
  /** Keep the frozen weights' transposed copies between steps (CPU, without gradient checkpointing): a step 7% faster for a second copy of the weights in memory. */
  cacheWeightCopies?: boolean;
}

export interface AddonTrainingSession {
  readonly [handle]: 'AddonTrainingSession';
  /** Forward + backward; gradients add up until step(). Resolves to the micro-batch's mean loss. */
  accumulate(batch: AddonBatch): Promise<number>;
  /** Forward only, no dropout: the mean loss. */
  evaluate(batch: AddonBatch): Promise<number>;
  step(options: AddonStepOptions): Promise<{ gradNorm: number; clipped: boolean }>;
  gradient(name: string): Float32Array;
  saveOptimizer(path: string): Promise<void>;
  loadOptimizer(path: string): Promise<void>;
  memory(): AddonMemory;
  dispose(): void;
}

export interface AddonDevice {
  name: string;
  description: string;
  type: 'cpu' | 'gpu' | 'igpu' | 'accel';
  freeBytes: number;
  totalBytes: number;
}

/** After each tensor of a merge, in file order. */
export interface AddonMergeProgress {
  tensorsDone: number;
  tensorsTotal: number;
  /** Bytes of the new file written so far, and its final size (the base model's). */
  bytesDone: number;
  bytesTotal: number;
  /** The tensor just written, and whether the adapter changed it. */
  tensor: string;
  merged: boolean;
}

export interface AddonMergeResult {
  tensors: number;
  mergedTensors: number;
  bytes: number;
}

export interface TrainerAddon {
  loadBackends(libDir: string): void;
  listDevices(): AddonDevice[];
  loadModel(
    path: string,
    options: {
      device: 'cpu' | 'gpu' | 'auto';
      /** CPU threads, 1 to 1024 (0: all cores); anything else is refused with a RangeError. */
      threads: number;
      /** Called on the JS thread with the share of weights read, after each tensor. */
      onProgress?: (fraction: number) => void;
      /** Loading stops between tensors once element 0 is non-zero. */
      abortFlag?: Int32Array;
    },
  ): Promise<AddonModel>;
  createAdapter(model: AddonModel, options: { rank: number; alpha: number; targets: string[]; seed: number }): AddonAdapter;
  loadAdapter(model: AddonModel, path: string): Promise<AddonAdapter>;
  quantize(type: string, data: Float32Array, rowLength: number): Uint8Array;
  /**
   * Writes base + adapter merged to `outPath`, which must not exist: complete and fsynced on success, removed on
   * any failure. Rejects naming the file and the tensor or key at fault.
   */
  mergeAdapter(
    modelPath: string,
    adapterPath: string,
    outPath: string,
    options: {
      /** Threads for the adapted weights, 1 to 1024; 0: all cores. Anything else is refused with a RangeError. */
      threads: number;
      /** Called on the JS thread after each tensor. */
      onProgress?: (progress: AddonMergeProgress) => void;
      /** The merge stops between tensors (and copy chunks) once element 0 is non-zero. */
      abortFlag?: Int32Array;
    },
  ): Promise<AddonMergeResult>;
  createTrainingSession(model: AddonModel, adapter: AddonAdapter, options: TrainingSessionOptions): AddonTrainingSession;
  readonly loraModules: readonly string[];
}
