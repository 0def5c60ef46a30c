// A core that serves training jobs in real trainer child processes (out/workers/trainer.js), for the
// supervisor's tests: one thread per job and a fast poll (CI has two cores and runs test files side by side).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createCore } from '../../electron/core/services';
import type { Core } from '../../electron/core/services';
import type { Job } from '../../shared/contract/training';
import { datasetWorker } from './datasets';

export const TRAINER_ENTRY = fileURLToPath(new URL('../../out/workers/trainer.js', import.meta.url));

export function requireTrainer(): void {
  if (!existsSync(TRAINER_ENTRY)) throw new Error('The trainer is not built: run `npm run build` (npm test does).');
}

export async function startJobCore(dataDir: string): Promise<Core> {
  return createCore({ dataDir, runJobs: true, datasetWorkerFile: await datasetWorker(), supervisor: { pollMs: 50, jobDefaults: { threads: 1 }, trainerEntry: TRAINER_ENTRY } });
}

/** A stored dataset from lines, through the same upload and import the UI uses (no validation share). */
export async function importDataset(core: Core, name: string, lines: object[]): Promise<number> {
  const api = core.connect().api;
  const bytes = Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const { uploadId } = await api.datasets.beginUpload({ fileName: `${name}.jsonl`, size: bytes.length });
  await api.datasets.uploadChunk({ uploadId, offset: 0, data: bytes.toString('base64') });
  const outcome = await api.datasets.importUpload({ uploadId, name, validationShare: 0 });
  if (outcome.status === 'refused') throw new Error(outcome.reason);
  return outcome.dataset.id;
}

export const ended = (job: Job) => ['succeeded', 'failed', 'cancelled', 'paused'].includes(job.status);

/** Polls the job until `done` says so; throws with its state after `timeoutMs`. */
export async function untilJob(core: Core, id: number, done: (job: Job) => boolean, timeoutMs = 120_000): Promise<Job> {
  const started = Date.now();
  for (;;) {
    const job = core.services.supervisor.get(id);
    if (done(job)) return job;
    if (Date.now() - started > timeoutMs) throw new Error(`job ${id} is still ${job.status} after ${timeoutMs} ms: ${job.message ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
