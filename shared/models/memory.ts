// The memory a model needs for generation, and whether this machine has it: pure arithmetic, so the
// UI, the CLI and the tests all compute the same figures.
import type { ModelFit, ModelShape } from '../contract/models';
import type { HardwareInfo } from '../contract/system';

/** The context the fit is judged for (or the model's own, when it was trained for less). */
export const FIT_CONTEXT_TOKENS = 4096;
/** System memory kept for the OS and the app when a model runs on the CPU. */
export const RAM_RESERVE_BYTES = 1.5e9;
/** Compute buffers and scratch space, as a share of weights + KV cache. */
export const BUFFER_SHARE = 0.1;

const GB = 1e9;

export interface MemoryEstimate {
  /** ≈ the file size: llama.cpp maps the weights as stored. */
  readonly weightsBytes: number;
  /** The F16 KV cache for `contextTokens`; 0 when the shape is unknown. */
  readonly contextBytes: number;
  readonly buffersBytes: number;
  readonly totalBytes: number;
  /** Null when the model's shape is unknown (the context then is not counted). */
  readonly contextTokens: number | null;
}

/** What the machine offers: free VRAM on a GPU backend (null without one), and total system memory. */
export interface MemoryAvailable {
  readonly gpuFreeBytes: number | null;
  readonly ramTotalBytes: number;
}

/** Free VRAM when node-llama-cpp runs on a GPU backend (CUDA, Vulkan, Metal), and total RAM. */
export function availableFrom(hardware: HardwareInfo): MemoryAvailable {
  const { backend, vram } = hardware.compute;
  const gpu = backend !== null && backend !== 'cpu' && vram !== null;
  return { gpuFreeBytes: gpu ? vram.freeBytes : null, ramTotalBytes: hardware.memory.totalBytes };
}

/** F16 K and V for every layer: 2 × layers × context × kvHeads × headSize × 2 bytes. */
export function kvCacheBytes(shape: ModelShape, contextTokens: number): number {
  return 2 * shape.layers * contextTokens * shape.kvHeads * (shape.width / shape.heads) * 2;
}

export function estimateMemory(fileBytes: number, shape: ModelShape | null, context = FIT_CONTEXT_TOKENS): MemoryEstimate {
  const contextTokens = shape ? Math.min(context, shape.contextLength) : null;
  const contextBytes = shape && contextTokens !== null ? kvCacheBytes(shape, contextTokens) : 0;
  const buffersBytes = Math.round((fileBytes + contextBytes) * BUFFER_SHARE);
  return { weightsBytes: fileBytes, contextBytes, buffersBytes, totalBytes: fileBytes + contextBytes + buffersBytes, contextTokens };
}

/** A byte count in GB (10⁹ bytes) with one decimal, e.g. "4.4 GB"; small values keep two decimals. */
export function formatGB(bytes: number): string {
  const gb = bytes / GB;
  return `${gb < 0.095 && gb > 0 ? gb.toFixed(2) : gb.toFixed(1)} GB`;
}

const num = (bytes: number) => formatGB(bytes).replace(' GB', '');

/**
 * Where the model runs: all layers on the GPU when its free VRAM holds the estimate, else in system
 * memory when total RAM minus the reserve holds it, else nowhere. The summary gives the numbers.
 */
export function fitFor(estimate: MemoryEstimate, available: MemoryAvailable): ModelFit {
  const needs =
    `needs ${formatGB(estimate.totalBytes)} (weights ${num(estimate.weightsBytes)}, ` +
    (estimate.contextTokens === null ? 'context unknown' : `context ${num(estimate.contextBytes)} for ${estimate.contextTokens} tokens`) +
    `, buffers ${num(estimate.buffersBytes)})`;
  const ramUsable = Math.max(0, available.ramTotalBytes - RAM_RESERVE_BYTES);
  const ram = `${formatGB(ramUsable)} of system memory (${formatGB(available.ramTotalBytes)} less ${formatGB(RAM_RESERVE_BYTES)} kept for the system)`;
  const { gpuFreeBytes } = available;
  if (gpuFreeBytes !== null && estimate.totalBytes <= gpuFreeBytes) {
    return { where: 'gpu', requiredBytes: estimate.totalBytes, availableBytes: gpuFreeBytes, summary: `${needs}; the GPU has ${formatGB(gpuFreeBytes)} free` };
  }
  if (estimate.totalBytes <= ramUsable) {
    const gpu = gpuFreeBytes === null ? 'no GPU backend, so it runs on the CPU' : `the GPU has only ${formatGB(gpuFreeBytes)} free, so it runs on the CPU`;
    return { where: 'cpu', requiredBytes: estimate.totalBytes, availableBytes: ramUsable, summary: `${needs}; ${gpu} in ${ram}` };
  }
  const gpu = gpuFreeBytes === null ? '' : `the GPU's ${formatGB(gpuFreeBytes)} free and `;
  return { where: 'none', requiredBytes: estimate.totalBytes, availableBytes: ramUsable, summary: `${needs}; more than ${gpu}${ram}` };
}
