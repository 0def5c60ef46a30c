import { z } from 'zod';
import type { Store } from '../../../db/store';
import type { AppNotification, AppSettingsPatch, AppSettingsView, BackendChoice, DataFolder } from '../../../shared/contract/app';
import { Id } from '../../../shared/contract/feedback';
import type { LearningStatus } from '../../../shared/contract/learning';
import type { Job } from '../../../shared/contract/training';
import { AppError } from '../../../shared/errors';
import type { RpcEndpoint } from '../../../shared/rpc/server';
import type { Clock } from '../clock';
import { inspectDataFolder } from './dataFolder';
import { listenToCore } from './events';
import { NotificationCenter } from './notifications';
import type { Notifier } from './notifications';
import { applyPatch, readAppSettings, writeAppSettings } from './settings';
import type { LoginItems, ReadSettings } from './settings';
import { closePolicy, trayModel, withJob, withProgress } from './tray';
import type { CloseAction, TrayHost, TrayItemId, TrayState } from './tray';

export interface AppServiceDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly dataDir: string;
  readonly learning: { status(): LearningStatus; pause(): LearningStatus; resume(): LearningStatus };
  readonly supervisor: { list(limit?: number): { jobs: Job[] }; resume(id: number): Job; readonly trainerPid: number | undefined };
  /** The desktop's native notifications; without one they reach the page only. */
  readonly notifier?: Notifier;
  /** Start at login; absent where the host cannot set it (headless, Linux). */
  readonly loginItems?: LoginItems;
  /** Pushes `app.notification`. */
  readonly emitNotification: (notification: AppNotification) => void;
  /** Pushes `app.settingsChanged`. */
  readonly emitSettings: (view: AppSettingsView) => void;
  /** Applies the backend setting to the process's node-llama-cpp runtime; without it the setting is only stored. */
  readonly backend?: BackendHook;
}

/** What a change of the backend setting does beyond storing it. */
export interface BackendHook {
  /** Why it cannot change now (a generation runs), or null. */
  refusal(): string | null;
  /** It changed (and is stored): the runtime switches to `backend`; settles once it has. */
  changed(backend: BackendChoice): Promise<void>;
}

/** What the tray's menu items do in the desktop app. */
export interface TrayActions {
  /** Show the window (create it when it was closed). */
  open(): void;
  /** Quit the app (the quit path pauses a running job first). */
  quit(): void;
}

export interface TrayHandle {
  /** A menu item was chosen. */
  select(id: TrayItemId): void;
  /** Stops updating the tray and removes it. */
  detach(): void;
}

/** The jobs the last quit paused, queued again at the next start that serves jobs. */
const RESUME_KEY = 'appResume';
const ResumeList = z.object({ jobs: z.array(Id) });
const APP_SUBJECT = { kind: 'app' as const, id: null };

/**
 * The app around the services: its settings, its data folder, its notifications, the tray's state and menu,
 * what closing the window does and what quitting waits for. Electron stays outside: the tray, the notifier and
 * the login-item setter come in as interfaces.
 */
export class AppService {
  readonly notifications: NotificationCenter;
  private state: TrayState = { learning: null, job: null, queued: 0, quitting: null };
  private readonly queuedJobs = new Set<number>();
  private readonly trays = new Set<{ host: TrayHost; actions: TrayActions; last?: string }>();
  private lastProblem: string | null = null;
  private stopListening: (() => void) | undefined;

  constructor(private readonly deps: AppServiceDeps) {
    this.notifications = new NotificationCenter({ clock: deps.clock, emit: deps.emitNotification, notifier: deps.notifier });
  }

