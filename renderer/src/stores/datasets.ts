import { create } from 'zustand';
import type {
  BuildFromFeedbackArgs,
  DatasetDetail,
  DatasetExample,
  DatasetFormat,
  DatasetSettings,
  DatasetSummary,
  ImportOutcome,
  ImportProgress,
} from '../../../shared/contract/datasets';
import { AppError } from '../../../shared/errors';
import { api, client } from '../api/client';
import { saveText, uploadFile } from '../api/upload';
import { messageOf } from './errors';

/** One import (or build) as the page shows it. */
export interface ImportJob {
  /** The file name, or "feedback". */
  readonly source: string;
  readonly size: number;
  stage: 'uploading' | ImportProgress['phase'] | 'done' | 'failed' | 'cancelled';
  /** Bytes sent so far. */
  uploaded: number;
  progress: ImportProgress | undefined;
  outcome: ImportOutcome | undefined;
  error: string | undefined;
}

export interface ImportOptions {
  skipInvalid: boolean;
  dropDuplicates: boolean;
}

interface Preview {
  split: 'train' | 'validation' | undefined;
  items: DatasetExample[];
  total: number;
}

interface DatasetsState {
  list: DatasetSummary[];
  status: 'idle' | 'loading' | 'ready' | 'error';
  error: string | undefined;
  job: ImportJob | undefined;
  options: ImportOptions;
  detail: DatasetDetail | undefined;
  preview: Preview | undefined;
  settings: DatasetSettings | undefined;
  load(): Promise<void>;
  setOptions(patch: Partial<ImportOptions>): void;
  /** Uploads a file and imports it, with progress; one at a time. */
  importFile(file: File): Promise<void>;
  buildFromFeedback(args: BuildFromFeedbackArgs): Promise<void>;
  cancel(): void;
  dismissJob(): void;
  open(id: number): Promise<void>;
  showSplit(split: 'train' | 'validation' | undefined): Promise<void>;
  rename(id: number, name: string): Promise<boolean>;
  remove(id: number): Promise<boolean>;
  exportDataset(dataset: DatasetSummary, format: DatasetFormat): Promise<void>;
  loadSettings(): Promise<void>;
  saveSettings(settings: DatasetSettings): Promise<boolean>;
}

let controller: AbortController | undefined;

/** The Datasets page: the list, the import under way with its report, one dataset's detail and preview. */
export const useDatasets = create<DatasetsState>((set, get) => {
  const patchJob = (patch: Partial<ImportJob>) => {
    const job = get().job;
    if (job) set({ job: { ...job, ...patch } });
  };
  /** Runs one job with `work`, which gets the abort signal and the job id its progress events carry. */
  const runJob = async (source: string, size: number, work: (signal: AbortSignal, setJobId: (id: string) => void) => Promise<ImportOutcome>) => {
    if (controller) return void set({ error: `An import is under way (${get().job?.source}): wait for it, or cancel it, before starting another.` });
    controller = new AbortController();
    const signal = controller.signal;
    set({ job: { source, size, stage: 'uploading', uploaded: 0, progress: undefined, outcome: undefined, error: undefined }, error: undefined });
    let jobId: string | undefined;
    const stop = client.on('datasets.progress', (progress) => {
      if (progress.jobId === jobId) patchJob({ stage: progress.phase, progress });
    });
    try {
      const outcome = await work(signal, (id) => (jobId = id));
      patchJob({ stage: 'done', outcome });
      await get().load();
    } catch (error) {
      const cancelled = signal.aborted || (error instanceof AppError && error.code === 'cancelled');
      patchJob(cancelled ? { stage: 'cancelled' } : { stage: 'failed', error: messageOf(error) });
    } finally {
      stop();
      controller = undefined;
    }
  };
  const readPreview = async (id: number, split: 'train' | 'validation' | undefined) => {
    const page = await api.datasets.examples({ id, limit: 20, ...(split ? { split } : {}) });
    return { split, items: page.items, total: page.total };
  };
  return {
    list: [],
    status: 'idle',
    error: undefined,
    job: undefined,
    options: { skipInvalid: false, dropDuplicates: false },
    detail: undefined,
    preview: undefined,
    settings: undefined,
    load: async () => {
      set({ status: get().status === 'ready' ? 'ready' : 'loading' });
      try {
        set({ list: await api.datasets.list({}), status: 'ready', error: undefined });
      } catch (error) {
        set({ status: 'error', error: messageOf(error) });
      }
    },
    setOptions: (patch) => set({ options: { ...get().options, ...patch } }),
    importFile: (file) =>
      runJob(file.name, file.size, async (signal, setJobId) => {
        const uploadId = await uploadFile(file, (uploaded) => patchJob({ uploaded }), signal);
        setJobId(uploadId);
        patchJob({ stage: 'checking' });
        return api.datasets.importUpload({ uploadId, ...get().options }, { signal });
      }),
    buildFromFeedback: (args) =>
      // Progress events of a build carry an id the app picks; a build is quick, the stage is enough.
      runJob('feedback', 0, async (signal) => {
        patchJob({ stage: 'reading' });
        return api.datasets.buildFromFeedback({ dropDuplicates: get().options.dropDuplicates, ...args }, { signal });
      }),
    cancel: () => controller?.abort(),
    dismissJob: () => {
      if (!controller) set({ job: undefined });
    },
    open: async (id) => {
      try {
        const [detail, preview] = await Promise.all([api.datasets.get({ id }), readPreview(id, undefined)]);
        set({ detail, preview, error: undefined });
      } catch (error) {
        set({ detail: undefined, preview: undefined, error: messageOf(error) });
      }
    },
    showSplit: async (split) => {
      const id = get().detail?.id;
      if (id === undefined) return;
      try {
        set({ preview: await readPreview(id, split) });
      } catch (error) {
        set({ error: messageOf(error) });
      }
    },
    rename: async (id, name) => {
      try {
        await api.datasets.rename({ id, name });
        await get().load();
        if (get().detail?.id === id) await get().open(id);
        set({ error: undefined });
        return true;
      } catch (error) {
        set({ error: messageOf(error) });
        return false;
      }
    },
    remove: async (id) => {
      try {
        await api.datasets.delete({ id });
        if (get().detail?.id === id) set({ detail: undefined, preview: undefined });
        await get().load();
        set({ error: undefined });
        return true;
      } catch (error) {
        set({ error: messageOf(error) });
        return false;
      }
    },
    exportDataset: async (dataset, format) => {
      try {
        const parts: string[] = [];
        for (let after = 0; ; ) {
          const page = await api.datasets.exportPage({ id: dataset.id, format, after });
          parts.push(page.text);
          if (page.next === null) break;
          after = page.next;
        }
        saveText(parts, `${dataset.name}.${format}.jsonl`);
      } catch (error) {
        set({ error: messageOf(error) });
      }
    },
    loadSettings: async () => {
      try {
        set({ settings: await api.datasets.settings({}) });
      } catch (error) {
        set({ error: messageOf(error) });
      }
    },
    saveSettings: async (settings) => {
      try {
        set({ settings: await api.datasets.setSettings(settings), error: undefined });
        return true;
      } catch (error) {
        set({ error: messageOf(error) });
        return false;
      }
    },
  };
});

// Datasets added, renamed or deleted elsewhere in the app (another window) show up here.
client.on('datasets.changed', ({ datasets }) => useDatasets.setState({ list: datasets }));
