import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import type { Llama } from 'node-llama-cpp';

/**
 * The one node-llama-cpp runtime of this process, loaded on first use. It never compiles llama.cpp
 * (`build: 'never'`): a probe or a click must not start a minutes-long build; when no prebuilt
 * binary fits, `get()` rejects with node-llama-cpp's reason.
 */
export class LlamaRuntime {
  private loading: Promise<Llama> | undefined;

  get(): Promise<Llama> {
    this.loading ??= getLlama({ gpu: 'auto', build: 'never', progressLogs: false, logLevel: LlamaLogLevel.error });
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
