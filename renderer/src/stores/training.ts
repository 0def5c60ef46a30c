import { create } from 'zustand';
import type { DatasetSummary } from '../../../shared/contract/datasets';
import type { InstalledModel } from '../../../shared/contract/models';
import type { Job, JobProgress, JobStatus, PresetsResult } from '../../../shared/contract/training';
import { LoraTarget, TrainingConfig } from '../../../shared/training/config';
import type { Schedule } from '../../../shared/training/config';
import { checkFits } from '../../../shared/training/presets';
import type { FitCheck } from '../../../shared/training/presets';
import { api, client } from '../api/client';
import { messageOf } from './errors';
import { useLearning } from './learning';

/** The hyperparameters typed as numbers: kept as the text typed (a half-typed number is not lost), checked by TrainingConfig. */
export const NUMBER_FIELDS = [
  'epochs',
  'learningRate',
  'batchSize',
  'gradAccum',
  'rank',
  'alpha',
  'dropout',
  'maxLength',
  'valSplit',
  'warmup',
  'weightDecay',
  'beta1',
  'beta2',
  'clip',
  'evalEvery',
  'checkpointEvery',
  'seed',
  'threads',
] as const satisfies readonly (keyof TrainingConfig)[];
export type NumberField = (typeof NUMBER_FIELDS)[number];
export type ConfigField = keyof TrainingConfig;

export interface ConfigDraft {
  numbers: Record<NumberField, string>;
  targets: LoraTarget[];
  schedule: Schedule;
  gradientCheckpointing: boolean;
  backend: TrainingConfig['backend'];
}

/** The guide's recommended settings, from the schema itself. */
export const DEFAULT_CONFIG: TrainingConfig = TrainingConfig.parse({});

export function draftOf(config: TrainingConfig): ConfigDraft {
  const numbers = Object.fromEntries(NUMBER_FIELDS.map((f) => [f, config[f] === undefined ? '' : String(config[f])])) as Record<NumberField, string>;
  return { numbers, targets: [...config.targets], schedule: config.schedule, gradientCheckpointing: config.gradientCheckpointing, backend: config.backend };
}

export const FIELD_LABELS: Record<ConfigField, string> = {
  epochs: 'Epochs',
  learningRate: 'Learning rate',
  batchSize: 'Batch size',
  gradAccum: 'Grad accumulation',
  rank: 'LoRA rank',
  alpha: 'LoRA alpha',
  dropout: 'LoRA dropout',
  targets: 'Target modules',
  maxLength: 'Max length',
  valSplit: 'Validation share',
  schedule: 'Schedule',
  warmup: 'Warm-up steps',
  weightDecay: 'Weight decay',
  beta1: 'Adam β1',
  beta2: 'Adam β2',
  clip: 'Gradient clipping',
  gradientCheckpointing: 'Gradient checkpointing',
  evalEvery: 'Validate every',
  checkpointEvery: 'Checkpoint every',
  seed: 'Seed',
  threads: 'CPU threads',
  backend: 'Backend',
};

/** A number field's bounds as TrainingConfig declares them (read from the schema, so the page never disagrees with it). */
export interface Bounds {
  readonly min: number;
  readonly max: number;
  /** False for `.positive()` / `.gt()`: the bound itself is refused. */
  readonly minInclusive: boolean;
  /** False for `.lt()`. */
  readonly maxInclusive: boolean;
  readonly integer: boolean;
}

interface NumberSchemaLike {
  readonly minValue: number | null;
  readonly maxValue: number | null;
  readonly isInt: boolean;
  readonly _zod?: { readonly def?: { readonly checks?: readonly { readonly _zod?: { readonly def?: { check?: string; value?: unknown; inclusive?: boolean } } }[] } };
}

function numberSchemaOf(field: NumberField): NumberSchemaLike {
  let schema: unknown = TrainingConfig.shape[field];
  // Unwrap .default() / .optional() down to the ZodNumber.
  while (schema && typeof schema === 'object' && 'unwrap' in schema && typeof (schema as { unwrap: unknown }).unwrap === 'function') {
    schema = (schema as { unwrap(): unknown }).unwrap();
  }
  return schema as NumberSchemaLike;
}

