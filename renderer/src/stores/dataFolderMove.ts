import { create } from 'zustand';
import type { DataFolderMovePlan, DataFolderMoveProgress, DataFolderMoveResult } from '../../../shared/contract/app';
import { api, client } from '../api/client';
import { messageOf } from './errors';

/** What the page says after the reload that follows a move (kept in this tab's session storage). */
const MOVED_KEY = 'architect.dataFolderMoved';

interface MoveState {
  /** The folder typed in. */
  target: string;
  /** Checking the target (app.planDataFolderMove) before asking to confirm. */
  checking: boolean;
  /** The checked move, waiting for the user to confirm it. */
  plan: DataFolderMovePlan | undefined;
  /** This page asked for the move and waits for it. */
  moving: boolean;
  /** The latest app.dataFolderMove event (this page's move or another's). */
  progress: DataFolderMoveProgress | undefined;
  /** Why the check or the move was refused or failed. */
  error: string | undefined;
  /** The move finished before the page reloaded. */
  moved: (Pick<DataFolderMoveResult, 'from' | 'to' | 'bytes'> & { mode: DataFolderMoveResult['mode'] | null }) | undefined;
  setTarget(target: string): void;
  /** Checks the target; the plan then waits for confirm(). */
  check(): Promise<void>;
  confirm(): Promise<void>;
  cancel(): void;
  dismissMoved(): void;
}

function takeMoved(): MoveState['moved'] {
  try {
    const text = sessionStorage.getItem(MOVED_KEY);
    sessionStorage.removeItem(MOVED_KEY);
    return text ? (JSON.parse(text) as MoveState['moved']) : undefined;
  } catch {
    return undefined;
  }
}

/** Every page starts afresh from the new folder: its lists, its settings, its models all come from the new store. */
function reloadWith(moved: NonNullable<MoveState['moved']>): void {
  sessionStorage.setItem(MOVED_KEY, JSON.stringify(moved));
  location.reload();
}

/** Moving the data folder from the Settings page: check, confirm, progress, the error or the new folder. */
export const useDataFolderMove = create<MoveState>((set, get) => ({
  target: '',
  checking: false,
  plan: undefined,
  moving: false,
  progress: undefined,
  error: undefined,
  moved: takeMoved(),
  setTarget: (target) => set({ target, plan: undefined, error: undefined }),
  check: async () => {
    const to = get().target.trim();
    set({ checking: true, error: undefined, plan: undefined, moved: undefined });
    try {
      const plan = await api.app.planDataFolderMove({ to });
      if (get().target.trim() === to) set({ plan });
    } catch (error) {
      set({ error: messageOf(error) });
    } finally {
      set({ checking: false });
    }
  },
  confirm: async () => {
    const plan = get().plan;
    if (!plan) return;
    set({ moving: true, error: undefined, progress: undefined });
    try {
      const result = await api.app.moveDataFolder({ to: plan.to });
      reloadWith({ from: result.from, to: result.to, mode: result.mode, bytes: result.bytes });
    } catch (error) {
      set({ error: messageOf(error), moving: false, plan: undefined });
    }
  },
  cancel: () => set({ plan: undefined }),
  dismissMoved: () => set({ moved: undefined }),
}));

client.on('app.dataFolderMove', (progress) => {
  useDataFolderMove.setState({ progress });
  // Another page moved the folder: this one reloads from the new folder too (the page that asked does once it has its answer).
  if (progress.phase === 'done' && !useDataFolderMove.getState().moving) {
    reloadWith({ from: progress.from, to: progress.to, mode: null, bytes: progress.totalBytes });
  }
});
