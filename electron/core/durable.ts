import { closeSync, fsyncSync, openSync } from 'node:fs';

/**
 * Flushes a file's data, or a folder's entries (what a rename into it changed), to the disk: without it, a power
 * cut soon after a rename can leave an empty file under the new name. Folders cannot be opened on Windows and
 * some filesystems refuse to sync them: for a folder, both are skipped.
 */
export function syncToDisk(path: string, kind: 'file' | 'folder' = 'file'): void {
  let fd: number;
  try {
    fd = openSync(path, kind === 'folder' ? 'r' : 'r+');
  } catch (error) {
    if (kind === 'folder') return;
    throw error;
  }
  try {
    fsyncSync(fd);
  } catch (error) {
    if (kind === 'file') throw error;
  } finally {
    closeSync(fd);
  }
}
