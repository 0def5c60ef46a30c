import { homedir } from 'node:os';
import { join } from 'node:path';

/** The product name Electron derives its per-user folder from (package.json "productName"). */
export const PRODUCT_NAME = 'Architect.AI Studio';

/**
 * The per-user data folder, the same one Electron's `app.getPath('userData')` gives the desktop app,
 * so the CLI, the headless host and the app share one store by default.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), PRODUCT_NAME);
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', PRODUCT_NAME);
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), PRODUCT_NAME);
}
