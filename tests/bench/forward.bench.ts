import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import type { Token } from 'node-llama-cpp';
import { Trainer } from '../../native/index';
import type { TensorType } from '../helpers/gguf/format';
import { makeTempDir } from '../helpers/tempDir';
import { gaussian, writeTinyModel } from '../helpers/tinyModel';
import { peakRssMiB } from './figures';
import type { BenchSuite } from './figures';

const TYPES: TensorType[] = ['f16', 'q8_0', 'q4_0'];
const N_TOKENS = 512;
const RUNS = 3;

/** Best of RUNS timed calls after one warm-up, in seconds. */
async function bestOf(run: () => Promise<unknown>): Promise<number> {
  await run();
  let best = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await run();
    best = Math.min(best, (performance.now() - start) / 1000);
  }
  return best;
}

/**
 * Our forward pass against node-llama-cpp's prompt evaluation on the same file, threads and batch, on a
 * generated compute-bound model (512 wide, 8 layers, GQA 8/4, ~60M parameters). Note: we compute logits for
 * every position (training needs them); llama.cpp's prompt evaluation computes them for the last one only.
 */
export const forwardSuite: BenchSuite = {
  name: 'forward',
  async run(record) {
    const llama = await getLlama({ gpu: 'auto', build: 'never', logLevel: LlamaLogLevel.error });
    const trainer = Trainer.forLlama(llama);
    const threads = availableParallelism();
    const dir = makeTempDir('architect-bench-');
    const random = gaussian(3);
    const tokens = Array.from({ length: N_TOKENS }, () => 3 + Math.floor(Math.abs(random() * 7000)) % 31990);
    const ours = new Map<TensorType, number>();
    try {
      const paths = new Map<TensorType, string>();
      for (const type of TYPES) {
        const path = join(dir.path, `bench-${type}.gguf`);
        writeTinyModel(path, { type, nEmbd: 512, nLayer: 8, nHead: 8, nHeadKv: 4, nFf: 1536, contextLength: 1024 }, (t, d, r) => trainer.quantize(t, d, r));
        paths.set(type, path);
      }
      // Ours first, so the peak RSS below is ours alone.
      for (const type of TYPES) {
        const model = await trainer.loadModel(paths.get(type)!, { threads });
        const seconds = await bestOf(() => model.logProbabilities(tokens));
        ours.set(type, N_TOKENS / seconds);
        record({ name: `forward.${type}.ours`, value: N_TOKENS / seconds, unit: 'tok/s', note: `${model.info.device}, ${threads} threads, ${N_TOKENS} tokens` });
        model.dispose();
      }
      record({ name: 'forward.peak_rss.ours', value: peakRssMiB(), unit: 'MiB', note: 'process peak after our three forwards' });
      for (const type of TYPES) {
        const model = await llama.loadModel({ modelPath: paths.get(type)! });
        const context = await model.createContext({ contextSize: 1024, batchSize: N_TOKENS, threads });
        const sequence = context.getSequence();
        const seconds = await bestOf(async () => {
          await sequence.clearHistory();
          await sequence.evaluateWithoutGeneratingNewTokens(tokens as Token[]);
        });
        const theirs = N_TOKENS / seconds;
        record({ name: `forward.${type}.llama_cpp`, value: theirs, unit: 'tok/s', note: 'node-llama-cpp prompt eval' });
        record({ name: `forward.${type}.ratio`, value: ours.get(type)! / theirs, unit: '×', note: 'ours / llama.cpp' });
        await context.dispose();
        await model.dispose();
      }
    } finally {
      dir.remove();
      await llama.dispose();
    }
  },
};