  /**
   * Listens to the core's events (call once the server exists, before jobs run); with `resumeJobs` (a core that
   * serves jobs), queues again the jobs the last quit paused.
   */
  start(rpc: RpcEndpoint, options: { resumeJobs: boolean }): void {
    this.stopListening = listenToCore(rpc, {
      'learning.changed': (status) => this.update({ ...this.state, learning: status }),
      'training.changed': (job) => this.jobChanged(job),
      'training.progress': ({ jobId, progress }) => this.update(withProgress(this.state, jobId, progress)),
      'versions.gated': (event) => this.notifications.gated(event),
      'models.download': (download) => this.notifications.download(download),
    });
    const jobs = this.deps.supervisor.list(100).jobs;
    for (const job of jobs) if (job.status === 'queued') this.queuedJobs.add(job.id);
    const running = jobs.find((j) => j.status === 'running');
    this.state = { ...this.state, learning: this.deps.learning.status(), queued: this.queuedJobs.size, ...(running ? { job: { id: running.id, type: running.type, progress: running.progress } } : {}) };
    this.read(); // a settings row that no longer reads is said at start
    if (options.resumeJobs) this.resumeAfterQuit();
  }

  dispose(): void {
    this.stopListening?.();
    for (const tray of this.trays) tray.host.destroy();
    this.trays.clear();
  }

  // ---- settings and the data folder ------------------------------------------------------------

  settings(): AppSettingsView {
    return this.view(this.read());
  }

  /** Refuses a change of the backend while a generation runs (BackendHook.refusal), changing nothing. */
  setSettings(patch: AppSettingsPatch): AppSettingsView {
    const current = this.read().settings;
    const next = applyPatch(current, patch);
    const backendChanged = next.backend !== current.backend;
    const refusal = backendChanged ? this.deps.backend?.refusal() : null;
    if (refusal) throw new AppError('conflict', refusal, { field: 'args.backend' });
    if (patch.startAtLogin !== undefined) this.applyLoginItem(patch.startAtLogin);
    writeAppSettings(this.deps.store, next);
    if (backendChanged) {
      this.deps.backend?.changed(next.backend).catch((error: unknown) => {
        console.warn(`[app] switching to the ${next.backend} backend: ${(error as Error).message}`);
      });
    }
    return this.changed();
  }

  dataFolder(): Promise<DataFolder> {
    return inspectDataFolder(this.deps.dataDir);
  }

  recentNotifications(limit: number): { notifications: AppNotification[] } {
    return { notifications: this.notifications.recent(limit) };
  }

  // ---- the tray, the window, quitting ----------------------------------------------------------

  /** Shows the app's state in `host` from now on; its menu items act through `actions` and the learning loop. */
  attachTray(host: TrayHost, actions: TrayActions): TrayHandle {
    const tray = { host, actions };
    this.trays.add(tray);
    this.render();
    return {
      select: (id) => this.select(id, actions),
      detach: () => {
        if (this.trays.delete(tray)) host.destroy();
      },
    };
  }

  /** The window is closing: hide it to the tray or let the app quit; the first hide gives the one-time notice. */
  windowClosing(context: { quitting: boolean }): { action: CloseAction; notice: boolean } {
    const { settings } = this.read();
    const decision = closePolicy(settings, { quitting: context.quitting, trayShown: this.trays.size > 0 });
    if (decision.notice) {
      writeAppSettings(this.deps.store, { ...settings, closeNoticeShown: true });
      this.changed();
      this.notifications.push({
        level: 'info',
        title: 'Architect.AI Studio is still running',
        body: 'Closing the window keeps it in the tray, where it goes on learning. Open it or quit from the tray icon; to quit when the window closes, turn off "Close to tray" in Settings.',
        subject: APP_SUBJECT,
      });
    }
    return decision;
  }

  /**
   * The app is quitting: a job this process trains is about to be paused with a checkpoint (by the core's
   * dispose, which the caller awaits next); this says so, in the tray and as a notification, and remembers the
   * job so that the next start resumes it. Returns what it said; null when no job runs here.
   */
  announceQuit(): string | null {
    const running = this.deps.store.jobs.running();
    const here = running && running.ownerPid === process.pid && this.deps.supervisor.trainerPid !== undefined ? running : undefined;
    const message = here ? `Pausing training job ${here.id} at its next step; it resumes from its checkpoint when you start the app again.` : null;
    this.update({ ...this.state, quitting: message ?? 'Quitting…' });
    if (here && message) {
      const marked = this.deps.store.settings.get(RESUME_KEY, ResumeList, { jobs: [] }).jobs;
      this.deps.store.settings.set(RESUME_KEY, { jobs: [...new Set([...marked, here.id])] });
      this.notifications.push({ level: 'info', title: 'Architect.AI Studio is quitting', body: message, subject: { kind: 'job', id: here.id } });
    }
    return message;
  }

