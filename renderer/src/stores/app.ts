import { create } from 'zustand';
import type { AppNotification, AppSettingsPatch, AppSettingsView, DataFolder } from '../../../shared/contract/app';
import { api, client } from '../api/client';
import { applyTheme } from '../theme';
import { messageOf } from './errors';

/** How long a toast that is not an error stays, in ms; errors stay until dismissed. */
export const TOAST_MS = 10_000;
/** Toasts shown at once; older ones stay in the bell's list. */
const MAX_TOASTS = 4;

interface AppState {
  /** The app settings as the host last said them; undefined until the first answer. */
  view: AppSettingsView | undefined;
  /** Why the settings could not be read. */
  loadError: string | undefined;
  /** A settings change in flight: the patch's first key, for the control that sent it. */
  saving: string | undefined;
  /** Why the latest change was refused, with the key it was about. */
  saveError: { key: string; message: string } | undefined;
  dataFolder: DataFolder | undefined;
  dataFolderError: string | undefined;
  /** The recent notifications of this run of the app, newest first. */
  notifications: AppNotification[];
  notificationsError: string | undefined;
  /** Ids of the notifications shown as toasts now, newest first. */
  toasts: number[];
  /** Notifications that arrived since the bell's list was last opened. */
  unread: number;
  /** First-run setup opened again from Settings (it shows by itself while neither completed nor skipped). */
  setupRequested: boolean;
  load(): Promise<void>;
  loadDataFolder(): Promise<void>;
  /** Applies `patch`; resolves true when the host took it. */
  setSettings(patch: AppSettingsPatch): Promise<boolean>;
  dismissToast(id: number): void;
  markRead(): void;
  openSetup(): void;
  closeSetup(): void;
}

const firstKey = (patch: AppSettingsPatch) => Object.keys(patch)[0] ?? 'settings';

/** The app's own settings, its data folder and its notifications (toasts and the bell's list). */
export const useApp = create<AppState>((set, get) => ({
  view: undefined,
  loadError: undefined,
  saving: undefined,
  saveError: undefined,
  dataFolder: undefined,
  dataFolderError: undefined,
  notifications: [],
  notificationsError: undefined,
  toasts: [],
  unread: 0,
  setupRequested: false,
  load: async () => {
    const settings = api.app.settings({}).then(
      (view) => {
        applyTheme(view.settings.theme);
        set({ view, loadError: undefined });
      },
      (error: unknown) => set({ loadError: messageOf(error) }),
    );
    const recent = api.app.notifications({ limit: 20 }).then(
      ({ notifications }) => {
        // Events that arrived before this answer are kept; the list is newest first.
        const known = new Set(get().notifications.map((n) => n.id));
        const merged = [...get().notifications, ...notifications.filter((n) => !known.has(n.id))].sort((a, b) => b.id - a.id);
        set({ notifications: merged, notificationsError: undefined });
      },
      (error: unknown) => set({ notificationsError: messageOf(error) }),
    );
    await Promise.all([settings, recent]);
  },
  loadDataFolder: async () => {
    try {
      set({ dataFolder: await api.app.dataFolder({}), dataFolderError: undefined });
    } catch (error) {
      set({ dataFolderError: messageOf(error) });
    }
  },
  setSettings: async (patch) => {
    const key = firstKey(patch);
    // Shown at once (a radio or a checkbox follows the click); put back if the host refuses the change.
    const before = get().view;
    if (before) {
      const { firstRun, ...rest } = patch;
      const settings = { ...before.settings, ...rest, firstRun: { ...before.settings.firstRun, ...firstRun } };
      set({ view: { ...before, settings } });
      applyTheme(settings.theme);
    }
    set({ saving: key, saveError: undefined });
    try {
      const view = await api.app.setSettings(patch);
      applyTheme(view.settings.theme);
      set({ view });
      return true;
    } catch (error) {
      if (before) {
        set({ view: before });
        applyTheme(before.settings.theme);
      }
      set({ saveError: { key, message: messageOf(error) } });
      return false;
    } finally {
      if (get().saving === key) set({ saving: undefined });
    }
  },
  dismissToast: (id) => set({ toasts: get().toasts.filter((t) => t !== id) }),
  markRead: () => set({ unread: 0 }),
  openSetup: () => set({ setupRequested: true }),
  closeSetup: () => set({ setupRequested: false }),
}));

/** Whether first-run setup shows now: by itself until completed or skipped, or when asked for again. */
export function setupShown(state: Pick<AppState, 'view' | 'setupRequested'>): boolean {
  if (state.setupRequested) return true;
  const firstRun = state.view?.settings.firstRun;
  return firstRun !== undefined && !firstRun.completed && !firstRun.skipped;
}

client.on('app.notification', (notification) => {
  const { notifications, toasts, unread } = useApp.getState();
  if (notifications.some((n) => n.id === notification.id)) return;
  useApp.setState({
    notifications: [notification, ...notifications].slice(0, 100),
    // The desktop showed it natively (its window was not in front): the bell lists it, no toast repeats it.
    toasts: notification.native ? toasts : [notification.id, ...toasts].slice(0, MAX_TOASTS),
    unread: unread + 1,
  });
});

client.on('app.settingsChanged', (view) => {
  applyTheme(view.settings.theme);
  useApp.setState({ view });
});
