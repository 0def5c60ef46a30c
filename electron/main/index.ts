// Electron glue only: window, menu, tray, single instance, IPC binding. Logic lives in electron/core.
import { app, BrowserWindow, dialog, Menu, session, shell } from 'electron';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CoreHolder } from '../core/app/coreHolder';
import { resolveDataDir } from '../core/app/location';
import type { TrayHandle } from '../core/app/service';
import { defaultDataDir } from '../core/paths';
import { createCore } from '../core/services';
import type { Core } from '../core/services';
import { bindWindow } from './ipc';
import { loginItemSetter, startedAtLogin } from './loginItems';
import { buildMenu } from './menu';
import { electronNotifier } from './notifications';
import { createTray } from './tray';
import { utilitySpawner } from './utilityProcess';

const outDir = fileURLToPath(new URL('..', import.meta.url));
const pageFile = `${outDir}renderer/index.html`;
const pageUrl = pathToFileURL(pageFile).href;

/** The core behind the window and the tray; a move of the data folder swaps it for one at the new place. */
let holder: CoreHolder | undefined;
let window: BrowserWindow | undefined;
let tray: TrayHandle | undefined;
/** Set once the app quits: windows close for real then, instead of hiding to the tray. */
let quitting = false;

// The CLI and the headless host use the same folder; the single-instance lock is keyed on it. Chromium's own files
// stay there; the app's data is there too unless its location file (data-location.json) says it moved.
app.setPath('userData', defaultDataDir());

// One store per user: a second launch focuses the first window instead.
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => showWindow());
  app.whenReady().then(start, (error: unknown) => fatal(error));
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('activate', () => showWindow());
  app.on('before-quit', () => {
    quitting = true;
  });
  // A running job is paused with a checkpoint first (the tray and a notification say so); then the app ends.
  app.on('will-quit', (event) => {
    if (!holder) return;
    event.preventDefault();
    const closing = holder;
    holder = undefined;
    // quitCore, once a move of the data folder under way is done.
    void closing.close().finally(() => {
      tray?.detach();
      app.quit();
    });
  });
}

async function start(): Promise<void> {
  try {
    // Trainer jobs run in Electron utility processes: a crash or a native abort there never takes the app down.
    const root = app.getPath('userData');
    const notifier = electronNotifier(() => showWindow());
    const loginItems = loginItemSetter();
    holder = await CoreHolder.start({
      root,
      dataDir: await resolveDataDir(root),
      start: (dataDir) => createCore({ dataDir, runJobs: true, spawner: utilitySpawner, notifier, loginItems }),
    });
  } catch (error) {
    return fatal(error);
  }
  // A new core after a move of the data folder: the tray follows it (the window's connection is re-attached by the holder).
  holder.onSwap((next) => {
    tray?.detach();
    tray = startTray(next);
  });
  // The app needs no camera, microphone, notifications or other web permissions.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  Menu.setApplicationMenu(buildMenu());
  if (holder.core) tray = startTray(holder.core);
  // Started at login, the app waits in the tray; learning goes on.
  if (!(tray && startedAtLogin())) openWindow(holder);
}

function startTray(running: Core): TrayHandle | undefined {
  try {
    const handle: TrayHandle = running.services.app.attachTray(
      createTray((id) => handle.select(id)),
      { open: () => showWindow(), quit: () => app.quit() },
    );
    return handle;
  } catch (error) {
    // A desktop without a tray area: closing the window then quits, as it did before the tray.
    console.warn(`[tray] ${(error as Error).message}`);
    return undefined;
  }
}

/** Shows the window: restored, shown from the tray, or created again; focused. */
function showWindow(): void {
  if (!holder) return;
  if (!window) return openWindow(holder);
  if (window.isMinimized()) window.restore();
  window.show();
  window.focus();
}

function openWindow(running: CoreHolder): void {
  window = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Architect.AI Studio',
    webPreferences: {
      preload: `${outDir}preload/index.cjs`,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  const unbind = bindWindow(running, window, pageUrl);
  // Closing hides the window to the tray (a setting, default on; the first time a notification says so).
  window.on('close', (event) => {
    const core = holder?.core;
    // While the data folder moves there is no core: the window hides, as it would to the tray.
    if (!holder || (core ? core.services.app.windowClosing({ quitting }).action === 'quit' : quitting)) return;
    event.preventDefault();
    window?.hide();
  });
  window.on('closed', () => {
    unbind();
    window = undefined;
  });
  window.once('ready-to-show', () => window?.show());
  // Links open in the user's browser; the window itself never leaves our page.
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  void window.loadFile(pageFile);
}

function fatal(error: unknown): void {
  dialog.showErrorBox('Architect.AI Studio could not start', error instanceof Error ? error.message : String(error));
  app.exit(1);
}
