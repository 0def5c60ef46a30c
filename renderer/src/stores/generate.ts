import { create } from 'zustand';
import type { FeedbackInput, RecordResult } from '../../../shared/contract/feedback';
import { GenerationSettings } from '../../../shared/contract/generation';
import type { GeneratedKind, GenerateResult, GpuYield, ModelChoice } from '../../../shared/contract/generation';
import { AppError } from '../../../shared/errors';
import { api, client } from '../api/client';
import { messageOf } from './errors';

/** The sampling fields as typed (strings, so a half-typed number is not lost); parsed on Generate. */
export interface SamplingDraft {
  temperature: string;
  topP: string;
  maxTokens: string;
  /** Empty: a fresh random seed each time. */
  seed: string;
  contextSize: string;
  /** Empty or 0: node-llama-cpp's choice (all math cores). */
  threads: string;
}

export type SamplingField = keyof SamplingDraft;

/** What went wrong with a generation, with the argument to blame when there is one. */
export interface GenerateError {
  readonly message: string;
  readonly code: string | undefined;
  readonly field: string | undefined;
}

export type RunState = 'idle' | 'running' | 'stopping' | 'done' | 'failed';

interface GenerateState {
  kind: GeneratedKind;
  /** `active`, `local:<id>`, `local:<id>:<versionId>` or `ollama:<name>`; empty until a model is picked. */
  modelKey: string;
  adapter: 'base' | 'file';
  adapterPath: string;
  requirements: string;
  sampling: SamplingDraft;
  /** True once the user changed a sampling field (the saved defaults then no longer overwrite it). */
  samplingEdited: boolean;
  settings: GenerationSettings | undefined;
  settingsError: string | undefined;
  settingsNotice: string | undefined;

  state: RunState;
  generationId: string | undefined;
  /** The latest `generation.status` message of the running generation. */
  phase: string | undefined;
  /** The editor's text: what streamed in, as the user may have edited it. */
  output: string;
  /** Text streamed so far, in chunk order (what the editor shows unless the user edits). */
  streamed: string;
  result: GenerateResult | undefined;
  error: GenerateError | undefined;

  feedbackBusy: 'up' | 'down' | 'correct' | undefined;
  lastFeedback: RecordResult | undefined;
  feedbackError: string | undefined;
  /** The correction saved last, so the same text is not saved twice. */
  savedCorrection: string | undefined;
  /** Why the local model is unloaded for a training job now (null: it is not). */
  gpuYield: GpuYield | undefined;

  set(patch: Partial<Pick<GenerateState, 'kind' | 'modelKey' | 'adapter' | 'adapterPath' | 'requirements'>>): void;
  setSampling(field: SamplingField, value: string): void;
  resetSampling(): void;
  setOutput(text: string): void;
  loadSettings(): Promise<void>;
  loadYield(): Promise<void>;
  saveSamplingDefaults(): Promise<void>;
  generate(): Promise<void>;
  stop(): Promise<void>;
  rate(type: 'explicit_positive' | 'explicit_negative'): Promise<void>;
  saveCorrection(): Promise<void>;
  dismissError(): void;
}


function draftOf(settings: GenerationSettings): SamplingDraft {
  const { temperature, topP, maxTokens, seed } = settings.sampling;
  return {
    temperature: String(temperature),
    topP: String(topP),
    maxTokens: String(maxTokens),
    seed: seed === null ? '' : String(seed),
    contextSize: String(settings.contextSize),
    threads: settings.threads > 0 ? String(settings.threads) : '',
  };
}

/** The contract's defaults, shown until the saved ones arrive (and if they cannot be read). */
const DEFAULT_SAMPLING = draftOf(GenerationSettings.parse({ sampling: {} }));

const LIMITS: Record<SamplingField, { min: number; max: number; integer: boolean; label: string }> = {
  temperature: { min: 0, max: 2, integer: false, label: 'Temperature' },
  topP: { min: 0, max: 1, integer: false, label: 'Top-p' },
  maxTokens: { min: 1, max: 32768, integer: true, label: 'Max tokens' },
  seed: { min: 0, max: 2 ** 31 - 1, integer: true, label: 'Seed' },
  contextSize: { min: 256, max: 131072, integer: true, label: 'Context size' },
  threads: { min: 0, max: 1024, integer: true, label: 'CPU threads' },
};

