import { create } from 'zustand';
import type { LearningSettings, LearningStatus, Stats } from '../../../shared/contract/learning';
import { api, client } from '../api/client';
import { messageOf } from './errors';

interface LearningState {
  status: LearningStatus | undefined;
  stats: Stats | undefined;
  loading: boolean;
  /** pause, resume or settings under way. */
  busy: boolean;
  error: string | undefined;
  load(): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  updateSettings(patch: Partial<LearningSettings>): Promise<void>;
}

/** The Learning panel: progress to the next batch, batches and jobs, stats, pause/resume and settings. */
export const useLearning = create<LearningState>((set) => {
  const change = async (work: () => Promise<LearningStatus>) => {
    set({ busy: true, error: undefined });
    try {
      set({ status: await work() });
      set({ stats: await api.learning.stats({}) });
    } catch (error) {
      set({ error: messageOf(error) });
    } finally {
      set({ busy: false });
    }
  };
  return {
    status: undefined,
    stats: undefined,
    loading: false,
    busy: false,
    error: undefined,
    load: async () => {
      set({ loading: true });
      try {
        const [status, stats] = await Promise.all([api.learning.status({}), api.learning.stats({})]);
        set({ status, stats, error: undefined });
      } catch (error) {
        set({ error: messageOf(error) });
      } finally {
        set({ loading: false });
      }
    },
    pause: () => change(() => api.learning.pause({})),
    resume: () => change(() => api.learning.resume({})),
    updateSettings: (patch) => change(() => api.learning.updateSettings(patch)),
  };
});

// The app pushes the loop's status after every change; the stats follow, one request at a time.
let refreshing = false;
let again = false;
async function refreshStats(): Promise<void> {
  if (refreshing) return void (again = true);
  refreshing = true;
  try {
    do {
      again = false;
      useLearning.setState({ stats: await api.learning.stats({}) });
    } while (again);
  } catch {
    // the next change tries again
  } finally {
    refreshing = false;
  }
}

client.on('learning.changed', (status) => {
  useLearning.setState({ status });
  if (useLearning.getState().stats) void refreshStats();
});
