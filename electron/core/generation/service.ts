import { randomInt } from 'node:crypto';
import { basename } from 'node:path';
import { LlamaCompletion } from 'node-llama-cpp';
import type { Token } from 'node-llama-cpp';
import type { Store } from '../../../db/store';
import type { GenerationRecord, SamplingSettings } from '../../../shared/contract/artifacts';
import { GenerateArgs, GenerationSettings } from '../../../shared/contract/generation';
import type { GenerateResult, GeneratedKind, GpuYield, PromptTemplate } from '../../../shared/contract/generation';
import type { InstalledModel } from '../../../shared/contract/models';
import { AppError } from '../../../shared/errors';
import { chatTurn, unwrapMermaid } from '../../../shared/prompts';
import type { ArtifactService } from '../artifacts';
import type { ValidationService } from '../validation';
import type { ValidationResult } from '../../../shared/contract/validation';
import type { LlamaRuntime } from '../llama';
import { sha256File } from '../models/hash';
import type { OllamaProvider } from '../ollama';
import { parseInput } from '../parseArgs';
import { byKind, loadPromptTemplates } from '../prompts/templates';
import type { VersionRegistry } from '../versions/registry';
import { checkAdapter } from './adapter';
import { LocalModelHost } from './localModel';
import type { Loaded } from './localModel';

const SETTINGS_KEY = 'generation';
const DIAGRAM_KINDS: ReadonlySet<GeneratedKind> = new Set(['erd', 'flowchart', 'sequence']);
/** Room kept after the prompt so the reply has space to start. */
const MIN_REPLY_TOKENS = 16;

export interface GenerationDeps {
  readonly store: Store;
  readonly dataDir: string;
  readonly llama: LlamaRuntime;
  /** The installed models (ModelService.get): throws not_found for an unknown id. */
  readonly models: { get(id: number): InstalledModel; list(): Promise<{ models: InstalledModel[] }> };
  readonly ollama: OllamaProvider;
  readonly artifacts: ArtifactService;
  readonly validation: ValidationService;
  /** Which version serves each kind (the 'active' choice, and versions chosen by id). */
  readonly registry: VersionRegistry;
  readonly onYield: (event: GpuYield) => void;
  readonly onChunk: (event: { generationId: string; index: number; text: string }) => void;
  readonly onStatus: (event: { generationId: string; phase: Phase; message: string }) => void;
}

type Phase = 'loading-model' | 'loading-adapter' | 'evaluating-prompt' | 'generating' | 'validating';
type Status = (phase: Phase, message: string) => void;

interface Written {
  readonly text: string;
  readonly record: Omit<GenerationRecord, 'sampling' | 'provider'>;
}

/** A local model, resolved from the caller's choice: the base, and the adapter (a registered version's or a file). */
interface LocalChoice {
  readonly modelId: number;
  readonly adapterPath: string | null;
  readonly version: { id: number; number: number } | null;
}

/**
 * Generates artifacts: the kind's prompt template, rendered by the trainer's own renderer (ExampleRenderer),
 * streamed from a local model through node-llama-cpp (or from Ollama), then stored with how it was made
 * and validated like a pasted artifact. One generation runs at a time: they share one model and one GPU.
 */
export class GenerationService {
  readonly host: LocalModelHost;
  private readonly running = new Map<string, AbortController>();
  private queue: Promise<unknown> = Promise.resolve();
  private gpuYield: GpuYield = { jobId: null, message: null };
  /** The base that was loaded when a job took the GPU: loaded again when the job ends. */
  private yieldedPath: string | undefined;

  constructor(private readonly deps: GenerationDeps) {
    this.host = new LocalModelHost(deps.llama);
  }

  settings(): GenerationSettings {
    return this.deps.store.settings.get(SETTINGS_KEY, GenerationSettings, GenerationSettings.parse({ sampling: {} }));
  }

  setSettings(change: { sampling?: Partial<SamplingSettings>; contextSize?: number; ollamaHost?: string; threads?: number }): GenerationSettings {
    const current = this.settings();
    const next = GenerationSettings.parse({ ...current, ...change, sampling: { ...current.sampling, ...change.sampling } });
    this.deps.store.settings.set(SETTINGS_KEY, next);
    return next;
  }

  async templates(): Promise<{ templates: PromptTemplate[] }> {
    return { templates: await loadPromptTemplates(this.deps.dataDir) };
  }

  yielded(): GpuYield {
    return this.gpuYield;
  }

  /** The local model gives the GPU up for a training job (it reloads at the next generation after the job). */
  async yieldFor(jobId: number, message: string): Promise<void> {
    this.yieldedPath = this.host.loadedPath;
    await this.serialized(() => this.host.unload());
    this.gpuYield = { jobId, message };
    this.deps.onYield(this.gpuYield);
  }

