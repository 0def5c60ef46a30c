import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import type { Llama, LlamaOptions } from 'node-llama-cpp';
import { cudaBlocker } from './cudaCode';

/**
 * node-llama-cpp's `gpu` option for a requested backend: 'auto' skips CUDA where its prebuilt library holds no
 * code this GPU and driver run (cudaCode.ts), returning why as `notice`; 'cuda' then fails with that reason.
 */
export async function gpuOption(requested: 'auto' | 'cuda' | 'cpu', blocker: () => Promise<string | undefined> = cudaBlocker): Promise<{ gpu: LlamaOptions['gpu']; notice?: string }> {
  if (requested === 'cpu') return { gpu: false };
  const notice = await blocker();
  if (!notice) return { gpu: requested };
  if (requested === 'cuda') throw new Error(`${notice} Or choose the CPU backend.`);
  return { gpu: { type: 'auto', exclude: ['cuda'] }, notice };
}

/**
 * The one node-llama-cpp runtime of this process, loaded on first use. It never compiles llama.cpp
 * (`build: 'never'`): a probe or a click must not start a minutes-long build; when no prebuilt
 * binary fits, `get()` rejects with node-llama-cpp's reason.
 */
export class LlamaRuntime {
  private loading: Promise<Llama> | undefined;
  /** Why a backend node-llama-cpp would have picked was skipped (see gpuOption), once loaded. */
  notice: string | undefined;

  get(): Promise<Llama> {
    this.loading ??= gpuOption('auto').then(async ({ gpu, notice }) => {
      this.notice = notice;
      const llama = await getLlama({ gpu, build: 'never', progressLogs: false, logLevel: LlamaLogLevel.error });
      // On the CPU node-llama-cpp gives each context at least 4 threads; on a 2-core machine their
      // spinning at ggml's barriers made decoding ~500× slower (measured: 13 s for 12 tokens). One thread
      // per math core instead.
      if (llama.gpu === false) llama.maxThreads = llama.cpuMathCores;
      return llama;
    });
    this.loading.catch(() => (this.loading = undefined));
    return this.loading;
  }

  async dispose(): Promise<void> {
    const loading = this.loading;
    this.loading = undefined;
    const llama = await loading?.catch(() => undefined);
    await llama?.dispose();
  }
}
