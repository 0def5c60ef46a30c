import type { Database } from 'better-sqlite3';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

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

// Runs in the worker (CommonJS, eval'd): its own connection checkpoints the shared WAL.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
const checkpoint = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} };
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.once('message', () => { clearInterval(timer); checkpoint(); db.close(); parentPort.close(); });
`;

/**
 * Moves WAL checkpoints off the connection's thread. SQLite checkpoints inside the commit that crosses
 * its threshold (1000 pages), and that commit pays for copying pages and an fsync: milliseconds, the
 * whole p99 of recording feedback. Here a worker thread with its own connection runs a PASSIVE
 * checkpoint (it never blocks readers or the writer) every `intervalMs`, so the WAL restarts small.
 * The connection keeps a far higher threshold of its own as a safety net: under writes without pause
 * a PASSIVE checkpoint never catches up, and the WAL must not grow without end. Should the worker
 * fail, SQLite's default comes back.
 */
export function startCheckpointer(db: Database, options: CheckpointerOptions = {}): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  db.pragma(`wal_autocheckpoint = ${options.fallbackPages ?? 16384}`);
  const restore = () => {
    if (db.open) db.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_PAGES}`);
  };
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { driver, file: db.name, intervalMs: options.intervalMs ?? 1000 },
  });
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.once('error', (error) => {
    console.warn(`[db] the checkpoint worker failed (${error.message}); the connection checkpoints by itself again`);
    restore();
  });
  return {
    stop: async () => {
      worker.ref(); // the last checkpoint must finish before the process may exit
      worker.postMessage('stop');
      await exited;
      restore();
    },
  };
}
