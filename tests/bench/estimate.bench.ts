import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { Trainer } from '../../native/index';
import type { LoraTarget } from '../../shared/training/config';
import { estimateTrainingMemory } from '../../shared/training/memory';
import type { TensorType } from '../helpers/gguf/format';
import { makeTempDir } from '../helpers/tempDir';
import { writeTinyModel } from '../helpers/tinyModel';
import type { BenchSuite } from './figures';
import { benchBatch, N_TOKENS } from './measure';
import { benchTokens } from './train.bench';

const MIB = 1024 * 1024;
const TARGETS: LoraTarget[] = ['attn_q', 'attn_k', 'attn_v', 'attn_output'];

/**
 * The training memory estimate (shared/training/memory.ts) against the trainer's measured peak (weights +
 * adapter/optimizer state + peak compute buffers, the engine's peakMemoryBytes) on the train bench's model: 512 wide,
 * 8 layers, GQA 8/4, ~60M parameters; one 512-token sequence with the loss on every position, rank 8 on q/k/v/o;
 * F16 and Q8_0 bases, with and without gradient checkpointing; plus the GPU path run on the CPU (ggml's copies and
 * cross-entropy, one attention block), which is what the estimate assumes for a GPU. The sessions do not keep the
 * weights' transposed copies between steps (the estimate counts those when told they are kept).
 */
export const estimateSuite: BenchSuite = {
  name: 'estimate',
  async run(record) {
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
    const trainer = Trainer.forLlama(llama);
    const threads = availableParallelism();
    const dir = makeTempDir('architect-bench-');
    const batch = benchBatch(benchTokens(11));
    try {
      for (const type of ['f16', 'q8_0'] as TensorType[]) {
        const path = join(dir.path, `bench-${type}.gguf`);
        writeTinyModel(path, { type, nEmbd: 512, nLayer: 8, nHead: 8, nHeadKv: 4, nFf: 1536, contextLength: 1024, tiledRandom: true }, (t, d, r) => trainer.quantize(t, d, r));
        const cases: { gradientCheckpointing: boolean; gpuPath: boolean }[] = [
          { gradientCheckpointing: false, gpuPath: false },
          { gradientCheckpointing: true, gpuPath: false },
          { gradientCheckpointing: false, gpuPath: true },
          { gradientCheckpointing: true, gpuPath: true },
        ];
        for (const { gradientCheckpointing, gpuPath } of cases) {
          const model = await trainer.loadModel(path, { threads, device: 'cpu' });
          const adapter = model.createAdapter({ rank: 8, alpha: 16, targets: TARGETS });
          const session = model.createTrainingSession(adapter, { gradientCheckpointing, cacheWeightCopies: false, ...(gpuPath ? { gpuPath: true, attentionBlocks: 1 } : {}) });
          try {
            await session.accumulate(batch);
            await session.step({ lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, clip: 1 });
            const memory = session.memory();
            const i = model.info;
            const measured = i.weightsBytes + memory.stateBytes + memory.peakComputeBytes;
            const estimate = estimateTrainingMemory({
              shape: { layers: i.layerCount, width: i.embeddingLength, heads: i.headCount, kvHeads: i.headCountKv, feedForward: i.feedForwardLength, vocabulary: i.vocabSize, contextLength: i.contextLength },
              base: { bytes: statSync(path).size, type },
              rank: 8,
              targets: TARGETS,
              batchSize: 1,
              maxLength: N_TOKENS,
              lossTokens: batch.rows.length,
              gradientCheckpointing,
              device: gpuPath ? 'gpu' : 'cpu',
            });
            const name = `estimate.${type}${gpuPath ? '.gpu_path' : ''}${gradientCheckpointing ? '.checkpointing' : ''}.error`;
            record({
              name,
              value: 100 * (estimate.trainerBytes / measured - 1),
              unit: '%',
              note: `estimate ${(estimate.trainerBytes / MIB).toFixed(1)} MiB vs measured ${(measured / MIB).toFixed(1)} MiB (compute ${(estimate.parts.activations / MIB).toFixed(1)} vs ${(memory.peakComputeBytes / MIB).toFixed(1)}); target within ±25%`,
            });
          } finally {
            session.dispose();
            adapter.dispose();
            model.dispose();
          }
        }
      }
    } finally {
      dir.remove();
      await llama.dispose();
    }
  },
};
