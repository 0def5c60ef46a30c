import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { Trainer } from '../../native/index';
import type { TensorType } from '../helpers/gguf/format';
import { makeTempDir } from '../helpers/tempDir';
import { gaussian, writeTinyModel } from '../helpers/tinyModel';
import type { BenchSuite } from './figures';
import { measurePromptEval, measureTraining, N_TOKENS } from './measure';
import type { TrainingFigures } from './measure';

const TYPES: TensorType[] = ['f16', 'q8_0', 'q4_0'];
const MIB = 1024 * 1024;

/** Random token ids (seeded) for the bench sequences. */
export function benchTokens(seed: number): number[] {
  const random = gaussian(seed);
  return Array.from({ length: N_TOKENS }, () => 3 + (Math.floor(Math.abs(random() * 7000)) % 31990));
}

/**
 * LoRA training throughput (one 512-token sequence per step, loss on every position, rank 8 on
 * q/k/v/o) against node-llama-cpp's prompt evaluation of the same tokens on the same file and threads,
 * the same with the loss on the second half only (the head then does half the work), and the trainer's
 * memory with and without gradient checkpointing. Compute-bound bench model:
 * 512 wide, 8 layers, GQA 8/4, ~60M parameters, generated here.
 */
export const trainSuite: BenchSuite = {
  name: 'train',
  async run(record) {
    const llama = await getLlama({ gpu: 'auto', build: 'never', logLevel: LlamaLogLevel.error });
    const trainer = Trainer.forLlama(llama);
    const threads = availableParallelism();
    const dir = makeTempDir('architect-bench-');
    const tokens = benchTokens(11);
    try {
      for (const type of TYPES) {
        const path = join(dir.path, `bench-${type}.gguf`);
        writeTinyModel(path, { type, nEmbd: 512, nLayer: 8, nHead: 8, nHeadKv: 4, nFf: 1536, contextLength: 1024 }, (t, d, r) => trainer.quantize(t, d, r));
        // Ours and llama.cpp's twice each, alternating, keeping the faster: a burst of load elsewhere on the machine
        // then skews neither side of the ratio.
        const faster = (a: TrainingFigures, b: TrainingFigures) => (a.tokensPerSecond >= b.tokensPerSecond ? a : b);
        let plain = await measureTraining(trainer, path, tokens, { threads, gradientCheckpointing: false });
        let llamaTps = await measurePromptEval(llama, path, tokens, threads);
        plain = faster(plain, await measureTraining(trainer, path, tokens, { threads, gradientCheckpointing: false }));
        llamaTps = Math.max(llamaTps, await measurePromptEval(llama, path, tokens, threads));
        const checkpointed = await measureTraining(trainer, path, tokens, { threads, gradientCheckpointing: true });
        const halfLoss = await measureTraining(trainer, path, tokens, { threads, gradientCheckpointing: false, lossRows: N_TOKENS / 2 });
        record({ name: `train.${type}.tokens_per_s`, value: plain.tokensPerSecond, unit: 'tok/s', note: `${plain.device}, ${threads} threads, ${N_TOKENS}-token sequences` });
        record({ name: `train.${type}.llama_cpp_prompt_eval`, value: llamaTps, unit: 'tok/s', note: 'node-llama-cpp, same file and threads' });
        record({ name: `train.${type}.ratio`, value: plain.tokensPerSecond / llamaTps, unit: '×', note: type === 'q4_0' ? 'reported (llama.cpp repacks Q4_0 for its CPU kernels)' : 'target ≥ 0.25' });
        record({ name: `train.${type}.ratio_half_loss`, value: halfLoss.tokensPerSecond / llamaTps, unit: '×', note: `loss on the last ${N_TOKENS / 2} positions (a prompt, then its completion)` });
        record({ name: `train.${type}.peak_memory`, value: plain.peakBytes / MIB, unit: 'MiB', note: 'weights + LoRA/optimizer + compute' });
        record({ name: `train.${type}.peak_memory_checkpointing`, value: checkpointed.peakBytes / MIB, unit: 'MiB', note: 'with gradient checkpointing' });
        record({ name: `train.${type}.checkpointing_time_cost`, value: plain.tokensPerSecond / checkpointed.tokensPerSecond, unit: '×', note: 'step time with / without checkpointing' });
        const fallback = [...new Set([...plain.cpuFallbackOps, ...checkpointed.cpuFallbackOps])];
        record({ name: `train.${type}.cpu_fallback_ops`, value: fallback.length, unit: 'ops', note: fallback.join(' ') || `none (${plain.device})` });
      }
    } finally {
      dir.remove();
      await llama.dispose();
    }
  },
};
