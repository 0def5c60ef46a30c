import { lstat, mkdir, open, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { syncToDisk } from '../../durable';

/**
 * Every name the app keeps in its data folder, and so all that a move takes: the database with its WAL files, the
 * base models, the versions, the jobs' data and checkpoints, uploads, scratch files, exports, the user's prompt
 * templates. Anything else there (Chromium's own files in the desktop app's folder, the location file, the user's
 * own files) stays where it is. tests/unit/data-folder-move.test.ts checks the core names no other.
 */
export const DATA_ENTRIES = ['architect.db', 'architect.db-wal', 'architect.db-shm', 'models', 'finetuned_models', 'jobs', 'uploads', 'tmp', 'exports', 'prompts'] as const;

/** The database's own companions: checkpointed away before a move, never copied. */
export const WAL_FILES: readonly string[] = ['architect.db-wal', 'architect.db-shm'];

/** One thing under the data folder, by its path relative to it. */
export interface DataFile {
  readonly path: string;
  readonly kind: 'file' | 'folder' | 'link';
  /** Bytes of a file; 0 for the others. */
  readonly size: number;
}

const exists = (path: string) => lstat(path).then(() => true, () => false);

/** The app's entries that are in `folder`. */
export async function presentEntries(folder: string): Promise<string[]> {
  const found = await Promise.all(DATA_ENTRIES.map(async (name): Promise<string | undefined> => ((await exists(join(folder, name))) ? name : undefined)));
  return found.filter((name): name is string => name !== undefined);
}

/** Everything under `entries` of `folder`, parents before children (symbolic links are listed, not followed). */
export async function listFiles(folder: string, entries: readonly string[]): Promise<DataFile[]> {
  const files: DataFile[] = [];
  const walk = async (path: string): Promise<void> => {
    const info = await lstat(join(folder, path));
    if (info.isSymbolicLink()) return void files.push({ path, kind: 'link', size: 0 });
    if (!info.isDirectory()) return void files.push({ path, kind: 'file', size: info.size });
    files.push({ path, kind: 'folder', size: 0 });
    for (const name of (await readdir(join(folder, path))).sort()) await walk(join(path, name));
  };
  for (const entry of entries) await walk(entry);
  return files;
}

export const totalSize = (files: readonly DataFile[]) => files.reduce((sum, f) => sum + f.size, 0);

/** Copy buffer: 4 MiB, so that progress moves during a model file of gigabytes. */
const CHUNK = 4 * 1024 * 1024;

/**
 * Copies `files` from `from` into `to` (an empty folder), each file synced to the disk, each folder synced once its
 * entries are in. `onBytes` hears every chunk; `afterFile` every file done (a test's failure or kill point).
 */
export async function copyFiles(
  from: string,
  to: string,
  files: readonly DataFile[],
  onBytes: (bytes: number) => void,
  afterFile: (file: DataFile) => Promise<void> | void = () => {},
): Promise<void> {
  const buffer = Buffer.allocUnsafe(CHUNK);
  for (const file of files) {
    const target = join(to, file.path);
    if (file.kind === 'folder') await mkdir(target);
    else if (file.kind === 'link') await symlink(await readlink(join(from, file.path)), target);
    else await copyOne(join(from, file.path), target, buffer, onBytes);
    await afterFile(file);
  }
  // Children before parents: a folder's sync covers the names just made in it.
  for (const file of [...files].reverse()) if (file.kind === 'folder') syncToDisk(join(to, file.path), 'folder');
  syncToDisk(to, 'folder');
}

async function copyOne(source: string, target: string, buffer: Buffer, onBytes: (bytes: number) => void): Promise<void> {
  const input = await open(source, 'r');
  try {
    const output = await open(target, 'wx');
    try {
      for (;;) {
        const { bytesRead } = await input.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        let written = 0;
        while (written < bytesRead) written += (await output.write(buffer, written, bytesRead - written)).bytesWritten;
        onBytes(bytesRead);
      }
      await output.sync();
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}

/** The first difference between `files` (as listed in the source) and what `folder` holds, or undefined. */
export async function compareCopy(folder: string, files: readonly DataFile[]): Promise<string | undefined> {
  for (const file of files) {
    const info = await lstat(join(folder, file.path)).catch(() => undefined);
    if (!info) return `${file.path} is missing from the copy`;
    const kind = info.isSymbolicLink() ? 'link' : info.isDirectory() ? 'folder' : 'file';
    if (kind !== file.kind) return `${file.path} is a ${kind} in the copy, a ${file.kind} in the data folder`;
    if (kind === 'file' && info.size !== file.size) return `${file.path} has ${info.size} bytes in the copy, ${file.size} in the data folder`;
  }
  return undefined;
}

/** Removes `entries` from `folder` (each whole; missing ones are skipped). */
export async function removeEntries(folder: string, entries: readonly string[]): Promise<void> {
  for (const name of entries) await rm(join(folder, name), { recursive: true, force: true });
  syncToDisk(folder, 'folder');
}
