import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel } from 'node-llama-cpp';
import type { BackendChoice } from '../../../shared/contract/app';
import { AppError } from '../../../shared/errors';
import type { PromptTemplates } from '../../../shared/prompts';
import type { LlamaRuntime } from '../llama';
import { ExampleRenderer } from '../prompts/render';

/** A base model ready to generate with one adapter (or none) at one context size. */
export interface Loaded {
  readonly model: LlamaModel;
  readonly renderer: ExampleRenderer;
  readonly sequence: LlamaContextSequence;
}

interface ContextKey {
  readonly adapterPath: string | null;
  readonly contextSize: number;
  readonly threads: number;
}

/**
 * Keeps one base model loaded and one context on it. The base is loaded once and kept; another adapter
 * (or context size) gets a new context on the same loaded model, never a reload: adapters are applied per
 * context by node-llama-cpp and stay loaded with the model. Only another base model unloads this one, or a
 * change of the backend setting: a base loaded on the runtime of an earlier setting is loaded again on the new one.
 */
export class LocalModelHost {
  /** Base-model loads so far (what "switching adapters does not reload" is measured by). */
  loads = 0;
  /** Contexts created so far. */
  contexts = 0;
  private modelPath: string | undefined;
  private model: Promise<LlamaModel> | undefined;
  /** The runtime the base was loaded on, and the backend setting it was loaded for. */
  private loadedOn: { llama: Llama; backend: BackendChoice | undefined } | undefined;
  private renderer: ExampleRenderer | undefined;
  private key: ContextKey | undefined;
  private context: LlamaContext | undefined;
  private sequence: LlamaContextSequence | undefined;

  constructor(private readonly llama: LlamaRuntime) {}

  /** The loaded base's path, if any. */
  get loadedPath(): string | undefined {
    return this.model ? this.modelPath : undefined;
  }

  /** What the loaded base runs on: the backend setting it was loaded for, node-llama-cpp's GPU type (false: the CPU). */
  get runtime(): { readonly backend: BackendChoice | undefined; readonly gpu: Llama['gpu'] } | undefined {
    return this.model && this.loadedOn ? { backend: this.loadedOn.backend, gpu: this.loadedOn.llama.gpu } : undefined;
  }

  /** Whether `modelPath` is the loaded base, on the backend set now (so the caller can say "loading…" only when it is not). */
  has(modelPath: string): boolean {
    return this.modelPath === modelPath && this.model !== undefined && this.loadedOn?.backend === this.llama.setting;
  }

  hasContext(adapterPath: string | null, contextSize: number, threads = 0): boolean {
    return this.key?.adapterPath === adapterPath && this.key.contextSize === contextSize && this.key.threads === threads && this.context !== undefined;
  }

  /** `threads` 0: node-llama-cpp's default. */
  async acquire(modelPath: string, adapterPath: string | null, contextSize: number, templates: PromptTemplates, threads = 0): Promise<Loaded> {
    const model = await this.loadBase(modelPath);
    // Templates may have been edited since the last call; the wrapper stays the model's.
    this.renderer = new ExampleRenderer(model, templates);
    if (!this.hasContext(adapterPath, contextSize, threads)) {
      this.sequence = undefined;
      await this.context?.dispose();
      this.context = undefined;
      this.key = undefined;
      try {
        this.context = await model.createContext({
          contextSize,
          sequences: 1,
          ...(threads > 0 ? { threads } : {}),
          ...(adapterPath ? { lora: { adapters: [{ filePath: adapterPath }] } } : {}),
        });
      } catch (error) {
        const what = adapterPath ? `the adapter ${adapterPath} on ${modelPath}` : modelPath;
        throw new AppError('unavailable', `Could not make a ${contextSize}-token context for ${what}: ${(error as Error).message}. Try a smaller context size.`);
      }
      this.contexts++;
      this.key = { adapterPath, contextSize, threads };
      this.sequence = this.context.getSequence();
    }
    // Each generation starts from an empty sequence, as the trainer's examples do.
    await this.sequence!.clearHistory();
    return { model, renderer: this.renderer, sequence: this.sequence! };
  }

  /** Loads a base ahead of its next use (after a training job gave the GPU back). */
  async preload(modelPath: string): Promise<void> {
    await this.loadBase(modelPath);
  }

  /** Frees the context and the model, e.g. when the trainer needs the GPU. */
  async unload(): Promise<void> {
    this.sequence = undefined;
    await this.context?.dispose();
    this.context = undefined;
    this.key = undefined;
    const model = await this.model?.catch(() => undefined);
    this.model = undefined;
    this.modelPath = undefined;
    this.loadedOn = undefined;
    await model?.dispose();
  }

  private async loadBase(modelPath: string): Promise<LlamaModel> {
    // Rejects, saying why, when the backend set now cannot load (CUDA chosen where it cannot run).
    const llama = await this.llama.get();
    if (this.model && this.loadedOn?.llama !== llama) {
      // The backend setting changed (GenerationService.switchBackend unloads at once; this is for a change it missed).
      await this.unload();
      await this.llama.release();
    }
    if (this.modelPath !== modelPath || !this.model) {
      await this.unload();
      this.modelPath = modelPath;
      this.loads++;
      this.loadedOn = { llama, backend: this.llama.loadedFor };
      this.model = llama.loadModel({ modelPath });
      this.model.catch(() => {
        this.model = undefined;
        this.modelPath = undefined;
        this.loadedOn = undefined;
      });
    }
    try {
      return await this.model;
    } catch (error) {
      throw new AppError('unavailable', `Could not load the model ${modelPath}: ${(error as Error).message}`);
    }
  }
}
