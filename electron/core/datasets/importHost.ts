import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { removeStaging } from '../../../db/datasetStaging';
import { WorkerMessage } from '../../../shared/contract/datasetJobs';
import type { ImportJob } from '../../../shared/contract/datasetJobs';
import type { ImportOutcome, ImportProgress } from '../../../shared/contract/datasets';
import { AppError } from '../../../shared/errors';

/** Where `npm run build` puts the worker: out/workers/, next to the bundles that import this module. */
export const DEFAULT_WORKER_FILE = fileURLToPath(new URL('../workers/datasetImport.js', import.meta.url));

export interface RunOptions {
  /** Aborting asks the worker to stop before it stores anything; the promise rejects with `cancelled`. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ImportProgress) => void;
  /** How long a cancelled worker may take to stop before it is terminated, in ms. Default 10 000. */
  readonly stopTimeoutMs?: number;
}

/**
 * Runs one import or build in a worker thread: parsing, hashing and tokenizing hundreds of MB never
 * touch the caller's event loop. Cancellation is a flag in shared memory the worker polls between
 * chunks (its loop is synchronous, so a message would wait); a worker that does not stop in time is
 * terminated. Either way the staging file is removed and the store holds nothing of the job.
 */
export function runImportWorker(workerFile: string, job: ImportJob, options: RunOptions = {}): Promise<ImportOutcome> {
  if (!existsSync(workerFile)) {
    return Promise.reject(new AppError('unavailable', `The dataset importer is not built (${workerFile} is missing): run npm run build.`));
  }
  if (options.signal?.aborted) return Promise.reject(cancelled());
  const cancel = new SharedArrayBuffer(4);
  const worker = new Worker(workerFile, { workerData: { job, cancel } });
  return new Promise<ImportOutcome>((resolve, reject) => {
    let settled = false;
    let stopTimer: NodeJS.Timeout | undefined;
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(stopTimer);
      options.signal?.removeEventListener('abort', onAbort);
      removeStaging(job.stagingFile);
      finish();
    };
    const onAbort = () => {
      Atomics.store(new Int32Array(cancel), 0, 1);
      stopTimer = setTimeout(() => void worker.terminate(), options.stopTimeoutMs ?? 10_000);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (raw: unknown) => {
      const parsed = WorkerMessage.safeParse(raw);
      if (!parsed.success) return settle(() => reject(new AppError('internal', 'The dataset worker sent a malformed message.')));
      const message = parsed.data;
      if (message.type === 'progress') return void options.onProgress?.(message.progress);
      if (message.type === 'done') return settle(() => resolve(message.outcome));
      if (message.type === 'cancelled') return settle(() => reject(cancelled()));
      settle(() => reject(AppError.fromWire(message.error)));
    });
    worker.on('error', (error) => settle(() => reject(new AppError('internal', `The dataset worker failed: ${error.message}`, { cause: error }))));
    worker.on('exit', (code) => {
      if (options.signal?.aborted) settle(() => reject(cancelled()));
      else settle(() => reject(new AppError('internal', `The dataset worker stopped unexpectedly (exit code ${code}).`)));
    });
  });
}

function cancelled(): AppError {
  return new AppError('cancelled', 'The import was cancelled; nothing was stored.');
}
