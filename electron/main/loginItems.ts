// Electron glue only: start at login through Electron's login item settings (Windows and macOS).
import { app } from 'electron';
import type { LoginItems } from '../core/app/settings';

/** Passed when Windows starts the app at login: it starts in the tray, without a window. */
const AT_LOGIN = '--at-login';

/** Undefined where Electron cannot set a login item (Linux): the setting is then offered as unavailable. */
export function loginItemSetter(): LoginItems | undefined {
  if (process.platform !== 'darwin' && process.platform !== 'win32') return undefined;
  return {
    // Windows finds the entry by its arguments, so they are given on reading too.
    get: () => app.getLoginItemSettings({ args: [AT_LOGIN] }).openAtLogin,
    set: (openAtLogin) => app.setLoginItemSettings({ openAtLogin, args: [AT_LOGIN] }),
  };
}

/** Whether the system started the app at login (then it starts in the tray). */
export function startedAtLogin(): boolean {
  if (process.argv.includes(AT_LOGIN)) return true;
  return process.platform === 'darwin' && app.getLoginItemSettings().wasOpenedAtLogin === true;
}