/** Why a sampling field cannot be used, or undefined when it can. */
export function samplingProblem(field: SamplingField, value: string): string | undefined {
  const text = value.trim();
  if (text === '') return field === 'seed' || field === 'threads' ? undefined : `${LIMITS[field].label} is empty.`;
  const n = Number(text);
  const { min, max, integer, label } = LIMITS[field];
  if (!Number.isFinite(n)) return `${label} is not a number.`;
  if (integer && !Number.isInteger(n)) return `${label} must be a whole number.`;
  if (field === 'topP' ? n <= 0 || n > 1 : n < min || n > max) return `${label} must be ${field === 'topP' ? 'above 0 and at most 1' : `between ${min} and ${max}`}.`;
  return undefined;
}

/** True for a plain installed model's key (`local:<id>`): only there does an adapter file apply. */
export const takesAdapterFile = (key: string) => /^local:\d+$/.test(key);

/** The choice a picker key stands for: `active`, `local:<modelId>`, `local:<modelId>:<versionId>` or `ollama:<name>`. */
export function modelChoiceOf(key: string, adapter: 'base' | 'file', adapterPath: string): ModelChoice | undefined {
  if (key === 'active') return { provider: 'active' };
  const local = /^local:([1-9]\d*)(?::([1-9]\d*))?$/.exec(key);
  if (local) {
    const modelId = Number(local[1]);
    if (local[2]) return { provider: 'local', modelId, versionId: Number(local[2]) };
    return { provider: 'local', modelId, adapterPath: adapter === 'file' && adapterPath.trim() ? adapterPath.trim() : null };
  }
  if (key.startsWith('ollama:') && key.length > 'ollama:'.length) return { provider: 'ollama', model: key.slice('ollama:'.length) };
  return undefined;
}

function newGenerationId(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto) return crypto.randomUUID();
  return `g${Date.now().toString(36)}${Math.random().toString(36).slice(2, 12)}`;
}

