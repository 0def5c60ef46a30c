import { fileURLToPath } from 'node:url';

/**
 * The repository's (or installed app's) `resources/` folder. This file and the bundles that include it
 * (`out/<entry>/index.js`) sit two folders below the root, so one relative path serves both.
 */
export function resourcesDir(): string {
  return fileURLToPath(new URL('../../resources/', import.meta.url));
}
