import { z } from 'zod';
import { defineMethod, defineService } from '../rpc/contract';
import { Id, Timestamp } from './feedback';

/**
 * The app itself: its own settings (window, tray, theme, backend choice, first run), its data folder, and the
 * notifications it gives (native in the desktop app, in the page when headless). Learning thresholds, reward
 * ranges and the Ollama host have their own methods (learning.updateSettings, feedback.setRewardSettings,
 * generation.setSettings).
 */

export const Theme = z.enum(['light', 'dark', 'system']);
export type Theme = z.infer<typeof Theme>;

/** The compute backend the user asks for; auto: what node-llama-cpp finds best on this machine. */
export const BackendChoice = z.enum(['auto', 'cuda', 'cpu']);
export type BackendChoice = z.infer<typeof BackendChoice>;

export const FirstRun = z
  .object({
    /** The first-run steps (probe, base model) were gone through. */
    completed: z.boolean(),
    /** The user skipped them. */
    skipped: z.boolean(),
  })
  .strict();

export const AppSettings = z
  .object({
    /** Closing the window hides it to the tray and learning goes on. Default on. */
    closeToTray: z.boolean(),
    /** The one-time notice "it keeps running in the tray" was given. Default off. */
    closeNoticeShown: z.boolean(),
    /** Start the app (in the tray) when the user logs in; the desktop app on Windows and macOS. Default off. */
    startAtLogin: z.boolean(),
    /** Default system. */
    theme: Theme,
    /** Default auto. */
    backend: BackendChoice,
    /** Default: neither completed nor skipped. */
    firstRun: FirstRun,
  })
  .strict();
export type AppSettings = z.infer<typeof AppSettings>;

export const DEFAULT_APP_SETTINGS: AppSettings = {
  closeToTray: true,
  closeNoticeShown: false,
  startAtLogin: false,
  theme: 'system',
  backend: 'auto',
  firstRun: { completed: false, skipped: false },
};

/** A change of some settings; `firstRun` is merged field by field. */
export const AppSettingsPatch = AppSettings.omit({ firstRun: true })
  .partial()
  .extend({ firstRun: FirstRun.partial().strict().optional() })
  .strict();
export type AppSettingsPatch = z.input<typeof AppSettingsPatch>;

export const AppSettingsView = z.object({
  settings: AppSettings,
  /** Why the stored settings could not be read in full (defaults stand in for what was unreadable); null when they were. */
  problem: z.string().nullable(),
  /** Whether this host can set start-at-login (the desktop app on Windows and macOS; not the headless host). */
  canStartAtLogin: z.boolean(),
});
export type AppSettingsView = z.infer<typeof AppSettingsView>;

const Bytes = z.number().nonnegative();

/** The per-user data folder: the database, models, versions and checkpoints. */
export const DataFolder = z.object({
  path: z.string(),
  /** Free bytes on its disk for this user. */
  freeBytes: Bytes,
  totalBytes: Bytes,
  writable: z.boolean(),
  /** Why the app cannot keep its data there (not writable, disk full); null when it can. */
  problem: z.string().nullable(),
  /** Little free space that downloads and training will run into; null when there is room. */
  warning: z.string().nullable(),
});
export type DataFolder = z.infer<typeof DataFolder>;

/** A folder to move the data to: an absolute path on this machine. */
const TargetFolder = z.string().min(1).max(4096);

/** What moving the data folder to `to` takes, checked without changing anything. */
export const DataFolderMovePlan = z.object({
  /** The data folder now. */
  from: z.string(),
  /** Where the data is to go (normalized). */
  to: z.string(),
  /** Same file system: the app's files are renamed (no copy, no space needed); else copied, verified, then removed from `from`. */
  sameDisk: z.boolean(),
  /** Bytes of the app's data in `from`. */
  dataBytes: Bytes,
  /** Free bytes on the disk of `to`. */
  freeBytes: Bytes,
  /** What the disk of `to` must have free: the data plus a margin on another disk; 0 on the same one. */
  neededBytes: Bytes,
});
export type DataFolderMovePlan = z.infer<typeof DataFolderMovePlan>;

