import { create } from 'zustand';
import type { CatalogItem, Download, DownloadArgs, InstalledModel, ModelFit, OllamaStatus } from '../../../shared/contract/models';
import { api, client } from '../api/client';
import { canLearnFilePaths, pathForFile } from '../api/files';
import { messageOf } from './errors';

/** What the last action on the page came to, shown next to the form that started it. */
export interface Notice {
  readonly tone: 'ok' | 'error';
  readonly text: string;
}

/** The files the Models page imports. */
export const MODEL_FILE = /\.gguf$/i;

type Section = 'catalog' | 'installed' | 'downloads' | 'ollama';

interface ModelsState {
  catalog: CatalogItem[];
  models: InstalledModel[];
  /** The models folder (`<data>/models/`). */
  folder: string;
  /** Running, paused and failed downloads, plus those that finished while the page watched. */
  downloads: Download[];
  ollama: OllamaStatus | undefined;
  loaded: Record<Section, boolean>;
  /** Why a section could not be loaded. */
  errors: Partial<Record<Section, string>>;
  /** The outcome of the latest download, import or delete started here. */
  downloadNotice: Notice | undefined;
  importNotice: Notice | undefined;
  deleteNotice: Notice | undefined;
  importing: boolean;
  /** Ids of downloads with a pause/resume/discard call in flight. */
  acting: number[];
  load(): Promise<void>;
  loadCatalog(): Promise<void>;
  loadModels(): Promise<void>;
  loadDownloads(): Promise<void>;
  refreshOllama(): Promise<void>;
  download(args: DownloadArgs): Promise<boolean>;
  pause(id: number): Promise<void>;
  resume(id: number): Promise<void>;
  discard(id: number): Promise<void>;
  /** Forgets a finished download from the page (it stays installed). */
  dismissDownload(id: number): void;
  importPath(path: string): Promise<boolean>;
  /**
   * Imports a chosen or dropped file by its path on disk, which only the desktop app can learn; refuses,
   * in `importNotice`, a file that is not a .gguf, one with no path (and any in a browser), and one while another imports.
   */
  importFile(file: File): Promise<boolean>;
  remove(model: InstalledModel): Promise<boolean>;
  clearNotice(which: 'downloadNotice' | 'importNotice' | 'deleteNotice'): void;
}

const upsert = (list: Download[], download: Download): Download[] => {
  const i = list.findIndex((d) => d.id === download.id);
  if (i < 0) return [download, ...list];
  const next = list.slice();
  next[i] = download;
  return next;
};