function boundsOf(field: NumberField): Bounds {
  const schema = numberSchemaOf(field);
  const checks = (schema._zod?.def?.checks ?? []).map((c) => c._zod?.def ?? {});
  const inclusive = (kind: string) => checks.find((c) => c.check === kind && Number.isFinite(Number(c.value)))?.inclusive !== false;
  return {
    min: schema.minValue ?? -Infinity,
    max: schema.maxValue ?? Infinity,
    minInclusive: inclusive('greater_than'),
    maxInclusive: inclusive('less_than'),
    integer: schema.isInt,
  };
}

export const BOUNDS = Object.fromEntries(NUMBER_FIELDS.map((f) => [f, boundsOf(f)])) as Record<NumberField, Bounds>;

const show = (n: number) => (Math.abs(n) >= 1e6 && Number.isInteger(n) ? n.toLocaleString('en-US') : String(n));

/** The issue TrainingConfig raised for a field, in the words a person reads. */
function phrase(issue: { code: string; [key: string]: unknown }): string {
  switch (issue.code) {
    case 'too_small':
      if (issue.origin === 'array') return 'needs at least one module';
      return issue.inclusive ? `must be at least ${show(Number(issue.minimum))}` : `must be above ${show(Number(issue.minimum))}`;
    case 'too_big':
      return issue.inclusive ? `must be at most ${show(Number(issue.maximum))}` : `must be below ${show(Number(issue.maximum))}`;
    case 'invalid_type':
      if (issue.expected === 'int') return 'must be a whole number';
      if (issue.received === 'NaN') return 'is not a number';
      return `must be ${String(issue.expected)}`;
    default:
      return String(issue.message);
  }
}

export type FieldErrors = Partial<Record<ConfigField, string>>;

/** The draft checked by TrainingConfig: the config to send, or each field's problem. */
export function checkDraft(draft: ConfigDraft): { config: TrainingConfig | undefined; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const raw: Record<string, unknown> = { targets: draft.targets, schedule: draft.schedule, gradientCheckpointing: draft.gradientCheckpointing, backend: draft.backend };
  for (const field of NUMBER_FIELDS) {
    const text = draft.numbers[field].trim();
    if (text === '') {
      // Empty threads: all cores (the trainer's default).
      if (field !== 'threads') errors[field] = `${FIELD_LABELS[field]} is empty`;
      continue;
    }
    raw[field] = Number(text);
  }
  const result = TrainingConfig.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const field = issue.path[0] as ConfigField | undefined;
      if (field && !errors[field]) errors[field] = `${FIELD_LABELS[field]} ${phrase(issue as unknown as { code: string })}`;
    }
  }
  return { config: result.success && Object.keys(errors).length === 0 ? result.data : undefined, errors };
}

/** Whether the form's values fit the memory the plan was made for, as the server judges them (shared/training/presets.ts). */
export type DraftFit =
  | { readonly kind: 'checked'; readonly check: FitCheck; readonly device: 'gpu' | 'cpu' }
  /** The backend asked for is not the device the plan measured (the CPU backend on a GPU machine, or cuda without one). */
  | { readonly kind: 'other-device'; readonly device: 'gpu' | 'cpu' };

/** The form's configuration against the plan of the model it trains; undefined while either is not there. */
export function draftFit(plan: PresetsResult | undefined, modelId: number | undefined, config: TrainingConfig | undefined): DraftFit | undefined {
  if (!plan || !config || modelId === undefined || plan.model.id !== modelId) return undefined;
  const wanted = config.backend === 'auto' ? plan.device : config.backend === 'cpu' ? 'cpu' : 'gpu';
  if (wanted !== plan.device || plan.memorySource === 'vram-option') return { kind: 'other-device', device: plan.device };
  const [base, ...others] = plan.model.files;
  // The memory does not depend on the context: a max length past it is judged as asked (as the server does).
  const shape = config.maxLength > plan.model.shape.contextLength ? { ...plan.model.shape, contextLength: config.maxLength } : plan.model.shape;
  try {
    const check = checkFits({
      shape,
      base: base!,
      baseFiles: others,
      memoryBytes: plan.memoryBytes,
      device: plan.device,
      batchSize: config.batchSize,
      rank: config.rank,
      maxLength: config.maxLength,
      gradientCheckpointing: config.gradientCheckpointing,
      targets: config.targets,
    });
    return { kind: 'checked', check, device: plan.device };
  } catch {
    return undefined; // out of the estimate's range: the field errors say why
  }
}