  /** The job that had the GPU ended: the model it unloaded loads again (a failed load waits for the next generation). */
  async reclaim(): Promise<void> {
    if (this.gpuYield.jobId === null) return;
    const path = this.yieldedPath;
    this.yieldedPath = undefined;
    this.gpuYield = { jobId: null, message: null };
    this.deps.onYield(this.gpuYield);
    if (path) await this.serialized(() => this.host.preload(path)).catch(() => undefined);
  }

  /** A generation is running or waiting: adaptive training jobs wait for it. */
  get busy(): boolean {
    return this.running.size > 0;
  }

  /**
   * Why the backend setting cannot change now, or null. Not while a generation runs: switching would take its model
   * away mid-reply, and waiting for it would leave the setting saying one backend while another runs, for as long
   * as the reply takes (minutes on a CPU).
   */
  backendRefusal(): string | null {
    const n = this.running.size;
    if (n === 0) return null;
    return `${n === 1 ? 'A generation is' : `${n} generations are`} running: stop ${n === 1 ? 'it' : 'them'} on the Generate page (or let ${n === 1 ? 'it' : 'them'} finish), then change the backend.`;
  }

  /**
   * The backend setting changed: once the work queued before it is done (a comparison, a reload after a training
   * job), the model is unloaded and the runtime of the old setting disposed; the next generation loads both anew.
   */
  switchBackend(): Promise<void> {
    return this.serialized(async () => {
      await this.host.unload();
      await this.deps.llama.release();
    });
  }

  stop(generationId: string): { stopped: boolean } {
    const controller = this.running.get(generationId);
    controller?.abort();
    return { stopped: controller !== undefined };
  }

  async generate(input: GenerateArgs, signal?: AbortSignal): Promise<GenerateResult> {
    const args = parseInput(GenerateArgs, input);
    if (this.running.has(args.generationId)) throw new AppError('conflict', `A generation with id ${args.generationId} is already running.`, { field: 'args.generationId' });
    const defaults = this.settings();
    const sampling = { ...defaults.sampling, ...args.sampling };
    const seed = sampling.seed ?? randomInt(0, 2 ** 31 - 1);
    const controller = new AbortController();
    const onCallerAbort = () => controller.abort();
    signal?.addEventListener('abort', onCallerAbort, { once: true });
    this.running.set(args.generationId, controller);
    let index = 0;
    const emit = (text: string) => {
      if (text) this.deps.onChunk({ generationId: args.generationId, index: index++, text });
    };
    const status: Status = (phase, message) =>
      this.deps.onStatus({ generationId: args.generationId, phase, message });
    try {
      const templates = byKind(await loadPromptTemplates(this.deps.dataDir));
      const choice = args.model;
      const local = choice.provider === 'ollama' ? null : await this.resolveLocal(choice, args.kind);
      const written = await this.serialized(() =>
        local
          ? this.writeLocal(local, args.kind, args.requirements, { ...sampling, seed }, { contextSize: args.contextSize ?? defaults.contextSize, threads: args.threads ?? defaults.threads }, templates, controller.signal, emit, status)
          : this.writeOllama((choice as { model: string }).model, chatTurn(templates, args.kind, args.requirements), { ...sampling, seed }, controller.signal, emit, status),
      );
      const { text, unwrapped } = DIAGRAM_KINDS.has(args.kind) ? unwrapMermaid(written.text) : { text: written.text, unwrapped: false };
      if (!text.trim()) {
        const why = written.record.finish === 'stopped' ? 'It was stopped before it wrote anything' : 'The model ended its reply at once';
        throw new AppError('unavailable', `${why}; nothing was stored. Generate again, or try another model or a higher temperature.`);
      }
      const generation: GenerationRecord = { ...written.record, provider: local ? 'local' : 'ollama', sampling: { ...sampling, seed } };
      status('validating', 'Validating…');
      const stored = await this.deps.artifacts.add(
        {
          kind: args.kind,
          prompt: args.requirements,
          output: text,
          model: generation.modelName,
          modelVersion: generation.version ? `v${generation.version.number}` : generation.adapter ? basename(generation.adapter.path) : 'base',
        },
        generation,
      );
      return { ...stored, generation, unwrapped };
    } finally {
      signal?.removeEventListener('abort', onCallerAbort);
      this.running.delete(args.generationId);
    }
  }

