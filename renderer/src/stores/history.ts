import { create } from 'zustand';
import type { ArtifactSummary, ListArtifactsArgs } from '../../../shared/contract/artifacts';
import type { ArtifactKind } from '../../../shared/contract/validation';
import { api } from '../api/client';
import { messageOf } from './errors';

export type SortChoice = 'date desc' | 'date asc' | 'reward desc' | 'reward asc';

interface HistoryState {
  kind: ArtifactKind | 'all';
  sort: SortChoice;
  status: 'idle' | 'loading' | 'ready' | 'error';
  items: ArtifactSummary[];
  total: number;
  error: string | undefined;
  setKind(kind: ArtifactKind | 'all'): void;
  setSort(sort: SortChoice): void;
  load(): Promise<void>;
}

let generation = 0;

/** The History page's list: artifacts with their feedback and rewards, filtered and sorted. */
export const useHistory = create<HistoryState>((set, get) => ({
  kind: 'all',
  sort: 'date desc',
  status: 'idle',
  items: [],
  total: 0,
  error: undefined,
  setKind: (kind) => {
    set({ kind });
    void get().load();
  },
  setSort: (sort) => {
    set({ sort });
    void get().load();
  },
  load: async () => {
    const mine = ++generation; // a slower, older answer must not overwrite a newer one
    const { kind, sort } = get();
    const [by, order] = sort.split(' ') as ['date' | 'reward', 'desc' | 'asc'];
    const args: ListArtifactsArgs = { sort: by, order, limit: 200, ...(kind === 'all' ? {} : { kind }) };
    set({ status: get().status === 'ready' ? 'ready' : 'loading' });
    try {
      const { items, total } = await api.artifacts.list(args);
      if (mine === generation) set({ status: 'ready', items, total, error: undefined });
    } catch (error) {
      if (mine === generation) set({ status: 'error', error: messageOf(error) });
    }
  },
}));
