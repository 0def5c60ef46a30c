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
  loadModel(path: string, options: { device: 'cpu' | 'gpu' | 'auto'; threads: number }): Promise<AddonModel>;
  createAdapter(model: AddonModel, options: { rank: number; alpha: number; targets: string[]; seed: number }): AddonAdapter;
  loadAdapter(model: AddonModel, path: string): Promise<AddonAdapter>;
  quantize(type: string, data: Float32Array, rowLength: number): Uint8Array;
  readonly loraModules: readonly string[];
}
