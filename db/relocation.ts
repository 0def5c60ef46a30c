// The store's part in a move of the data folder (electron/core/app/move/): the exclusive lock that keeps every other
// process out while the data moves, the check that nothing is training or downloading, the integrity check of a
// copy, and the stored paths that name files in the data folder.
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import { AppError } from '../shared/errors';

/** Columns that hold absolute paths of files the app made in its data folder (models, versions, checkpoints). */
const PATH_COLUMNS: readonly (readonly [table: string, column: string])[] = [
  ['models', 'path'],
  ['versions', 'dir'],
  ['versions', 'adapter_path'],
  ['training_jobs', 'checkpoint'],
  ['training_jobs', 'version_dir'],
  ['training_jobs', 'adapter_path'],
  ['generations', 'adapter_path'],
];

/**
 * Opens `file` and takes SQLite's exclusive lock on it (exclusive locking mode, one write transaction), with the WAL
 * checkpointed into the file: until the connection closes no other connection can read or write it. Refused
 * ('conflict') while another process has the database open. undefined when there is no database yet.
 */
export function lockDatabase(file: string, folder: string): Db | undefined {
  if (!existsSync(file)) return undefined;
  const db = new Database(file, { fileMustExist: true, timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
    db.pragma('wal_checkpoint(TRUNCATE)');
    return db;
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') {
      throw new AppError(
        'conflict',
        `Another process has the data in ${folder} open (the desktop app, \`architect serve\`, \`architect worker\` or another architect command): close it, then move the folder again; nothing was changed.`,
      );
    }
    throw error;
  }
}

/** The checkpoint after writes on a locked connection: the file holds everything, the WAL is empty. */
export function checkpoint(db: Db): void {
  db.pragma('wal_checkpoint(TRUNCATE)');
}

/**
 * Why the data cannot move now: a training job or a model download running in any process (`alive` says whether a
 * row's owner process runs); null when none does.
 */
export function activityRefusal(db: Db, alive: (pid: number) => boolean): string | null {
  const running = db.prepare("SELECT id, type, owner_pid AS pid FROM training_jobs WHERE status = 'running'").all() as { id: number; type: string; pid: number | null }[];
  const job = running.find((j) => j.pid !== null && alive(j.pid));
  if (job) {
    const where = job.pid === process.pid ? 'in this app' : `in process ${job.pid}`;
    return `Training job ${job.id} (${job.type}) is running ${where}: pause it on the Training page (or \`architect pause ${job.id}\`) or wait for it to finish, then move the data folder; nothing was changed.`;
  }
  const downloads = db.prepare("SELECT id, file_name AS file, owner_pid AS pid FROM downloads WHERE state IN ('downloading', 'verifying')").all() as { id: number; file: string; pid: number | null }[];
  const download = downloads.find((d) => d.pid !== null && alive(d.pid));
  if (download) {
    return `The download of ${download.file} (download ${download.id}) is running: pause it on the Models page or wait for it to finish, then move the data folder; nothing was changed.`;
  }
  return null;
}

/** PRAGMA integrity_check of a copied database; the first problem it names, or null when it is sound. */
export function integrityProblem(file: string): string | null {
  const db = new Database(file, { fileMustExist: true });
  try {
    const rows = db.pragma('integrity_check') as { integrity_check: string }[];
    const first = rows[0]?.integrity_check ?? 'no answer';
    return first === 'ok' ? null : first;
  } finally {
    db.close();
  }
}

/** The number of code points: SQLite's substr() counts those, JavaScript's length counts UTF-16 units. */
const codePoints = (text: string) => [...text].length;

/**
 * Rewrites the stored paths under `from`'s moved folders (`entries`) to the same paths under `to`, in one transaction.
 * Paths elsewhere (a model imported where it lies) are left as they are. Idempotent. Returns the rows changed.
 */
export function rewritePaths(db: Db, from: string, to: string, entries: readonly string[]): number {
  const columns = PATH_COLUMNS.filter(([table, column]) => (db.pragma(`table_info(${table})`) as { name: string }[]).some((c) => c.name === column));
  let changed = 0;
  db.transaction(() => {
    for (const entry of entries) {
      const oldPrefix = join(from, entry) + sep;
      const newPrefix = join(to, entry) + sep;
      const length = codePoints(oldPrefix);
      for (const [table, column] of columns) {
        const update = db.prepare(`UPDATE ${table} SET ${column} = ? || substr(${column}, ?) WHERE substr(${column}, 1, ?) = ?`);
        changed += update.run(newPrefix, length + 1, length, oldPrefix).changes;
      }
    }
  })();
  return changed;
}

/** Runs `use` on the database file at `file` opened read-only; undefined when there is no file. */
export function withReadOnly<T>(file: string, use: (db: Db) => T): T | undefined {
  if (!existsSync(file)) return undefined;
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    return use(db);
  } finally {
    db.close();
  }
}

/** rewritePaths on the database file at `file`, through a connection of its own; nothing when there is no file. */
export function rewritePathsIn(file: string, from: string, to: string, entries: readonly string[]): number {
  if (!existsSync(file)) return 0;
  const db = new Database(file, { fileMustExist: true, timeout: 5000 });
  try {
    return rewritePaths(db, from, to, entries);
  } finally {
    db.close();
  }
}