/** The installed model that holds the preset's base file, when it is another one than `modelId` and can be trained. */
export function presetModel(plan: PresetsResult, models: readonly InstalledModel[], modelId: number | undefined): InstalledModel | undefined {
  const id = plan.model.files.find((f) => f.quant === plan.preset.config.base.quant)?.installedModelId ?? null;
  if (id === null || id === modelId) return undefined;
  return models.find((m) => m.id === id && usableModel(m));
}

/** Which buttons a job's state allows. */
export function allowed(status: JobStatus): { pause: boolean; resume: boolean; cancel: boolean } {
  return {
    pause: status === 'running' || status === 'queued',
    resume: status === 'paused' || status === 'failed',
    cancel: status === 'running' || status === 'queued' || status === 'paused' || status === 'failed',
  };
}

export interface Notice {
  readonly tone: 'ok' | 'error';
  readonly text: string;
}

type Action = 'pause' | 'resume' | 'cancel';

interface TrainingState {
  models: InstalledModel[];
  datasets: DatasetSummary[];
  jobs: Job[];
  loaded: boolean;
  /** Why models, datasets or jobs could not be read. */
  loadError: string | undefined;

  modelId: number | undefined;
  datasetId: number | undefined;
  draft: ConfigDraft;
  starting: boolean;
  /** What the last Start came to (queued behind another job, or why it was refused). */
  startNotice: Notice | undefined;
  /** The guide's presets for the picked model on this machine (training.presets). */
  plan: PresetsResult | undefined;
  /** Why the presets could not be read for the picked model. */
  planError: string | undefined;
  /** What "Use preset" last changed, until the form is edited. */
  presetNotice: string | undefined;

  /** The job the page shows; undefined: it follows the running job (else the newest). */
  selectedId: number | undefined;
  /** True once the user picked a job (or started one): the page then stays on it. */
  pinned: boolean;
  /** Every step recorded for the selected job, live while it runs. */
  history: JobProgress[];
  historyFor: number | undefined;
  historyError: string | undefined;
  /** The job (from training.job) in case it is older than the listed ones. */
  detail: Job | undefined;
  acting: { id: number; action: Action } | undefined;
  actionError: string | undefined;

  load(): Promise<void>;
  loadJobs(): Promise<void>;
  setModel(id: number | undefined): void;
  setDataset(id: number | undefined): void;
  setNumber(field: NumberField, value: string): void;
  setDraft(patch: Partial<Omit<ConfigDraft, 'numbers'>>): void;
  toggleTarget(target: LoraTarget, on: boolean): void;
  resetDraft(): void;
  /** Reads the presets for the picked model (again: a job on it finished, models changed). */
  loadPlan(): Promise<void>;
  /** Fills batch size, rank, max length and gradient checkpointing from the preset; on a GPU picks the preset's base file when it is installed. */
  usePreset(): void;
  start(): Promise<void>;
  select(id: number, pin?: boolean): Promise<void>;
  act(id: number, action: Action): Promise<void>;
}

const byNewest = (a: Job, b: Job) => b.id - a.id;

function upsertJob(list: Job[], job: Job): Job[] {
  const i = list.findIndex((j) => j.id === job.id);
  if (i < 0) return [job, ...list].sort(byNewest);
  const next = list.slice();
  next[i] = job;
  return next;
}

/** The job the page follows when none was picked: the running one, else the newest. */
function followed(jobs: Job[]): number | undefined {
  return (jobs.find((j) => j.status === 'running') ?? jobs[0])?.id;
}

const usableModel = (m: InstalledModel) => m.trainable && !m.missing;

/** Counts plan requests: only the latest one's answer is kept. */
let planSeq = 0;