/** checking → stopping (the app's services stop) → copying (or renaming) → verifying → switching → starting (again, at `to`) → done; or failed. */
export const DataFolderMovePhase = z.enum(['checking', 'stopping', 'copying', 'verifying', 'switching', 'starting', 'done', 'failed']);
export type DataFolderMovePhase = z.infer<typeof DataFolderMovePhase>;

export const DataFolderMoveProgress = z.object({
  from: z.string(),
  to: z.string(),
  phase: DataFolderMovePhase,
  /** Bytes copied (or renamed) so far, of `totalBytes`. */
  copiedBytes: Bytes,
  totalBytes: Bytes,
  /** failed: what went wrong and where the data is now; null otherwise. */
  error: z.string().nullable(),
});
export type DataFolderMoveProgress = z.infer<typeof DataFolderMoveProgress>;

export const DataFolderMoveResult = z.object({
  from: z.string(),
  to: z.string(),
  /** renamed: on the same disk; copied: to another disk, verified, then removed from `from`. */
  mode: z.enum(['renamed', 'copied']),
  bytes: Bytes,
  /** The data folder now (at `to`). */
  folder: DataFolder,
});
export type DataFolderMoveResult = z.infer<typeof DataFolderMoveResult>;

export const NotificationLevel = z.enum(['info', 'success', 'error']);
export type NotificationLevel = z.infer<typeof NotificationLevel>;

/** What a notification is about, so the page can link to it. */
export const NotificationSubject = z.object({
  kind: z.enum(['job', 'version', 'download', 'app']),
  /** The job, version or download id; null for the app. */
  id: Id.nullable(),
});
export type NotificationSubject = z.infer<typeof NotificationSubject>;

export const AppNotification = z.object({
  /** Increasing within one run of the app. */
  id: Id,
  level: NotificationLevel,
  /** One short line, e.g. "v3 of Llama 3 8B is active". */
  title: z.string(),
  /** The detail with its numbers, e.g. the gate's summary. */
  body: z.string(),
  at: Timestamp,
  subject: NotificationSubject,
  /** The desktop showed it as a native notification (the page then lists it without a toast). */
  native: z.boolean(),
});
export type AppNotification = z.infer<typeof AppNotification>;

export const appService = defineService({
  methods: {
    settings: defineMethod({
      summary: 'The app settings (close to tray, start at login, theme, backend, first run) and whether they read cleanly.',
      args: z.object({}).strict(),
      result: AppSettingsView,
    }),
    setSettings: defineMethod({
      summary: 'Change some app settings; start at login is applied to the system at once.',
      args: AppSettingsPatch,
      result: AppSettingsView,
    }),
    dataFolder: defineMethod({
      summary: 'The data folder, the free space on its disk, and whether it is writable.',
      args: z.object({}).strict(),
      result: DataFolder,
    }),
    notifications: defineMethod({
      summary: 'The recent notifications of this run, newest first (at most 100; default 20).',
      args: z.object({ limit: z.number().int().min(1).max(100).default(20) }).strict(),
      result: z.object({ notifications: z.array(AppNotification) }),
    }),
    planDataFolderMove: defineMethod({
      summary: 'Check a move of the data folder to `to` without changing anything: what it takes (size, free space, same disk), or why it is refused.',
      args: z.object({ to: TargetFolder }).strict(),
      result: DataFolderMovePlan,
    }),
    moveDataFolder: defineMethod({
      summary: 'Move the data folder to `to`: the app stops, moves (or copies and verifies) its data, and starts again there; progress in app.dataFolderMove. Refused with nothing changed when it cannot.',
      args: z.object({ to: TargetFolder }).strict(),
      result: DataFolderMoveResult,
    }),
  },
  events: {
    /** A job finished or failed, the gate activated or rejected a version, a download finished or failed, and the app's own notices. */
    notification: AppNotification,
    /** The settings changed (here or by the app itself, e.g. the close notice was given). */
    settingsChanged: AppSettingsView,
    /** A move of the data folder: its progress, then done (the app runs from the new folder: reload) or failed. */
    dataFolderMove: DataFolderMoveProgress,
  },
});
