// The dataset worker thread's entry (built to out/workers/datasetImport.js): runs one job given in
// workerData and posts progress, then exactly one of done / failed / cancelled.
import { parentPort, workerData } from 'node:worker_threads';
import { ImportJob } from '../../../shared/contract/datasetJobs';
import type { WorkerMessage } from '../../../shared/contract/datasetJobs';
import type { ImportProgress } from '../../../shared/contract/datasets';
import { AppError, toWireError } from '../../../shared/errors';
import { runImport } from './runImport';

const port = parentPort!;
const post = (message: WorkerMessage) => port.postMessage(message);
const { job, cancel } = workerData as { job: unknown; cancel: SharedArrayBuffer };
const flag = new Int32Array(cancel);

// The whole job is synchronous between chunks; the host's cancel arrives through shared memory.
const hooks = { cancelled: () => Atomics.load(flag, 0) !== 0, progress: (progress: ImportProgress) => post({ type: 'progress', progress }) };

Promise.resolve()
  .then(() => runImport(ImportJob.parse(job), hooks))
  .then(
    (outcome) => post({ type: 'done', outcome }),
    (error: unknown) => post(error instanceof AppError && error.code === 'cancelled' ? { type: 'cancelled' } : { type: 'failed', error: toWireError(error) }),
  );
