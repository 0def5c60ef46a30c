// Typed wrapper of the native trainer: opaque handles, dispose(), errors as Error with the file and cause.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, freemem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Llama } from 'node-llama-cpp';
import type {
  AddonAdapter,
  AddonAdapterInfo,
  AddonBatch,
  AddonDevice,
  AddonMemory,
  AddonMergeProgress,
  AddonMergeResult,
  AddonModel,
  AddonModelInfo,
  AddonStepOptions,
  AddonTrainingSession,
  TrainerAddon,
  TrainingSessionOptions,
} from './addon-types';
import { DEFAULT_TARGETS } from '../shared/training/config';
import { checkRegularFile } from '../electron/core/files';
import type { LoraTarget } from '../shared/training/config';

export type {
  AddonAdapterInfo as AdapterInfo,
  AddonBatch as TrainBatch,
  AddonDevice as TrainerDevice,
  AddonMemory as TrainingMemory,
  AddonMergeProgress as MergeProgress,
  AddonMergeResult as MergeResult,
  AddonModelInfo as ModelInfo,
  AddonStepOptions as StepOptions,
} from './addon-types';

/** The ggml library variants node-llama-cpp ships; the trainer is built once per variant. */
export type TrainerVariant = 'cpu' | 'cuda' | 'vulkan' | 'metal';

/** The modules LoRA can adapt: shared/training/config.ts's list (`LoraTarget.options`), which the addon checks targets against. */
export type LoraModule = LoraTarget;

// Bundled code lives in out/<entry>/, sources in native/: find native/out from either. Everything is found
// from this file's own location, so a moved checkout or an installed app loads its own copy.
const OUT_DIRS = ['./out/', '../../native/out/'].map((p) => onDisk(fileURLToPath(new URL(p, import.meta.url))));
const require = createRequire(import.meta.url);
let loaded: { variant: TrainerVariant; addon: TrainerAddon } | undefined;

/**
 * The trainer variant that shares node-llama-cpp's ggml libraries in this process. Loading two variants
 * in one process would mix two copies of ggml, so this must match what node-llama-cpp loaded.
 */
export function variantOf(llama: Llama): TrainerVariant {
  if (llama.buildType !== 'prebuilt') {
    throw new Error('node-llama-cpp is running a local build of llama.cpp; the trainer links only to its prebuilt libraries. Reinstall node-llama-cpp\'s prebuilt binaries (npm install) or use gpu: false.');
  }
  return llama.gpu === false ? 'cpu' : llama.gpu;
}

/**
 * A path as native code must see it: inside Electron's app.asar only JavaScript can read files, and what
 * asarUnpack keeps out of the archive (the addon, node-llama-cpp's libraries) lies in app.asar.unpacked.
 */
function onDisk(path: string): string {
  return path.replace(/\.asar(?=[\\/])/, '.asar.unpacked');
}

/**
 * node-llama-cpp's folder of the variant's ggml libraries, which the addon was linked to: build.json names it
 * relative to the addon's folder (native/build.mjs; an older build's absolute path still resolves to itself).
 * The dynamic linker finds libggml by the same relative rpath; ggml gets this folder to load its backends from.
 */
function ggmlLibDir(dir: string, variant: TrainerVariant): string {
  const build = JSON.parse(readFileSync(`${dir}build.json`, 'utf8')) as { libDir: string; lib: string };
  const libDir = resolve(dir, build.libDir);
  if (!existsSync(join(libDir, build.lib))) {
    throw new Error(`the ${variant} trainer's ggml libraries are missing: ${join(libDir, build.lib)} (node-llama-cpp's prebuilt binaries, next to the trainer in ${dir}). Reinstall (npm install), then run \`npm run build:native\``);
  }
  return libDir;
}

function loadAddon(variant: TrainerVariant): TrainerAddon {
  if (loaded) {
    if (loaded.variant !== variant) {
      throw new Error(`this process already uses the ${loaded.variant} trainer; the ${variant} one needs a process of its own`);
    }
    return loaded.addon;
  }
  const dir = OUT_DIRS.map((d) => `${d}${variant}/`).find((d) => existsSync(`${d}architect_trainer.node`));
  if (!dir) {
    throw new Error(`the ${variant} trainer is not built: run \`npm run build:native\` (it builds one per ggml variant node-llama-cpp installed)`);
  }
  const libDir = ggmlLibDir(dir, variant);
  const addon = require(`${dir}architect_trainer.node`) as TrainerAddon;
  addon.loadBackends(libDir);
  loaded = { variant, addon };
  return addon;
}

export interface LoadModelOptions {
  /** Where the weights go: 'gpu', 'cpu', or 'auto' (the first GPU, else the CPU). Default 'auto'. */
  readonly device?: 'cpu' | 'gpu' | 'auto';
  /** CPU threads, 1 to MAX_THREADS; default: all logical cores (at most MAX_THREADS). */
  readonly threads?: number;
  /** The share of weights read so far (0..1], after each tensor. Exceptions it throws are reported, not raised. */
  readonly onProgress?: (fraction: number) => void;
  /** Stops loading between tensors; the promise then rejects with an AbortError. */
  readonly signal?: AbortSignal;
}