  /** A generation that is not stored (the Models page's compare): the text, its validation and speed. */
  async draft(args: { kind: GeneratedKind; requirements: string; modelId: number; versionId: number | null; seed: number; maxTokens?: number }): Promise<{ text: string; validation: ValidationResult | null; tokensPerSecond: number }> {
    const defaults = this.settings();
    const local = await this.resolveLocal({ provider: 'local', modelId: args.modelId, versionId: args.versionId }, args.kind);
    const templates = byKind(await loadPromptTemplates(this.deps.dataDir));
    const signal = new AbortController().signal;
    const written = await this.serialized(() =>
      this.writeLocal(local, args.kind, args.requirements, { ...defaults.sampling, ...(args.maxTokens ? { maxTokens: args.maxTokens } : {}), seed: args.seed }, { contextSize: defaults.contextSize, threads: defaults.threads }, templates, signal, () => undefined, () => undefined),
    );
    const text = DIAGRAM_KINDS.has(args.kind) ? unwrapMermaid(written.text).text : written.text;
    // A text over the validator's limit (validation/index.ts) is compared unvalidated, as an artifact would be stored.
    const validation = text.trim()
      ? await this.deps.validation.check({ kind: args.kind, text }).catch((error: unknown) => {
          if (error instanceof AppError && error.code === 'invalid_arguments') return null;
          throw error;
        })
      : null;
    return { text, validation, tokensPerSecond: written.record.tokensPerSecond };
  }

  async dispose(): Promise<void> {
    for (const controller of this.running.values()) controller.abort();
    await this.queue.catch(() => undefined);
    await this.host.unload();
  }

  // One at a time: a second request waits for the first to finish.
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.catch(() => undefined).then(work);
    this.queue = next;
    return next;
  }

  /** The base and adapter a local or 'active' choice stands for; a registered version is checked intact first. */
  private async resolveLocal(choice: { provider: 'active' } | { provider: 'local'; modelId: number; versionId?: number | null; adapterPath?: string | null }, kind: GeneratedKind): Promise<LocalChoice> {
    const { registry } = this.deps;
    if (choice.provider === 'active') {
      const serving = await registry.serving(kind);
      if (!serving) throw new AppError('not_found', 'No model is installed: download or import one on the Models page.', { field: 'args.model' });
      if (serving.version) await registry.checkIntact(serving.version, 'args.model');
      return { modelId: serving.model.id, adapterPath: serving.version?.adapterPath ?? null, version: serving.version && { id: serving.version.id, number: serving.version.number } };
    }
    if (choice.versionId) {
      const version = registry.require(choice.versionId, 'args.model.versionId');
      if (version.modelId !== choice.modelId) {
        throw new AppError('invalid_arguments', `v${version.number} is a version of ${version.baseName}, not of model ${choice.modelId}.`, { field: 'args.model.versionId' });
      }
      await registry.checkIntact(version, 'args.model.versionId');
      return { modelId: choice.modelId, adapterPath: version.adapterPath, version: { id: version.id, number: version.number } };
    }
    return { modelId: choice.modelId, adapterPath: choice.adapterPath ?? null, version: null };
  }

  private async writeLocal(
    { modelId, adapterPath, version }: LocalChoice,
    kind: GeneratedKind,
    requirements: string,
    sampling: SamplingSettings & { seed: number },
    context: { contextSize: number; threads: number },
    templates: ReturnType<typeof byKind>,
    signal: AbortSignal,
    emit: (text: string) => void,
    status: Status,
  ): Promise<Written> {
    // From the list: its fit is computed against what the machine has free now.
    const model = (await this.deps.models.list()).models.find((m) => m.id === modelId) ?? this.deps.models.get(modelId);
    if (model.missing) {
      throw new AppError('not_found', `The model file ${model.path} is gone. Put it back, import it again, or delete "${model.name}" on the Models page.`, { field: 'args.model.modelId' });
    }
    if (model.fit?.where === 'none') {
      // Refused before loading: llama.cpp would swap the machine to a halt or abort on a failed allocation.
      const fitting = (await this.deps.models.list()).models.filter((m) => !m.missing && m.fit && m.fit.where !== 'none').map((m) => `"${m.name}"`);
      const instead = fitting.length ? `These installed models fit: ${fitting.join(', ')}.` : 'Download a smaller model or a 4-bit file on the Models page.';
      throw new AppError('unavailable', `"${model.name}" does not fit this machine: ${model.fit.summary}. ${instead}`, { field: 'args.model.modelId' });
    }
    if (adapterPath) await checkAdapter(adapterPath, model.path);
    const adapter = adapterPath ? { path: adapterPath, sha256: await sha256File(adapterPath) } : null;
    const contextSize = Math.min(context.contextSize, model.shape?.contextLength ?? context.contextSize);
    if (!this.host.has(model.path)) status('loading-model', `Loading ${model.name}…`);
    else if (!this.host.hasContext(adapterPath, contextSize, context.threads)) status('loading-adapter', adapterPath ? `Applying the adapter ${basename(adapterPath)}…` : 'Preparing the context…');
    const loaded = await this.host.acquire(model.path, adapterPath, contextSize, templates, context.threads);
    const prompt = loaded.renderer.renderPrompt(loaded.renderer.turn(kind, requirements));
    if (prompt.length + MIN_REPLY_TOKENS > contextSize) {
      // Refused, not cut: dropping part of the requirements would change what is asked, silently.
      throw new AppError(
        'invalid_arguments',
        `The requirements take ${prompt.length} tokens with the ${kind} template; the context holds ${contextSize}. Shorten them, or raise the context size (this model takes up to ${model.shape?.contextLength ?? contextSize}).`,
        { field: 'args.requirements' },
      );
    }
    status('evaluating-prompt', `Reading ${prompt.length} tokens of prompt…`);
    const result = await complete(loaded, prompt, sampling, signal, emit, () => status('generating', 'Writing…'));
    return {
      text: result.text,
      record: {
        modelId: model.id,
        modelName: model.name,
        modelHash: model.sha256,
        adapter,
        version,
        contextSize,
        promptTokens: prompt.length,
        outputTokens: result.outputTokens,
        durationMs: result.durationMs,
        firstTokenMs: result.firstTokenMs,
        tokensPerSecond: result.durationMs > 0 ? (result.outputTokens * 1000) / result.durationMs : 0,
        finish: result.finish,
      },
    };
  }

  private async writeOllama(
    modelName: string,
    turn: { system: string; user: string },
    sampling: SamplingSettings & { seed: number },
    signal: AbortSignal,
    emit: (text: string) => void,
    status: Status,
  ): Promise<Written> {
    status('generating', `Writing with Ollama's ${modelName}…`);
    const result = await this.deps.ollama.generate({ model: modelName, system: turn.system, user: turn.user, sampling, signal, onChunk: emit });
    return {
      text: result.text,
      record: {
        modelId: null,
        modelName: `ollama:${modelName}`,
        modelHash: result.digest,
        adapter: null,
        version: null,
        contextSize: null,
        promptTokens: result.promptTokens,
        outputTokens: result.outputTokens,
        durationMs: result.durationMs,
        firstTokenMs: result.firstTokenMs,
        tokensPerSecond: result.durationMs > 0 ? (result.outputTokens * 1000) / result.durationMs : 0,
        finish: result.finish,
      },
    };
  }
}

