import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { removeStaging } from '../../../db/datasetStaging';
import { WorkerMessage } from '../../../shared/contract/datasetJobs';
import type { ImportJob } from '../../../shared/contract/datasetJobs';
import type { ImportOutcome, ImportProgress } from '../../../shared/contract/datasets';
import { AppError } from '../../../shared/errors';
import { ChildHost, workerThreadSpawner } from '../childHost';

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
 * The thread's lifecycle (validated messages, its output kept, a crash told from an exit) is ChildHost's.
 */
export async function runImportWorker(workerFile: string, job: ImportJob, options: RunOptions = {}): Promise<ImportOutcome> {
  if (!existsSync(workerFile)) {
    throw new AppError('unavailable', `The dataset importer is not built (${workerFile} is missing): run npm run build.`);
  }
  if (options.signal?.aborted) throw cancelled();
  const cancel = new SharedArrayBuffer(4);
  // No handshake: the worker starts on the job at once.
  const host = await ChildHost.start<never, WorkerMessage>({
    name: 'dataset worker',
    entry: workerFile,
    spawner: workerThreadSpawner,
    messages: WorkerMessage,
    data: { job, cancel },
    logLines: 20,
  });
  return new Promise<ImportOutcome>((resolve, reject) => {
    let settled = false;
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      removeStaging(job.stagingFile);
      finish();
    };
    const onAbort = () => {
      Atomics.store(new Int32Array(cancel), 0, 1);
      void host.waitForExit(options.stopTimeoutMs ?? 10_000);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    host.onMessage((message) => {
      if (message.type === 'progress') return void options.onProgress?.(message.progress);
      if (message.type === 'done') return settle(() => resolve(message.outcome));
      if (message.type === 'cancelled') return settle(() => reject(cancelled()));
      settle(() => reject(AppError.fromWire(message.error)));
    });
    host.onExit(({ code }) => {
      if (options.signal?.aborted) settle(() => reject(cancelled()));
      else settle(() => reject(new AppError('internal', `The dataset worker stopped unexpectedly (exit code ${code}).`)));
    });
    host.onCrash((crash) => {
      if (options.signal?.aborted) return settle(() => reject(cancelled()));
      // An uncaught error's stack ends the log: its first line ("Error: …") is the last that is not a frame.
      const error = crash.logTail.findLast((line) => line.trim() !== '' && !/^\s+at /.test(line));
      settle(() => reject(new AppError('internal', `The dataset worker failed (${crash.reason})${error ? `: ${error}` : ''}.`)));
    });
  });
}

function cancelled(): AppError {
  return new AppError('cancelled', 'The import was cancelled; nothing was stored.');
}
