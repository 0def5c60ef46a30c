import type { Store } from '../../../db/store';
import { AppSettings, AppSettingsPatch, DEFAULT_APP_SETTINGS } from '../../../shared/contract/app';
import type { BackendChoice } from '../../../shared/contract/app';
import { parseInput } from '../parseArgs';

/** The key of the app's row in the settings table. */
export const APP_SETTINGS_KEY = 'app';

/** Whether the app starts at login: Electron's `app.getLoginItemSettings` / `setLoginItemSettings` in the desktop app. */
export interface LoginItems {
  /** Whether the system starts the app at login now. */
  get(): boolean;
  set(openAtLogin: boolean): void;
}

export interface ReadSettings {
  readonly settings: AppSettings;
  /** Why some or all of the stored row could not be used; null when it read cleanly. */
  readonly problem: string | null;
}

const FIELDS = Object.keys(AppSettings.shape) as (keyof AppSettings)[];

/**
 * Reads the app's settings row, field by field: what parses is kept, what does not (or a row that is no JSON
 * object at all) falls back to its default, and the problem says which. The row is left as it is until the next
 * change writes it whole; no other row is read or touched.
 */
export function readAppSettings(store: Store): ReadSettings {
  // The raw text: the repository's reader merges a row over defaults, which would hide a row that is no object.
  const raw = store.db.prepare<[string], string>('SELECT value FROM settings WHERE key = ?').pluck().get(APP_SETTINGS_KEY);
  if (raw === undefined) return { settings: DEFAULT_APP_SETTINGS, problem: null };
  let stored: unknown;
  try {
    stored = JSON.parse(raw);
  } catch {
    stored = undefined;
  }
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) {
    const reason = stored === undefined ? 'it is not valid JSON' : 'it is not a JSON object';
    return { settings: DEFAULT_APP_SETTINGS, problem: `The stored app settings (the settings row '${APP_SETTINGS_KEY}') could not be read (${reason}); the defaults are used until you change a setting.` };
  }
  const settings: Record<string, unknown> = { ...DEFAULT_APP_SETTINGS };
  const bad: string[] = [];
  for (const field of FIELDS) {
    if (!Object.hasOwn(stored, field)) continue;
    const parsed = AppSettings.shape[field].safeParse((stored as Record<string, unknown>)[field]);
    if (parsed.success) settings[field] = parsed.data;
    else bad.push(field);
  }
  const problem = bad.length
    ? `The stored app settings had an invalid ${bad.join(', ')}; ${bad.length === 1 ? 'its default is' : 'their defaults are'} used until you change ${bad.length === 1 ? 'it' : 'them'}.`
    : null;
  return { settings: AppSettings.parse(settings), problem };
}

/** `patch` (validated) over `current`; `firstRun` is merged field by field. */
export function applyPatch(current: AppSettings, patch: unknown): AppSettings {
  const valid = parseInput(AppSettingsPatch, patch);
  const { firstRun, ...rest } = valid;
  return AppSettings.parse({ ...current, ...rest, firstRun: { ...current.firstRun, ...firstRun } });
}

export function writeAppSettings(store: Store, settings: AppSettings): void {
  store.settings.set(APP_SETTINGS_KEY, settings);
}

/**
 * The backend setting as stored now (its default when the row does not read): what generation runs on, and what a
 * training job whose own backend is 'auto' takes when it starts.
 */
export function backendSetting(store: Store): BackendChoice {
  return readAppSettings(store).settings.backend;
}