export interface Completion {
  readonly text: string;
  readonly outputTokens: number;
  readonly durationMs: number;
  readonly firstTokenMs: number | null;
  readonly finish: GenerationRecord['finish'];
}

/**
 * Streams a reply to already-rendered prompt tokens through node-llama-cpp's LlamaCompletion, stopping at the
 * chat template's end of turn. LlamaCompletion puts the vocabulary's BOS in front itself, so a BOS the chat
 * template wrote is taken off first: the model then sees exactly the tokens the trainer trained on.
 */
export async function complete(
  loaded: Loaded,
  prompt: readonly number[],
  sampling: SamplingSettings & { seed: number },
  signal: AbortSignal,
  onText: (text: string) => void,
  onFirstToken: () => void = () => undefined,
): Promise<Completion> {
  const { model, sequence } = loaded;
  const bos = model.tokens.bos;
  const input = bos !== null && model.tokens.shouldPrependBosToken && prompt[0] === bos ? prompt.slice(1) : prompt.slice();
  const room = sequence.context.contextSize - prompt.length;
  const completion = new LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
  const started = performance.now();
  let firstTokenMs: number | null = null;
  let outputTokens = 0;
  try {
    const result = await completion.generateCompletionWithMeta(input as Token[], {
      maxTokens: Math.min(sampling.maxTokens, room),
      temperature: sampling.temperature,
      topP: sampling.topP,
      seed: sampling.seed,
      repeatPenalty: false,
      disableContextShift: true,
      customStopTriggers: loaded.renderer.stopTriggers(),
      signal,
      stopOnAbortSignal: true,
      onToken: (tokens) => {
        if (firstTokenMs === null) {
          firstTokenMs = performance.now() - started;
          onFirstToken();
        }
        outputTokens += tokens.length;
      },
      onTextChunk: onText,
    });
    const reason = result.metadata.stopReason;
    return {
      text: result.response,
      outputTokens,
      durationMs: performance.now() - started,
      firstTokenMs,
      finish: reason === 'abort' ? 'stopped' : reason === 'maxTokens' ? 'max-tokens' : 'stop',
    };
  } finally {
    completion.dispose({ disposeSequence: false });
  }
}