/** The Models page, and the Generate page's model picker: catalog, installed models, downloads, Ollama. */
export const useModels = create<ModelsState>((set, get) => {
  const fail = (section: Section, error: unknown) => set({ errors: { ...get().errors, [section]: messageOf(error) } });
  const ok = (section: Section) => {
    const { [section]: _gone, ...rest } = get().errors;
    set({ errors: rest, loaded: { ...get().loaded, [section]: true } });
  };
  const act = async (id: number, work: () => Promise<Download>) => {
    if (get().acting.includes(id)) return;
    set({ acting: [...get().acting, id] });
    try {
      const download = await work();
      set({ downloads: upsert(get().downloads, download), downloadNotice: undefined });
    } catch (error) {
      set({ downloadNotice: { tone: 'error', text: messageOf(error) } });
    } finally {
      set({ acting: get().acting.filter((a) => a !== id) });
    }
  };
  return {
    catalog: [],
    models: [],
    folder: '',
    downloads: [],
    ollama: undefined,
    loaded: { catalog: false, installed: false, downloads: false, ollama: false },
    errors: {},
    downloadNotice: undefined,
    importNotice: undefined,
    deleteNotice: undefined,
    importing: false,
    acting: [],
    load: async () => {
      await Promise.all([get().loadModels(), get().loadCatalog(), get().loadDownloads(), get().refreshOllama()]);
    },
    loadCatalog: async () => {
      try {
        set({ catalog: (await api.models.catalog({})).items });
        ok('catalog');
      } catch (error) {
        fail('catalog', error);
      }
    },
    loadModels: async () => {
      try {
        const { models, folder } = await api.models.list({});
        set({ models, folder });
        ok('installed');
      } catch (error) {
        fail('installed', error);
      }
    },
    loadDownloads: async () => {
      try {
        const { downloads } = await api.models.downloads({});
        // Keep finished ones the page saw end; the call lists only unfinished downloads.
        const known = get().downloads;
        const finished = known.filter((d) => d.state === 'done' && !downloads.some((n) => n.id === d.id));
        // An event may have brought newer figures than this answer.
        const fresh = downloads.map((d) => {
          const seen = known.find((k) => k.id === d.id);
          return seen && Date.parse(seen.updatedAt) > Date.parse(d.updatedAt) ? seen : d;
        });
        set({ downloads: [...fresh, ...finished] });
        ok('downloads');
      } catch (error) {
        fail('downloads', error);
      }
    },
    refreshOllama: async () => {
      try {
        set({ ollama: await api.models.ollama({}) });
        ok('ollama');
      } catch (error) {
        fail('ollama', error);
      }
    },
    download: async (args) => {
      try {
        const download = await api.models.download(args);
        set({ downloads: upsert(get().downloads, download), downloadNotice: { tone: 'ok', text: `Downloading ${download.fileName}.` } });
        return true;
      } catch (error) {
        set({ downloadNotice: { tone: 'error', text: messageOf(error) } });
        return false;
      }
    },
    pause: (id) => act(id, () => api.models.cancelDownload({ id, discard: false })),
    resume: (id) => act(id, () => api.models.resumeDownload({ id })),
    discard: async (id) => {
      await act(id, () => api.models.cancelDownload({ id, discard: true }));
      // A discarded download has nothing left to resume: it leaves the list.
      set({ downloads: get().downloads.filter((d) => d.id !== id || d.state !== 'cancelled') });
    },
    dismissDownload: (id) => set({ downloads: get().downloads.filter((d) => d.id !== id) }),
    importPath: async (path) => {
      if (get().importing) return false;
      set({ importing: true, importNotice: undefined });
      try {
        const model = await api.models.import({ path });
        set({ importNotice: { tone: 'ok', text: `Imported ${model.name} (${model.architecture}, SHA-256 ${model.sha256.slice(0, 12)}…).` } });
        await get().loadModels();
        void get().loadCatalog();
        return true;
      } catch (error) {
        set({ importNotice: { tone: 'error', text: messageOf(error) } });
        return false;
      } finally {
        set({ importing: false });
      }
    },
    importFile: async (file) => {
      const refuse = (text: string) => {
        set({ importNotice: { tone: 'error', text } });
        return false;
      };
      if (!MODEL_FILE.test(file.name)) return refuse(`${file.name} is not a .gguf file: models are imported from GGUF files.`);
      if (!canLearnFilePaths()) {
        return refuse(`${file.name}: a browser page does not learn a file’s path, so it cannot import it this way. Type its full path instead; choosing or dropping a file works in the desktop app.`);
      }
      const path = pathForFile(file);
      if (!path) return refuse(`The app could not learn where ${file.name} is on disk: type its full path instead.`);
      if (get().importing) return refuse(`Another file is still being imported: choose or drop ${file.name} again when it is done.`);
      return get().importPath(path);
    },
    remove: async (model) => {
      try {
        const { fileDeleted, path } = await api.models.delete({ id: model.id });
        set({
          deleteNotice: {
            tone: 'ok',
            text: fileDeleted ? `Deleted ${model.name} and its file.` : `Removed ${model.name} from the list; its file stays at ${path}.`,
          },
        });
        await get().loadModels();
        void get().loadCatalog();
        return true;
      } catch (error) {
        set({ deleteNotice: { tone: 'error', text: messageOf(error) } });
        return false;
      }
    },
    clearNotice: (which) => set({ [which]: undefined }),
  };
});

// Progress and state changes of every download, whichever window started it.
client.on('models.download', (download) => {
  const { downloads } = useModels.getState();
  // A discarded download's last event must not bring it back.
  if (download.state === 'cancelled' && !downloads.some((d) => d.id === download.id)) return;
  useModels.setState({ downloads: upsert(downloads, download) });
});

// The installed list changed (a download finished, an import, a delete): the catalog's "Installed" marks follow.
client.on('models.changed', ({ models }) => {
  useModels.setState({ models });
  void useModels.getState().loadCatalog();
});

/** Where a model file fits, in the words the Models page and the model picker use. */
export const FIT_LABELS: Record<ModelFit['where'], string> = {
  gpu: 'fits on GPU',
  cpu: 'fits in RAM (CPU)',
  none: 'too large for this machine',
};

/** A file size in decimal GB, as model downloads are quoted ("4.1 GB"); small files in MB. */
export function formatGB(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes < 0.1e9) return `${Math.max(0.1, bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(bytes < 10e9 ? 2 : 1)} GB`;
}

/** A duration in seconds as "1 h 5 min", "3 min 20 s", "45 s". */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${s} s`;
}
