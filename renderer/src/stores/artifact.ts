import { create } from 'zustand';
import type { AddArtifactArgs, ArtifactDetail } from '../../../shared/contract/artifacts';
import type { FeedbackInput, RecordResult } from '../../../shared/contract/feedback';
import { api } from '../api/client';
import { messageOf } from './errors';

type Action = 'up' | 'down' | 'correct' | 'validate' | 'add';

interface ArtifactState {
  id: number | undefined;
  detail: ArtifactDetail | undefined;
  status: 'idle' | 'loading' | 'ready' | 'error';
  /** The action under way, if any (its button shows it and the others wait). */
  busy: Action | undefined;
  /** The latest event recorded from this view, to show its reward. */
  last: RecordResult | undefined;
  error: string | undefined;
  load(id: number): Promise<void>;
  record(input: FeedbackInput, action: Action): Promise<void>;
  validate(): Promise<void>;
  /** Adds an artifact; resolves with its id, or undefined when it failed (see `error`). */
  add(args: AddArtifactArgs): Promise<number | undefined>;
}

/** The artifact view: one artifact with its feedback, and the actions on it. */
export const useArtifact = create<ArtifactState>((set, get) => {
  const run = async (action: Action, work: () => Promise<RecordResult>) => {
    const id = get().id;
    if (id === undefined || get().busy) return;
    set({ busy: action, error: undefined });
    try {
      const last = await work();
      set({ last, detail: await api.artifacts.get({ id }) });
    } catch (error) {
      set({ error: messageOf(error) });
    } finally {
      set({ busy: undefined });
    }
  };
  return {
    id: undefined,
    detail: undefined,
    status: 'idle',
    busy: undefined,
    last: undefined,
    error: undefined,
    load: async (id) => {
      if (get().id !== id) set({ id, detail: undefined, last: undefined, error: undefined });
      set({ status: get().detail ? 'ready' : 'loading' });
      try {
        const detail = await api.artifacts.get({ id });
        if (get().id === id) set({ status: 'ready', detail });
      } catch (error) {
        if (get().id === id) set({ status: 'error', error: messageOf(error) });
      }
    },
    record: (input, action) => run(action, () => api.feedback.record(input)),
    validate: () => run('validate', () => api.feedback.validate({ artifactId: get().id! })),
    add: async (args) => {
      set({ busy: 'add', error: undefined });
      try {
        const { artifact, validationError } = await api.artifacts.add(args);
        set({ id: artifact.id, detail: artifact, status: 'ready', last: undefined, error: validationError ?? undefined });
        return artifact.id;
      } catch (error) {
        set({ error: messageOf(error) });
        return undefined;
      } finally {
        set({ busy: undefined });
      }
    },
  };
});
