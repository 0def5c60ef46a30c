import type { Database } from 'better-sqlite3';
import { createRequire } from 'node:module';

export interface Checkpointer {
  /** Runs a last checkpoint, ends the worker, and hands checkpointing back to the connection. */
  stop(): Promise<void>;
}

export interface CheckpointerOptions {
  /** How often the worker checkpoints, in ms. Default 1000. */
  readonly intervalMs?: number;
  /** WAL pages at which the connection still checkpoints by itself, should the worker fall behind. Default 16384 (64 MiB). */
  readonly fallbackPages?: number;
}

const SQLITE_DEFAULT_PAGES = 1000;

// The worker's module: its own connection checkpoints the shared WAL until it is sent 'stop', then checkpoints
// once more and ends (exit 0). It sends nothing.
const WORKER_SOURCE = `
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
const Database = createRequire(workerData.driver)(workerData.driver);
let db;
try {
  db = new Database(workerData.file, { fileMustExist: true });
} catch (error) {
  // better-sqlite3's own error class loses its message on the way to the host: a plain Error keeps it.
  throw new Error('cannot open ' + workerData.file + ': ' + error.message);
}
const checkpoint = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} };
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.once('message', () => { clearInterval(timer); checkpoint(); db.close(); parentPort.close(); });
`;

/** The checkpoint worker, for the host that runs it (electron/core/walCheckpointer.ts) as a worker thread. */
export interface CheckpointWorker {
  /** A `data:` URL of the worker's ES module: it needs no built file of its own. */
  readonly entry: string;
  /** Its workerData. */
  readonly data: { readonly driver: string; readonly file: string; readonly intervalMs: number };
  /** Hands checkpointing back to the connection (SQLite's default threshold); call it once the worker has ended or failed. */
  restore(): void;
}

/**
 * The store's side of moving WAL checkpoints off the connection's thread. SQLite checkpoints inside the
 * commit that crosses its threshold (1000 pages), and that commit pays for copying pages and an fsync:
 * milliseconds, the whole p99 of recording feedback. A worker thread with its own connection runs a
 * PASSIVE checkpoint (it never blocks readers or the writer) every `intervalMs`, so the WAL restarts
 * small. This raises the connection's own threshold to a safety net (under writes without pause a
 * PASSIVE checkpoint never catches up, and the WAL must not grow without end) and describes the worker.
 */
export function checkpointWorker(db: Database, options: CheckpointerOptions = {}): CheckpointWorker {
  db.pragma(`wal_autocheckpoint = ${options.fallbackPages ?? 16384}`);
  return {
    entry: `data:text/javascript,${encodeURIComponent(WORKER_SOURCE)}`,
    data: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), file: db.name, intervalMs: options.intervalMs ?? 1000 },
    restore: () => {
      if (db.open) db.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_PAGES}`);
    },
  };
}
