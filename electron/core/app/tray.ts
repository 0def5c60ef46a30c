import type { AppSettings } from '../../../shared/contract/app';
import type { LearningStatus } from '../../../shared/contract/learning';
import type { Job, JobProgress } from '../../../shared/contract/training';

/** What the tray knows: the learning loop, the job training now, the jobs waiting, and whether the app is quitting. */
export interface TrayState {
  /** Null until the loop's status was read. */
  readonly learning: LearningStatus | null;
  /** The job running now (in this process or another on the same data folder); null when none. */
  readonly job: { readonly id: number; readonly type: Job['type']; readonly progress: JobProgress | null } | null;
  /** Jobs queued behind it. */
  readonly queued: number;
  /** What quitting waits for, once Quit was chosen; null otherwise. */
  readonly quitting: string | null;
}

export type TrayItemId = 'open' | 'toggle-learning' | 'quit';

export interface TrayItem {
  readonly id: TrayItemId;
  readonly label: string;
  readonly enabled: boolean;
}

/** What the tray shows: a tooltip, a title (the macOS menu bar text), the state lines atop the menu, the menu's items. */
export interface TrayModel {
  readonly tooltip: string;
  readonly title: string;
  /** Shown as disabled entries above the items. */
  readonly lines: readonly string[];
  readonly items: readonly TrayItem[];
}

/** The Electron side: draws a model (tooltip, title, menu) and, when the app quits, goes away. */
export interface TrayHost {
  render(model: TrayModel): void;
  destroy(): void;
}

const APP = 'Architect.AI Studio';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** E.g. "ETA 3 min", "ETA 1 h 5 min", "ETA under 1 min". */
export function formatEta(ms: number): string {
  if (!Number.isFinite(ms) || ms < 60_000) return 'ETA under 1 min';
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `ETA ${minutes} min`;
  const rest = minutes % 60;
  return `ETA ${Math.floor(minutes / 60)} h${rest ? ` ${rest} min` : ''}`;
}

/** E.g. "Training job 4: step 12/40, ETA 3 min"; "Training job 4: starting" before its first step. */
export function jobLine(job: NonNullable<TrayState['job']>): string {
  const p = job.progress;
  if (!p) return `Training job ${job.id}: starting`;
  return `Training job ${job.id}: step ${p.step}/${p.totalSteps}, ${formatEta(p.etaMs)}`;
}

/** E.g. "12 examples until the next batch", "Learning paused: 3 examples waiting". */
export function learningLine(status: LearningStatus): string {
  if (status.paused) return `Learning paused: ${plural(status.pending, 'example')} waiting`;
  if (!status.settings.autoTrigger) return `Automatic training off: ${plural(status.pending, 'example')} waiting`;
  if (status.untilNextBatch === 0) return 'A training batch is due';
  return `${plural(status.untilNextBatch, 'example')} until the next batch`;
}

/** The tray for a state: pure, so every rule of what it says is tested without Electron. */
export function trayModel(state: TrayState): TrayModel {
  const lines: string[] = [];
  if (state.quitting) lines.push(state.quitting);
  if (state.learning) lines.push(learningLine(state.learning));
  if (state.job) lines.push(jobLine(state.job));
  if (state.queued > 0) lines.push(`${plural(state.queued, 'training job')} queued`);
  const quitting = state.quitting !== null;
  const paused = state.learning?.paused ?? false;
  return {
    tooltip: [APP, ...lines].join('\n'),
    title: state.job?.progress ? `${state.job.progress.step}/${state.job.progress.totalSteps}` : '',
    lines,
    items: [
      { id: 'open', label: `Open ${APP}`, enabled: !quitting },
      { id: 'toggle-learning', label: paused ? 'Resume learning' : 'Pause learning', enabled: !quitting && state.learning !== null },
      { id: 'quit', label: quitting ? 'Quitting…' : 'Quit', enabled: !quitting },
    ],
  };
}

/** The state after a job changed: a running job is the one shown; one that stopped leaves. */
export function withJob(state: TrayState, job: Job, queued: number): TrayState {
  if (job.status === 'running') return { ...state, job: { id: job.id, type: job.type, progress: job.progress ?? (state.job?.id === job.id ? state.job.progress : null) }, queued };
  if (state.job?.id === job.id) return { ...state, job: null, queued };
  return { ...state, queued };
}

/** The state after a step of `jobId`. */
export function withProgress(state: TrayState, jobId: number, progress: JobProgress): TrayState {
  if (state.job && state.job.id !== jobId) return state;
  return { ...state, job: { id: jobId, type: state.job?.type ?? 'manual', progress } };
}

export type CloseAction = 'hide' | 'quit';

/**
 * What closing the window does: hide it to the tray (learning goes on) when the setting is on and a tray is
 * shown, else quit (on macOS: close the window, as the platform does). The one-time notice goes with the first hide.
 */
export function closePolicy(settings: Pick<AppSettings, 'closeToTray' | 'closeNoticeShown'>, context: { quitting: boolean; trayShown: boolean }): { action: CloseAction; notice: boolean } {
  if (context.quitting || !settings.closeToTray || !context.trayShown) return { action: 'quit', notice: false };
  return { action: 'hide', notice: !settings.closeNoticeShown };
}