  // ---- inside ----------------------------------------------------------------------------------

  private select(id: TrayItemId, actions: TrayActions): void {
    try {
      if (id === 'open') return actions.open();
      if (id === 'quit') return actions.quit();
      const status = this.state.learning?.paused ? this.deps.learning.resume() : this.deps.learning.pause();
      this.update({ ...this.state, learning: status });
    } catch (error) {
      this.notifications.push({ level: 'error', title: 'The tray could not do that', body: (error as Error).message, subject: APP_SUBJECT });
    }
  }

  private jobChanged(job: Job): void {
    if (job.status === 'queued') this.queuedJobs.add(job.id);
    else this.queuedJobs.delete(job.id);
    this.update(withJob(this.state, job, this.queuedJobs.size));
    this.notifications.jobChanged(job);
  }

  private update(state: TrayState): void {
    this.state = state;
    this.render();
  }

  private render(): void {
    const model = trayModel(this.state);
    const text = JSON.stringify(model);
    for (const tray of this.trays) {
      if (tray.last === text) continue;
      tray.last = text;
      try {
        tray.host.render(model);
      } catch (error) {
        console.warn(`[app] the tray could not be drawn: ${(error as Error).message}`);
      }
    }
  }

  /** The stored settings; a problem reading them is warned of and notified once. */
  private read(): ReadSettings {
    const read = readAppSettings(this.deps.store);
    if (read.problem && read.problem !== this.lastProblem) {
      console.warn(`[app] ${read.problem}`);
      this.notifications.push({ level: 'error', title: 'The app settings were reset', body: read.problem, subject: APP_SUBJECT });
    }
    this.lastProblem = read.problem;
    return read;
  }

  private view(read: ReadSettings): AppSettingsView {
    const { loginItems } = this.deps;
    let startAtLogin = read.settings.startAtLogin;
    // What the system will do wins: the user may have removed the login item in the system's settings.
    if (loginItems) {
      try {
        startAtLogin = loginItems.get();
      } catch (error) {
        console.warn(`[app] the login item could not be read: ${(error as Error).message}`);
      }
    }
    return { settings: { ...read.settings, startAtLogin }, problem: read.problem, canStartAtLogin: loginItems !== undefined };
  }

  private changed(): AppSettingsView {
    const view = this.settings();
    this.deps.emitSettings(view);
    return view;
  }

  private applyLoginItem(open: boolean): void {
    const { loginItems } = this.deps;
    if (!loginItems) {
      if (open) throw new AppError('unavailable', 'Start at login is set by the desktop app on Windows and macOS; this host cannot set it.', { field: 'args.startAtLogin' });
      return;
    }
    try {
      if (loginItems.get() !== open) loginItems.set(open);
    } catch (error) {
      throw new AppError('unavailable', `The system refused to ${open ? 'add' : 'remove'} the login item: ${(error as Error).message}`, { field: 'args.startAtLogin', cause: error });
    }
  }

  private resumeAfterQuit(): void {
    const { store, supervisor } = this.deps;
    const ids = store.settings.get(RESUME_KEY, ResumeList, { jobs: [] }).jobs;
    if (ids.length === 0) return;
    store.settings.set(RESUME_KEY, { jobs: [] });
    for (const id of ids) {
      const job = store.jobs.get(id);
      // The user may have resumed, cancelled or deleted it meanwhile (from the CLI).
      if (!job || (job.status !== 'paused' && job.status !== 'failed')) continue;
      try {
        supervisor.resume(id);
        this.notifications.push({ level: 'info', title: `Training job ${id} resumes`, body: job.checkpoint ? 'It continues from the checkpoint it was paused at when the app quit.' : 'It was stopped before its first checkpoint, so it starts again.', subject: { kind: 'job', id } });
      } catch (error) {
        this.notifications.push({ level: 'error', title: `Training job ${id} could not resume`, body: (error as Error).message, subject: { kind: 'job', id } });
      }
    }
  }
}
