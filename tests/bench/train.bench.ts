import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import type { Token } from 'node-llama-cpp';
import { Trainer } from '../../native/index';
import type { TensorType } from '../helpers/gguf/format';
import { makeTempDir } from '../helpers/tempDir';
import { gaussian, writeTinyModel } from '../helpers/tinyModel';
import type { BenchSuite } from './figures';

const TYPES: TensorType[] = ['f16', 'q8_0', 'q4_0'];
const N_TOKENS = 512;
const STEPS = 3;
const MIB = 1024 * 1024;

/**
 * LoRA training throughput (one 512-token sequence per step, loss on every position, rank 8 on
 * q/k/v/o) against node-llama-cpp's prompt evaluation of the same tokens on the same file and threads,
 * and the trainer's backend memory with and without gradient checkpointing. Compute-bound bench model:
 * 512 wide, 8 layers, GQA 8/4, ~60M parameters, generated here.
 */
export const trainSuite: BenchSuite = {
  name: 'train',
  async run(record) {
    const llama = await getLlama({ gpu: 'auto', build: 'never', logLevel: LlamaLogLevel.error });
    const trainer = Trainer.forLlama(llama);
    const threads = availableParallelism();
    const dir = makeTempDir('architect-bench-');
    const random = gaussian(11);
    const tokens = Array.from({ length: N_TOKENS }, () => 3 + (Math.floor(Math.abs(random() * 7000)) % 31990));
    const batch = {
      nSeq: 1,
      nTokens: N_TOKENS,
      tokens: Int32Array.from(tokens),
      rows: Int32Array.from({ length: N_TOKENS - 1 }, (_, i) => i),
      targets: Int32Array.from(tokens.slice(1)),
      weight: 1,
      dropoutSeed: 1,
    };
    const step = { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, clip: 1 };
    try {
      for (const type of TYPES) {
        const path = join(dir.path, `bench-${type}.gguf`);
        writeTinyModel(path, { type, nEmbd: 512, nLayer: 8, nHead: 8, nHeadKv: 4, nFf: 1536, contextLength: 1024 }, (t, d, r) => trainer.quantize(t, d, r));
        const model = await trainer.loadModel(path, { threads });
        const device = model.info.device;
        const perCheckpointing = new Map<boolean, { tps: number; peak: number; fallback: string[] }>();
        for (const checkpointing of [false, true]) {
          const adapter = model.createAdapter({ rank: 8, alpha: 16, targets: ['attn_q', 'attn_k', 'attn_v', 'attn_output'] });
          const session = model.createTrainingSession(adapter, { gradientCheckpointing: checkpointing });
          await session.accumulate(batch);
          await session.step(step);
          const started = performance.now();
          for (let i = 0; i < STEPS; i++) {
            await session.accumulate(batch);
            await session.step(step);
          }
          const seconds = (performance.now() - started) / 1000 / STEPS;
          const memory = session.memory();
          perCheckpointing.set(checkpointing, {
            tps: N_TOKENS / seconds,
            peak: model.info.weightsBytes + memory.stateBytes + memory.peakComputeBytes,
            fallback: memory.cpuFallbackOps,
          });
          session.dispose();
          adapter.dispose();
        }
        model.dispose();

        const reference = await llama.loadModel({ modelPath: path });
        const context = await reference.createContext({ contextSize: 1024, batchSize: N_TOKENS, threads });
        const sequence = context.getSequence();
        let best = Infinity;
        for (let i = 0; i < STEPS + 1; i++) {
          await sequence.clearHistory();
          const started = performance.now();
          await sequence.evaluateWithoutGeneratingNewTokens(tokens as Token[]);
          if (i > 0) best = Math.min(best, (performance.now() - started) / 1000);
        }
        await context.dispose();
        await reference.dispose();
        const llamaTps = N_TOKENS / best;
        const plain = perCheckpointing.get(false)!;
        const checkpointed = perCheckpointing.get(true)!;
        record({ name: `train.${type}.tokens_per_s`, value: plain.tps, unit: 'tok/s', note: `${threads} threads, ${N_TOKENS}-token sequences` });
        record({ name: `train.${type}.llama_cpp_prompt_eval`, value: llamaTps, unit: 'tok/s', note: 'node-llama-cpp, same file and threads' });
        record({ name: `train.${type}.ratio`, value: plain.tps / llamaTps, unit: '×', note: 'target ≥ 0.25 (ceiling ≈ 0.33)' });
        record({ name: `train.${type}.peak_memory`, value: plain.peak / MIB, unit: 'MiB', note: 'weights + LoRA/optimizer + compute' });
        record({ name: `train.${type}.peak_memory_checkpointing`, value: checkpointed.peak / MIB, unit: 'MiB', note: 'with gradient checkpointing' });
        record({ name: `train.${type}.checkpointing_time_cost`, value: plain.tps / checkpointed.tps, unit: '×', note: 'step time with / without checkpointing' });
        const fallback = [...new Set([...plain.fallback, ...checkpointed.fallback])];
        record({ name: `train.${type}.cpu_fallback_ops`, value: fallback.length, unit: 'ops', note: fallback.join(' ') || `none (${device})` });
      }
    } finally {
      dir.remove();
      await llama.dispose();
    }
  },
};