/** The Generate page: the form, the stream into the editor, the result and the feedback on it. */
export const useGenerate = create<GenerateState>((set, get) => ({
  kind: 'erd',
  modelKey: '',
  adapter: 'base',
  adapterPath: '',
  requirements: '',
  sampling: DEFAULT_SAMPLING,
  samplingEdited: false,
  settings: undefined,
  settingsError: undefined,
  settingsNotice: undefined,
  state: 'idle',
  generationId: undefined,
  phase: undefined,
  output: '',
  streamed: '',
  result: undefined,
  error: undefined,
  feedbackBusy: undefined,
  lastFeedback: undefined,
  feedbackError: undefined,
  savedCorrection: undefined,
  gpuYield: undefined,

  set: (patch) => set(patch),
  setSampling: (field, value) => set({ sampling: { ...get().sampling, [field]: value }, samplingEdited: true, settingsNotice: undefined }),
  resetSampling: () => {
    const settings = get().settings;
    set({ sampling: settings ? draftOf(settings) : DEFAULT_SAMPLING, samplingEdited: false, settingsNotice: undefined });
  },
  setOutput: (output) => set({ output }),

  loadSettings: async () => {
    try {
      const settings = await api.generation.settings({});
      set({ settings, settingsError: undefined, ...(get().samplingEdited ? {} : { sampling: draftOf(settings) }) });
    } catch (error) {
      set({ settingsError: messageOf(error) });
    }
  },

  loadYield: async () => {
    try {
      set({ gpuYield: await api.generation.yielded({}) });
    } catch {
      // A server without it (or not reachable yet): no notice; the event still brings one.
      set({ gpuYield: undefined });
    }
  },

  saveSamplingDefaults: async () => {
    const draft = get().sampling;
    const problem = (Object.keys(draft) as SamplingField[]).map((f) => samplingProblem(f, draft[f])).find(Boolean);
    if (problem) return set({ settingsNotice: problem });
    try {
      const settings = await api.generation.setSettings({
        sampling: {
          temperature: Number(draft.temperature),
          topP: Number(draft.topP),
          maxTokens: Number(draft.maxTokens),
          seed: draft.seed.trim() === '' ? null : Number(draft.seed),
        },
        contextSize: Number(draft.contextSize),
        threads: draft.threads.trim() === '' ? 0 : Number(draft.threads),
      });
      set({ settings, sampling: draftOf(settings), samplingEdited: false, settingsNotice: 'Saved as the defaults.' });
    } catch (error) {
      set({ settingsNotice: messageOf(error) });
    }
  },

  generate: async () => {
    const { kind, requirements, modelKey, adapter, adapterPath, sampling: draft, state } = get();
    if (state === 'running' || state === 'stopping') return;
    if (requirements.trim() === '') return set({ error: { message: 'The requirements are empty: type or drop them first.', code: undefined, field: 'args.requirements' } });
    const model = modelChoiceOf(modelKey, adapter, adapterPath);
    if (!model) return set({ error: { message: 'No model is picked: choose one in the Model list.', code: undefined, field: 'args.model' } });
    const fields = Object.keys(draft) as SamplingField[];
    const bad = fields.find((f) => samplingProblem(f, draft[f]));
    if (bad) {
      const field = bad === 'contextSize' || bad === 'threads' ? `args.${bad}` : `args.sampling.${bad}`;
      return set({ error: { message: samplingProblem(bad, draft[bad])!, code: undefined, field } });
    }
    const threads = Number(draft.threads.trim() || 0);

    const generationId = newGenerationId();
    set({
      state: 'running',
      generationId,
      phase: undefined,
      output: '',
      streamed: '',
      result: undefined,
      error: undefined,
      lastFeedback: undefined,
      feedbackError: undefined,
      savedCorrection: undefined,
    });

    // Chunks are appended in index order; one that arrives early waits for the ones before it.
    const waiting = new Map<number, string>();
    let next = 0;
    const stopChunks = client.on('generation.chunk', (chunk) => {
      if (chunk.generationId !== generationId || chunk.index < next) return;
      waiting.set(chunk.index, chunk.text);
      let added = '';
      for (let text = waiting.get(next); text !== undefined; text = waiting.get(next)) {
        waiting.delete(next++);
        added += text;
      }
      if (added) set({ output: get().output + added, streamed: get().streamed + added });
    });
    const stopStatus = client.on('generation.status', (status) => {
      if (status.generationId === generationId) set({ phase: status.message });
    });
    try {
      const result = await api.generation.generate({
        generationId,
        kind,
        requirements,
        model,
        sampling: {
          temperature: Number(draft.temperature),
          topP: Number(draft.topP),
          maxTokens: Number(draft.maxTokens),
          seed: draft.seed.trim() === '' ? null : Number(draft.seed),
        },
        contextSize: Number(draft.contextSize),
        // 0 or empty: the saved setting decides.
        ...(threads > 0 ? { threads } : {}),
      });
      if (get().generationId !== generationId) return;
      // The stored text is the reference for corrections; unless the user edited it, the editor shows exactly that.
      const { output, streamed } = get();
      set({ state: 'done', result, phase: undefined, ...(output === streamed ? { output: result.artifact.output } : {}) });
    } catch (error) {
      if (get().generationId !== generationId) return;
      const wire = error instanceof AppError ? error : undefined;
      set({ state: 'failed', phase: undefined, error: { message: messageOf(error), code: wire?.code, field: wire?.field } });
    } finally {
      stopChunks();
      stopStatus();
    }
  },

  stop: async () => {
    const { generationId, state } = get();
    if (!generationId || state !== 'running') return;
    set({ state: 'stopping', phase: 'Stopping…' });
    try {
      await api.generation.stop({ generationId });
    } catch (error) {
      if (get().state === 'stopping') set({ state: 'running', error: { message: `Could not stop: ${messageOf(error)}`, code: undefined, field: undefined } });
    }
  },

  rate: async (type) => {
    const artifactId = get().result?.artifact.id;
    if (artifactId === undefined || get().feedbackBusy) return;
    await record(set, get, { artifactId, type }, type === 'explicit_positive' ? 'up' : 'down');
  },

  saveCorrection: async () => {
    const { result, output } = get();
    if (!result || get().feedbackBusy) return;
    await record(set, get, { artifactId: result.artifact.id, type: 'correction', text: output }, 'correct');
    if (!get().feedbackError) set({ savedCorrection: output });
  },

  dismissError: () => set({ error: undefined }),
}));

async function record(
  set: (patch: Partial<GenerateState>) => void,
  get: () => GenerateState,
  input: FeedbackInput,
  busy: 'up' | 'down' | 'correct',
): Promise<void> {
  set({ feedbackBusy: busy, feedbackError: undefined });
  try {
    set({ lastFeedback: await api.feedback.record(input) });
  } catch (error) {
    set({ feedbackError: messageOf(error) });
  } finally {
    if (get().feedbackBusy === busy) set({ feedbackBusy: undefined });
  }
}

// The local model gave the GPU up for a training job (a message), or may load again (null).
client.on('generation.yielded', (gpuYield) => useGenerate.setState({ gpuYield }));