/** The Training page (and the Learning page's adaptive jobs): the start form, the jobs with their live progress, one job's curve. */
export const useTraining = create<TrainingState>((set, get) => ({
  models: [],
  datasets: [],
  jobs: [],
  loaded: false,
  loadError: undefined,
  modelId: undefined,
  datasetId: undefined,
  draft: draftOf(DEFAULT_CONFIG),
  starting: false,
  startNotice: undefined,
  plan: undefined,
  planError: undefined,
  presetNotice: undefined,
  selectedId: undefined,
  pinned: false,
  history: [],
  historyFor: undefined,
  historyError: undefined,
  detail: undefined,
  acting: undefined,
  actionError: undefined,

  load: async () => {
    try {
      const [{ models }, datasets] = await Promise.all([api.models.list({}), api.datasets.list({})]);
      set({ models, datasets, loadError: undefined });
      keepChoices();
      replan();
    } catch (error) {
      set({ loadError: messageOf(error) });
    }
    await get().loadJobs();
  },

  loadJobs: async () => {
    try {
      const { jobs } = await api.training.jobs({ limit: 100 });
      set({ jobs, loaded: true });
      const { pinned, selectedId } = get();
      const target = pinned && selectedId !== undefined ? selectedId : followed(jobs);
      if (target !== undefined && target !== get().historyFor) void get().select(target, pinned);
    } catch (error) {
      set({ loadError: messageOf(error), loaded: true });
    }
  },

  setModel: (modelId) => {
    const changed = modelId !== get().modelId;
    set({ modelId, startNotice: undefined, ...(changed ? { presetNotice: undefined } : {}) });
    if (changed) void get().loadPlan();
  },
  setDataset: (datasetId) => set({ datasetId, startNotice: undefined }),
  setNumber: (field, value) => set({ draft: { ...get().draft, numbers: { ...get().draft.numbers, [field]: value } }, startNotice: undefined, presetNotice: undefined }),
  setDraft: (patch) => set({ draft: { ...get().draft, ...patch }, startNotice: undefined, presetNotice: undefined }),
  toggleTarget: (target, on) => {
    const targets = LoraTarget.options.filter((t) => (t === target ? on : get().draft.targets.includes(t)));
    set({ draft: { ...get().draft, targets }, startNotice: undefined, presetNotice: undefined });
  },
  resetDraft: () => set({ draft: draftOf(DEFAULT_CONFIG), startNotice: undefined, presetNotice: undefined }),

  loadPlan: async () => {
    const modelId = get().modelId;
    const seq = ++planSeq;
    if (modelId === undefined) return set({ plan: undefined, planError: undefined });
    // A plan for another model is not shown while this one's comes.
    if (get().plan?.model.id !== modelId) set({ plan: undefined, planError: undefined });
    try {
      const plan = await api.training.presets({ modelId });
      if (seq === planSeq) set({ plan, planError: undefined });
    } catch (error) {
      if (seq === planSeq) set({ plan: undefined, planError: messageOf(error) });
    }
  },

  usePreset: () => {
    const { plan, modelId, models, draft } = get();
    if (!plan || plan.model.id !== modelId) return;
    const c = plan.preset.config;
    const numbers = { ...draft.numbers, batchSize: String(c.batchSize), rank: String(c.rank), maxLength: String(c.maxLength) };
    // On a GPU the tier names its base (4-bit, or 16-bit for 24gb): the other file of the model, when it is installed.
    const other = plan.device === 'gpu' ? presetModel(plan, models, modelId) : undefined;
    const filled = `batch size ${c.batchSize}, rank ${c.rank}, max length ${c.maxLength}, gradient checkpointing ${c.gradientCheckpointing ? 'on' : 'off'}`;
    set({
      draft: { ...draft, numbers, gradientCheckpointing: c.gradientCheckpointing },
      startNotice: undefined,
      presetNotice: `Preset ${plan.preset.name}: ${filled}${other ? `; base model ${other.name} (${c.base.quant})` : ''}.`,
      ...(other ? { modelId: other.id } : {}),
    });
    if (other) void get().loadPlan();
  },

  start: async () => {
    const { modelId, datasetId, draft, starting } = get();
    if (starting) return;
    const { config } = checkDraft(draft);
    if (modelId === undefined || datasetId === undefined || !config) return;
    set({ starting: true, startNotice: undefined });
    try {
      const job = await api.training.start({ modelId, datasetId, config });
      // The job's own events (queued, then running) may have come before this answer: they are as new or newer.
      const known = get().jobs.some((j) => j.id === job.id);
      set({ jobs: known ? get().jobs : upsertJob(get().jobs, job), startNotice: { tone: 'ok', text: job.message ? `Job ${job.id} queued. ${job.message}` : `Job ${job.id} started.` } });
      void get().select(job.id, true);
    } catch (error) {
      set({ startNotice: { tone: 'error', text: messageOf(error) } });
    } finally {
      set({ starting: false });
    }
  },

  select: async (id, pin = true) => {
    const fresh = get().historyFor !== id;
    set({ selectedId: id, pinned: pin || get().pinned, actionError: fresh ? undefined : get().actionError, ...(fresh ? { history: [], historyFor: id, historyError: undefined, detail: undefined } : {}) });
    try {
      const { history, ...job } = await api.training.job({ id });
      if (get().historyFor !== id) return;
      // Steps pushed while the request was under way come after the stored ones.
      const last = history.at(-1)?.step ?? -1;
      const pushed = get().history.filter((p) => p.step > last);
      set({ history: [...history, ...pushed], detail: job, historyError: undefined });
    } catch (error) {
      if (get().historyFor === id) set({ historyError: messageOf(error) });
    }
  },

  act: async (id, action) => {
    if (get().acting) return;
    set({ acting: { id, action }, actionError: undefined });
    try {
      const job = await api.training[action]({ id });
      set({ jobs: upsertJob(get().jobs, job) });
    } catch (error) {
      set({ actionError: messageOf(error) });
    } finally {
      set({ acting: undefined });
    }
  },
}));