/** Most CPU threads a call may use (native/src/backend.h, MAX_THREADS): ggml sizes a thread pool by it. */
export const MAX_THREADS = 1024;

/** `threads` as given, or all logical cores (at most MAX_THREADS); refuses anything but a whole number from 1 to MAX_THREADS. */
function threadCount(threads: number | undefined): number {
  const n = threads ?? Math.min(MAX_THREADS, availableParallelism());
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) throw new RangeError(`threads must be a whole number from 1 to ${MAX_THREADS}, got ${n}`);
  return n;
}

function abortError(what: string): Error {
  const error = new Error(`${what} was cancelled`);
  error.name = 'AbortError';
  return error;
}

export interface LoraOptions {
  /** LoRA rank r, at least 1. Default 8. */
  readonly rank?: number;
  /** LoRA alpha; the update is scaled by alpha / rank. Default 16. */
  readonly alpha?: number;
  /** Modules to adapt in every layer. Default: the training config's, DEFAULT_TARGETS (attn_q, attn_k, attn_v, attn_output). */
  readonly targets?: readonly LoraModule[];
  /** Seed for A's Gaussian initialisation. Default 42. */
  readonly seed?: number;
}

export interface MergeAdapterOptions {
  /** Threads for the adapted weights, 1 to MAX_THREADS; default: all logical cores (at most MAX_THREADS). */
  readonly threads?: number;
  /** After each tensor (tensors and bytes done / total). Exceptions it throws are reported, not raised. */
  readonly onProgress?: (progress: AddonMergeProgress) => void;
  /** Stops the merge between tensors; the new file is removed and the promise rejects with an AbortError. */
  readonly signal?: AbortSignal;
}

/** The native trainer of this process. */
export class Trainer {
  private constructor(
    readonly variant: TrainerVariant,
    private readonly addon: TrainerAddon,
  ) {}

  /** The trainer matching node-llama-cpp's libraries in this process. */
  static forLlama(llama: Llama): Trainer {
    const variant = variantOf(llama);
    return new Trainer(variant, loadAddon(variant));
  }

  /**
   * The CPU trainer without node-llama-cpp, for a process that only works on files (mergeAdapter): it skips
   * node-llama-cpp's seconds of start-up. Never in a process where node-llama-cpp runs another variant.
   */
  static cpu(): Trainer {
    return new Trainer('cpu', loadAddon('cpu'));
  }

  devices(): AddonDevice[] {
    return this.addon.listDevices();
  }

  async loadModel(path: string, options: LoadModelOptions = {}): Promise<TrainerModel> {
    const threads = threadCount(options.threads);
    const { signal, onProgress } = options;
    if (signal?.aborted) throw abortError(`loading ${path}`);
    // The app's one file rule before native code opens it: a FIFO or a device is refused, never waited on.
    await checkRegularFile(path, { field: 'model', what: 'The model file' });
    const abortFlag = new Int32Array(1);
    const onAbort = () => Atomics.store(abortFlag, 0, 1);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const handle = await this.addon.loadModel(path, { device: options.device ?? 'auto', threads, abortFlag, ...(onProgress ? { onProgress } : {}) });
      // Aborted after the last tensor was read: the caller asked for nothing, so it gets nothing.
      if (signal?.aborted) {
        handle.dispose();
        throw abortError(`loading ${path}`);
      }
      return new TrainerModel(this.addon, handle, path);
    } catch (error) {
      if (signal?.aborted) throw abortError(`loading ${path}`);
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Merges a LoRA adapter into its base, W' = W + (alpha / rank)·B·A for every adapted weight, requantized to the
   * weight's stored type; every other byte of the base file as it is. Writes `outPath`, which must not exist (a
   * temporary name: the caller renames it into place once done), complete and fsynced; on any failure or abort
   * it is removed. Streams tensor by tensor on libuv's pool, never blocking the JS thread.
   */
  async mergeAdapter(modelPath: string, adapterPath: string, outPath: string, options: MergeAdapterOptions = {}): Promise<AddonMergeResult> {
    const threads = threadCount(options.threads);
    const { signal, onProgress } = options;
    if (signal?.aborted) throw abortError(`merging into ${outPath}`);
    await checkRegularFile(modelPath, { field: 'model', what: 'The model file' });
    await checkRegularFile(adapterPath, { field: 'adapter', what: 'The adapter' });
    const abortFlag = new Int32Array(1);
    const onAbort = () => Atomics.store(abortFlag, 0, 1);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.addon.mergeAdapter(modelPath, adapterPath, outPath, { threads, abortFlag, ...(onProgress ? { onProgress } : {}) });
    } catch (error) {
      if (signal?.aborted) throw abortError(`merging into ${outPath}`);
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** ggml's quantization of rows of `rowLength` floats into `type` ("q8_0", "q4_0", "q4_K", …). */
  quantize(type: string, data: Float32Array, rowLength: number): Uint8Array {
    return this.addon.quantize(type, data, rowLength);
  }
}

export class TrainerModel {
  readonly info: AddonModelInfo;
  private handle: AddonModel | undefined;

