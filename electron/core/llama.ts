import { getLlama, getLlamaGpuTypes, LlamaLogLevel } from 'node-llama-cpp';
import type { Llama, LlamaOptions } from 'node-llama-cpp';
import type { BackendChoice } from '../../shared/contract/app';
import { AppError } from '../../shared/errors';
import { cudaBlocker } from './cudaCode';

/** Where the backend setting is changed, for the messages that ask the user to change it. */
const SETTING = 'Settings → Backend and GPU';

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
 * Why node-llama-cpp could not load CUDA here, for a person: its own error says only "NoBinaryFoundError" (the
 * reason is in the log of the child process that tested the binary), so this asks which backends it finds.
 */
async function cudaFailure(error: unknown): Promise<string> {
  const supported = await getLlamaGpuTypes('supported').catch(() => undefined);
  const why = supported && !supported.includes('cuda')
    ? 'node-llama-cpp finds no NVIDIA driver with the CUDA runtime on this machine'
    : `node-llama-cpp's prebuilt CUDA binary did not load on this machine (${error instanceof Error ? error.message : String(error)})`;
  return `CUDA is chosen as the backend, but ${why}. Choose Automatic or CPU only under ${SETTING}.`;
}

/**
 * node-llama-cpp for a backend choice (gpuOption's `gpu`), never compiling llama.cpp. Rejects with an AppError that
 * names CUDA and what to change when CUDA is chosen and cannot run here; with node-llama-cpp's error otherwise.
 */
export async function loadLlama(backend: BackendChoice): Promise<{ llama: Llama; notice?: string }> {
  let option: Awaited<ReturnType<typeof gpuOption>>;
  try {
    option = await gpuOption(backend);
  } catch (error) {
    throw new AppError('unavailable', `${(error as Error).message} (${SETTING})`, { cause: error });
  }
  try {
    const llama = await getLlama({ gpu: option.gpu, build: 'never', progressLogs: false, logLevel: LlamaLogLevel.error });
    return { llama, ...(option.notice ? { notice: option.notice } : {}) };
  } catch (error) {
    if (backend !== 'cuda') throw error;
    throw new AppError('unavailable', await cudaFailure(error), { cause: error });
  }
}

interface Loaded {
  /** The setting it was loaded for. */
  readonly backend: BackendChoice;
  readonly llama: Promise<Llama>;
  notice?: string;
}

/**
 * The node-llama-cpp runtime of this process, loaded on first use for the backend setting of that moment. It never
 * compiles llama.cpp (`build: 'never'`): a probe or a click must not start a minutes-long build; when no prebuilt
 * binary fits, `get()` rejects with node-llama-cpp's reason (for CUDA, an AppError saying what to change).
 *
 * When the setting changes, the next `get()` loads a runtime for the new one and retires the old one, which stays
 * usable by what was loaded on it until `release()` disposes it. node-llama-cpp allows this: each `getLlama` loads
 * its own binding (getLlama.js `loadBindingModule`), and disposing one frees no state another needs.
 */
export class LlamaRuntime {
  private current: Loaded | undefined;
  private readonly retired: Promise<Llama>[] = [];

  /** @param requested the backend setting, read at each `get()`; default always 'auto'. */
  constructor(private readonly requested: () => BackendChoice = () => 'auto') {}

  /** Why a backend node-llama-cpp would have picked was skipped (see gpuOption), once loaded. */
  get notice(): string | undefined {
    return this.current?.notice;
  }

  /** The backend setting now: what the next `get()` loads for. */
  get setting(): BackendChoice {
    return this.requested();
  }

  /** The setting the runtime now loaded (or loading) was made for; undefined before the first use. */
  get loadedFor(): BackendChoice | undefined {
    return this.current?.backend;
  }

  /** The runtime for the backend setting now. */
  get(): Promise<Llama> {
    const backend = this.requested();
    if (this.current && this.current.backend !== backend) this.retire();
    if (!this.current) {
      const loaded: Loaded = { backend, llama: this.load(backend, (notice) => (loaded.notice = notice)) };
      this.current = loaded;
      loaded.llama.catch(() => {
        if (this.current === loaded) this.current = undefined;
      });
    }
    return this.current.llama;
  }

  /**
   * Disposes the runtimes made for an earlier backend setting, and with them what was loaded on them: call once
   * nothing on them is in use (the generation host unloads its model first). The next `get()` loads for the new one.
   */
  async release(): Promise<void> {
    if (this.current && this.current.backend !== this.requested()) this.retire();
    const retired = this.retired.splice(0);
    await Promise.all(retired.map((llama) => llama.then((l) => l.dispose(), () => undefined)));
  }

  async dispose(): Promise<void> {
    if (this.current) this.retire();
    await this.release();
  }

  private retire(): void {
    this.retired.push(this.current!.llama);
    this.current = undefined;
  }

  private async load(backend: BackendChoice, onNotice: (notice: string) => void): Promise<Llama> {
    const { llama, notice } = await loadLlama(backend);
    if (notice) onNotice(notice);
    // On the CPU node-llama-cpp gives each context at least 4 threads; on a 2-core machine their
    // spinning at ggml's barriers made decoding ~500× slower (measured: 13 s for 12 tokens). One thread
    // per math core instead.
    if (llama.gpu === false) llama.maxThreads = llama.cpuMathCores;
    return llama;
  }
}