/** Keeps the pickers on something usable: the first trainable model, the first dataset with training examples. */
function keepChoices(): void {
  const { models, datasets, modelId, datasetId } = useTraining.getState();
  const patch: Partial<TrainingState> = {};
  if (!models.some((m) => m.id === modelId && usableModel(m))) patch.modelId = models.find(usableModel)?.id;
  if (!datasets.some((d) => d.id === datasetId && d.train > 0)) patch.datasetId = datasets.find((d) => d.train > 0)?.id;
  if (Object.keys(patch).length > 0) useTraining.setState(patch);
}

/** The plan again: the picked model may have changed, or what it is planned from (its files, a measured speed). */
function replan(): void {
  void useTraining.getState().loadPlan();
}

// A job's state changed (queued, started, paused, done, failed), whoever changed it.
client.on('training.changed', (job) => {
  const state = useTraining.getState();
  const jobs = upsertJob(state.jobs, job);
  const patch: Partial<TrainingState> = { jobs };
  if (state.detail?.id === job.id) patch.detail = job;
  useTraining.setState(patch);
  // Unless a job was picked, the page follows the one that runs.
  if (!state.pinned && job.status === 'running' && state.selectedId !== job.id) void state.select(job.id, false);
  // A job on the picked model ended: its measured speed gives the time estimate.
  if (job.finishedAt !== null && job.modelId === state.modelId && state.plan) replan();
  // The Learning page counts adaptive jobs by status: recount when one changes (it may have been queued by another process).
  if (job.type === 'adaptive' && useLearning.getState().status) void refreshLearning();
});

let recounting = false;
let recountAgain = false;
async function refreshLearning(): Promise<void> {
  if (recounting) return void (recountAgain = true);
  recounting = true;
  try {
    do {
      recountAgain = false;
      useLearning.setState({ status: await api.learning.status({}) });
    } while (recountAgain);
  } catch {
    // the next change tries again
  } finally {
    recounting = false;
  }
}

// A step finished: the job's latest figures, and the curve of the job on show.
client.on('training.progress', ({ jobId, progress }) => {
  const state = useTraining.getState();
  const i = state.jobs.findIndex((j) => j.id === jobId);
  const patch: Partial<TrainingState> = {};
  if (i >= 0) {
    const jobs = state.jobs.slice();
    jobs[i] = { ...jobs[i]!, progress };
    patch.jobs = jobs;
  }
  if (state.historyFor === jobId) {
    const history = state.history;
    const last = history.at(-1);
    // A resumed job goes on from its checkpoint: the steps after it are drawn again.
    patch.history = last && progress.step <= last.step ? [...history.filter((p) => p.step < progress.step), progress] : [...history, progress];
  }
  useTraining.setState(patch);
});

client.on('models.changed', ({ models }) => {
  useTraining.setState({ models });
  keepChoices();
  // Files of the model were installed or removed: the preset's base choice changes with them.
  replan();
});

client.on('datasets.changed', ({ datasets }) => {
  useTraining.setState({ datasets });
  keepChoices();
});
