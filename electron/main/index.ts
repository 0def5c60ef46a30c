// Electron glue only: window, menu, single instance, IPC binding. Logic lives in electron/core.
import { app, BrowserWindow, dialog, Menu, session, shell } from 'electron';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { defaultDataDir } from '../core/paths';
import { createCore } from '../core/services';
import type { Core } from '../core/services';
import { bindWindow } from './ipc';
import { buildMenu } from './menu';
import { utilitySpawner } from './utilityProcess';

const outDir = fileURLToPath(new URL('..', import.meta.url));
const pageFile = `${outDir}renderer/index.html`;
const pageUrl = pathToFileURL(pageFile).href;

let core: Core | undefined;
let window: BrowserWindow | undefined;

// The CLI and the headless host use the same folder; the single-instance lock is keyed on it.
app.setPath('userData', defaultDataDir());

// One store per user: a second launch focuses the first window instead.
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!window) return;
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  app.whenReady().then(start, (error: unknown) => fatal(error));
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('activate', () => {
    if (core && BrowserWindow.getAllWindows().length === 0) openWindow(core);
  });
  app.on('will-quit', (event) => {
    if (!core) return;
    event.preventDefault();
    const closing = core;
    core = undefined;
    void closing.dispose().finally(() => app.quit());
  });
}

async function start(): Promise<void> {
  try {
    // Trainer jobs run in Electron utility processes: a crash or a native abort there never takes the app down.
    core = await createCore({ dataDir: app.getPath('userData'), runJobs: true, spawner: utilitySpawner });
  } catch (error) {
    return fatal(error);
  }
  // The app needs no camera, microphone, notifications or other web permissions.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  Menu.setApplicationMenu(buildMenu());
  openWindow(core);
}

function openWindow(running: Core): void {
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
  const unbind = bindWindow(running.rpc, window, pageUrl);
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
