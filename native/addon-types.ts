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

export interface TrainerAddon {
  loadBackends(libDir: string): void;
  listDevices(): AddonDevice[];
  loadModel(
    path: string,
    options: {
      device: 'cpu' | 'gpu' | 'auto';
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
  createTrainingSession(model: AddonModel, adapter: AddonAdapter, options: TrainingSessionOptions): AddonTrainingSession;
  readonly loraModules: readonly string[];
}
