import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { AppError } from '../shared/errors';
import { applyMigrations } from './migrations';
import { MIGRATIONS } from './migrations/all';
import type { Migration } from './migrations/types';

export type { Db };

export interface OpenOptions {
  /** Default: every migration of this version of the app. */
  readonly migrations?: readonly Migration[];
  /** How long a write waits for another connection's lock, in ms. Default 5000. */
  readonly busyTimeoutMs?: number;
}

/**
 * Opens (creating if needed) the SQLite store at `file` and brings its schema up to date. WAL lets
 * readers and one writer work at once across processes (the app, the CLI); synchronous=NORMAL keeps
 * every committed transaction across a crash of the process (only an OS crash can lose the last few).
 */
export function openDatabase(file: string, options: OpenOptions = {}): Db {
  let db: Db;
  try {
    db = new Database(file);
  } catch (error) {
    throw cannotOpen(file, error);
  }
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // After a checkpoint the WAL file is cut back to this size instead of staying at its peak.
    db.pragma(`journal_size_limit = ${16 * 1024 * 1024}`);
    applyMigrations(db, options.migrations ?? MIGRATIONS);
    return db;
  } catch (error) {
    db.close();
    throw cannotOpen(file, error);
  }
}

/** An error that names the database file (a corrupt or foreign file says only "file is not a database"). */
function cannotOpen(file: string, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (message.includes(file)) return error as Error;
  const code = (error as { code?: unknown }).code;
  const hint = code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' ? ' It is damaged or not an Architect database: move it aside to start afresh, or restore a backup.' : '';
  return new AppError('unavailable', `Cannot open the database ${file}: ${message}.${hint}`, { cause: error });
}