  /** @internal */
  constructor(
    private readonly addon: TrainerAddon,
    handle: AddonModel,
    readonly path: string,
  ) {
    this.handle = handle;
    this.info = handle.info();
  }

  /** log p(token[i+1] | tokens[0..i]) for each i: one value fewer than there are tokens. */
  async logProbabilities(tokens: ArrayLike<number>, options: { adapter?: LoraAdapter; signal?: AbortSignal } = {}): Promise<Float32Array> {
    if (options.signal?.aborted) throw abortError('scoring');
    return this.live().forward(Int32Array.from(tokens), options.adapter?.live() ?? null);
  }

  /** A new adapter on this model: A Gaussian, B zero, so it changes nothing until trained. */
  createAdapter(options: LoraOptions = {}): LoraAdapter {
    const handle = this.addon.createAdapter(this.live(), {
      rank: options.rank ?? 8,
      alpha: options.alpha ?? 16,
      targets: [...(options.targets ?? DEFAULT_TARGETS)],
      seed: options.seed ?? 42,
    });
    return new LoraAdapter(handle);
  }

  /** Loads a GGUF LoRA adapter, checking that it was made for this model's shapes. */
  async loadAdapter(path: string): Promise<LoraAdapter> {
    const model = this.live();
    await checkRegularFile(path, { field: 'adapter', what: 'The adapter' });
    return new LoraAdapter(await this.addon.loadAdapter(model, path));
  }

  /**
   * A training session for `adapter` (on this model): its gradients, AdamW moments and compute buffers. Unless
   * told, it keeps the frozen weights' transposed copies between steps when it does not checkpoint and they fit
   * well in free memory (at most 4 bytes per weight byte, against a quarter of what is free).
   */
  createTrainingSession(adapter: LoraAdapter, options: Partial<TrainingSessionOptions> = {}): TrainingSession {
    const gradientCheckpointing = options.gradientCheckpointing ?? false;
    const handle = this.addon.createTrainingSession(this.live(), adapter.live(), {
      ...options,
      dropout: options.dropout ?? 0,
      gradientCheckpointing,
      cacheWeightCopies: options.cacheWeightCopies ?? (!gradientCheckpointing && 4 * this.info.weightsBytes <= freemem() / 4),
    });
    return new TrainingSession(handle);
  }

  get disposed(): boolean {
    return this.handle === undefined;
  }

  dispose(): void {
    this.handle?.dispose();
    this.handle = undefined;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  private live(): AddonModel {
    if (!this.handle) throw new Error('the model was disposed');
    return this.handle;
  }
}

export class LoraAdapter {
  readonly info: AddonAdapterInfo;
  private handle: AddonAdapter | undefined;

  /** @internal */
  constructor(handle: AddonAdapter) {
    this.handle = handle;
    this.info = handle.info();
  }

  tensorNames(): string[] {
    return this.live().tensorNames();
  }

  getTensor(name: string): Float32Array {
    return this.live().getTensor(name);
  }

  setTensor(name: string, values: Float32Array): void {
    this.live().setTensor(name, values);
  }

  /** Writes the adapter as a GGUF LoRA file (atomically: a temporary file, then a rename). */
  async save(path: string): Promise<void> {
    await this.live().save(path);
  }

  dispose(): void {
    this.handle?.dispose();
    this.handle = undefined;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal */
  live(): AddonAdapter {
    if (!this.handle) throw new Error('the adapter was disposed');
    return this.handle;
  }
}

/** Gradients and optimizer state for training one adapter; the loop around it lives in electron/trainer. */
export class TrainingSession {
  private handle: AddonTrainingSession | undefined;

  /** @internal */
  constructor(handle: AddonTrainingSession) {
    this.handle = handle;
  }

  accumulate(batch: AddonBatch): Promise<number> {
    return this.live().accumulate(batch);
  }

  evaluate(batch: AddonBatch): Promise<number> {
    return this.live().evaluate(batch);
  }

  step(options: AddonStepOptions): Promise<{ gradNorm: number; clipped: boolean }> {
    return this.live().step(options);
  }

  gradient(name: string): Float32Array {
    return this.live().gradient(name);
  }

  saveOptimizer(path: string): Promise<void> {
    return this.live().saveOptimizer(path);
  }

  /** Restores the AdamW moments and step count a checkpoint's optimizer.gguf holds (checked against this adapter's shapes). */
  async loadOptimizer(path: string): Promise<void> {
    const session = this.live();
    await checkRegularFile(path, { field: 'resume', what: 'The optimizer state' });
    return session.loadOptimizer(path);
  }

  memory(): AddonMemory {
    return this.live().memory();
  }

  dispose(): void {
    this.handle?.dispose();
    this.handle = undefined;
  }

  private live(): AddonTrainingSession {
    if (!this.handle) throw new Error('the training session was disposed');
    return this.handle;
  }
}
