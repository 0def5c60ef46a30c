import type { ArchitectFiles } from '../../../shared/rpc/protocol';

declare global {
  interface Window {
    /** Present only inside the desktop app (set by the preload). */
    architectFiles?: ArchitectFiles;
  }
}

/** True in the desktop app, where the page can learn the path of a file that is chosen or dropped; false in a browser. */
export function canLearnFilePaths(): boolean {
  return typeof window.architectFiles?.pathForFile === 'function';
}

/** The absolute path of a chosen or dropped file; undefined in a browser, or when the desktop app has none for it. */
export function pathForFile(file: File): string | undefined {
  const files = window.architectFiles;
  if (typeof files?.pathForFile !== 'function') return undefined;
  try {
    return files.pathForFile(file) || undefined;
  } catch {
    return undefined;
  }
}
