import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { forkSpawner } from '../../electron/core/childHost';
import { exportVersion } from '../../electron/core/versions/export';
import { Trainer } from '../../native/index';
import type { TensorType } from '../helpers/gguf/format';
import { makeTempDir } from '../helpers/tempDir';
import { writeTinyAdapter, writeTinyModel } from '../helpers/tinyModel';
import type { BenchSuite } from './figures';

const TYPES: TensorType[] = ['f16', 'q8_0', 'q4_K'];
const TARGETS = ['attn_q', 'attn_k', 'attn_v', 'attn_output'];
const MiB = 1024 * 1024;

/**
 * Merging a LoRA adapter (rank 8 on q/k/v/o, the training default) into a generated 512-wide, 8-layer model
 * (~60M parameters): the native merge alone (MB/s of the written file, page cache warm), and the whole merged
 * export through its child process (start, merge, SHA-256, rename).
 */
export const exportSuite: BenchSuite = {
  name: 'export',
  async run(record) {
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
    const trainer = Trainer.forLlama(llama);
    const threads = availableParallelism();
    const dir = makeTempDir('architect-bench-export-');
    try {
      for (const type of TYPES) {
        const model = join(dir.path, `${type}.gguf`);
        const spec = writeTinyModel(model, { type, nEmbd: 512, nLayer: 8, nHead: 8, nHeadKv: 4, nFf: 1536, contextLength: 1024 }, (t, d, r) => trainer.quantize(t, d, r));
        const adapter = join(dir.path, `${type}.lora.gguf`);
        writeTinyAdapter(adapter, spec, { rank: 8, alpha: 16, targets: TARGETS, std: 0.02 });
        const bytes = statSync(model).size;
        const out = join(dir.path, `${type}.merged.gguf`);
        let best = Infinity;
        for (let i = 0; i < 3; i++) {
          const started = performance.now();
          await trainer.mergeAdapter(model, adapter, out, { threads });
          best = Math.min(best, (performance.now() - started) / 1000);
          await rm(out);
        }
        record({ name: `export.merge.${type}`, value: bytes / MiB / best, unit: 'MiB/s', note: `native merge, ${(bytes / MiB).toFixed(0)} MiB, ${threads} threads, best of 3` });
        const started = performance.now();
        await exportVersion({ spawner: forkSpawner, modelPath: model, adapterPath: adapter, outPath: out, merged: true, threads });
        record({ name: `export.merged.${type}`, value: bytes / MiB / ((performance.now() - started) / 1000), unit: 'MiB/s', note: 'exportVersion: child start, merge, SHA-256, rename' });
        await rm(out);
      }
    } finally {
      dir.remove();
      await llama.dispose();
    }
  },
};
