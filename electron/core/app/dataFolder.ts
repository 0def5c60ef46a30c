import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, rm, stat, statfs } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { DataFolder } from '../../../shared/contract/app';
import { AppError } from '../../../shared/errors';

/** Below this much free space the store cannot be trusted to write: the app does not start. 64 MiB. */
export const MIN_FREE_BYTES = 64 * 1024 * 1024;
/** Below this much, downloads and training checkpoints will run out: a warning. 2 GB. */
export const LOW_FREE_BYTES = 2e9;

const WHAT = 'Architect.AI Studio keeps its database, models and versions there';
const ELSEWHERE = 'or use another data folder (--data-dir DIR with the CLI and `architect serve`)';

const REASONS: Record<string, string> = {
  EROFS: 'a read-only file system',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOSPC: 'no space left on the disk',
  EDQUOT: 'the disk quota is used up',
  ENOTDIR: 'a file stands where a folder of its path should be',
};
/** Why a file operation failed, in words ("permission denied"), else its code. */
export const reason = (error: NodeJS.ErrnoException) => REASONS[error.code ?? ''] ?? error.code ?? error.message;

/** E.g. "512 KB", "63 MB", "1.2 GB". */
export function formatSize(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${Math.floor(bytes / 1e6)} MB`;
  return `${Math.floor(bytes / 1e3)} KB`;
}

/** Whether this user can write there now: a probe file is created, given one byte, and removed. */
export async function probeWrite(path: string): Promise<NodeJS.ErrnoException | null> {
  const probe = join(path, `.architect-write-check-${process.pid}-${randomBytes(4).toString('hex')}`);
  let created = false;
  try {
    const handle = await open(probe, 'wx');
    created = true;
    try {
      await handle.write(Buffer.from('.'));
      await handle.sync();
    } finally {
      await handle.close();
    }
    return null;
  } catch (error) {
    return error as NodeJS.ErrnoException;
  } finally {
    if (created) await rm(probe, { force: true }).catch(() => undefined);
  }
}

/** `mkdir -p`, one folder at a time: a recursive mkdir reports ENOENT for what is a read-only file system. */
export async function makeFolders(path: string): Promise<void> {
  const missing: string[] = [];
  for (let at = resolve(path); ; at = dirname(at)) {
    const exists = await stat(at).then(() => true, (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    });
    if (exists || dirname(at) === at) break;
    missing.unshift(at);
  }
  for (const folder of missing) {
    await mkdir(folder).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
}

/** The folder's free space and whether the app can keep its data there, with what to do when it cannot. */
export async function inspectDataFolder(path: string): Promise<DataFolder> {
  const fs = await statfs(path);
  const freeBytes = fs.bavail * fs.bsize;
  const totalBytes = fs.blocks * fs.bsize;
  let failure = await probeWrite(path);
  // The database itself may be read-only in a writable folder.
  if (!failure) failure = await access(join(path, 'architect.db'), constants.W_OK).then(() => null, (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : e));
  const full = freeBytes < MIN_FREE_BYTES || failure?.code === 'ENOSPC' || failure?.code === 'EDQUOT';
  let problem: string | null = null;
  if (full) {
    problem = `The disk of the data folder ${path} is full: ${formatSize(freeBytes)} free, and ${WHAT} (it needs at least ${formatSize(MIN_FREE_BYTES)}). Free some space, ${ELSEWHERE}; nothing in the folder was changed.`;
  } else if (failure) {
    problem = `The data folder ${path} is not writable (${reason(failure)}): ${WHAT}. Make it writable for this user, ${ELSEWHERE}; nothing in it was changed.`;
  }
  const warning = !problem && freeBytes < LOW_FREE_BYTES ? `Only ${formatSize(freeBytes)} is free on the disk of ${path}: model downloads and training checkpoints need more.` : null;
  return { path, freeBytes, totalBytes, writable: failure === null, problem, warning };
}

/**
 * Creates the data folder if it is missing, and refuses (AppError 'unavailable', naming the folder) one the app
 * cannot keep its data in: a file in its place, not writable, a full disk. Nothing already there is changed.
 */
export async function openDataFolder(path: string): Promise<DataFolder> {
  const found = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw new AppError('unavailable', `The data folder ${path} cannot be opened (${reason(error)}): ${WHAT}. Fix that, ${ELSEWHERE}.`, { cause: error });
  });
  if (found && !found.isDirectory()) {
    throw new AppError('unavailable', `The data folder ${path} is a file, not a folder: ${WHAT}. Move the file away, ${ELSEWHERE}; the file was not changed.`);
  }
  if (!found) {
    await makeFolders(path).catch((error: NodeJS.ErrnoException) => {
      throw new AppError('unavailable', `The data folder ${path} could not be created (${reason(error)}): ${WHAT}. Create it writable for this user, ${ELSEWHERE}.`, { cause: error });
    });
  }
  const folder = await inspectDataFolder(path);
  if (folder.problem) throw new AppError('unavailable', folder.problem);
  return folder;
}
