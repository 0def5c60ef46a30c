import type { ModelFit, ModelShape } from '../../../shared/contract/models';
import type { HardwareInfo } from '../../../shared/contract/system';
import { availableFrom, estimateMemory, fitFor } from '../../../shared/models/memory';

/**
 * Whether a model file fits this machine for generation: weights ≈ the file size, plus the F16 KV
 * cache for a 4096-token context, plus ~10% buffers, against the GPU's free VRAM when node-llama-cpp
 * runs on a GPU backend, else against total RAM minus 1.5 GB (shared/models/memory.ts).
 */
export function modelFit(sizeBytes: number, shape: ModelShape | null, hardware: HardwareInfo): ModelFit {
  return fitFor(estimateMemory(sizeBytes, shape), availableFrom(hardware));
}
