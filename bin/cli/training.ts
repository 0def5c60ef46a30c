import { createCore } from '../../electron/core/services';
import type { Core } from '../../electron/core/services';
import type { Job } from '../../shared/contract/training';
import { defineCommand } from './command';
import { finetuneCommand, parseConfig } from './finetune';
import { positiveInt, printJson, withCore } from './withCore';

const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'paused']);

/** The hyperparameters `architect finetune` takes, with the same names, help and checks. */
const HYPERPARAMETERS = [
  'epochs', 'lr', 'batch-size', 'grad-accum', 'rank', 'alpha', 'dropout', 'targets', 'max-length', 'val-split', 'schedule',
  'warmup', 'weight-decay', 'clip', 'grad-checkpointing', 'eval-every', 'checkpoint-every', 'seed', 'threads', 'backend',
] as const;
const CONFIG_OPTIONS = Object.fromEntries(HYPERPARAMETERS.map((k) => [k, finetuneCommand.options[k]])) as Pick<typeof finetuneCommand.options, (typeof HYPERPARAMETERS)[number]>;

function describeJob(job: Job): string {
  const p = job.progress;
  const where = p ? ` step ${p.step}/${p.totalSteps}, loss ${p.trainLoss.toFixed(4)}` : '';
  const version = job.version ? ` → v${job.version.number} (${job.version.dir})` : '';
  return `#${job.id} ${job.type.padEnd(8)} ${job.status.padEnd(9)}${where}${version}${job.message ? ` — ${job.message}` : ''}`;
}

/** Waits for a job to end, printing its progress; whichever process runs it (this one or the app). */
async function follow(core: Core, id: number, json: boolean): Promise<Job> {
  const { supervisor } = core.services;
  let lastStep = -1;
  for (;;) {
    const job = supervisor.get(id);
    const step = job.progress?.step ?? -1;
    if (step !== lastStep && job.progress) {
      lastStep = step;
      if (json) process.stdout.write(`${JSON.stringify({ type: 'progress', jobId: id, ...job.progress })}\n`);
      else {
        const p = job.progress;
        process.stderr.write(`\rstep ${p.step}/${p.totalSteps}  loss ${p.trainLoss.toFixed(4)}  ${p.tokensPerSecond.toFixed(0)} tok/s  ETA ${Math.round(p.etaMs / 1000)} s   `);
      }
    }
    if (FINAL.has(job.status)) return job;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export const trainCommand = defineCommand({
  name: 'train',
  summary: 'Train a LoRA adapter through the job supervisor (a child process); writes the next version of the base model. Ctrl-C pauses.',
  options: {
    model: { type: 'string', placeholder: 'ID', description: 'an installed model id (`architect models`)' },
    dataset: { type: 'string', placeholder: 'ID', description: 'a stored dataset id (`architect datasets`)' },
    ...CONFIG_OPTIONS,
    json: { type: 'boolean', description: 'one JSON line per step, then the job' },
  },
  async run(values) {
    const modelId = positiveInt(values.model, '--model');
    const datasetId = positiveInt(values.dataset, '--dataset');
    const config = parseConfig(values);
    const core = await createCore({ dataDir: values['data-dir'], runJobs: true });
    let job: Job | undefined;
    const onSigint = () => {
      if (!job) process.exit(130);
      process.stderr.write('\nPausing after this step; `architect resume ID` continues it.\n');
      void core.services.supervisor.pause(job.id);
    };
    process.on('SIGINT', onSigint);
    try {
      job = core.services.supervisor.enqueue({ modelId, datasetId, config });
      if (job.message) process.stderr.write(`${job.message}\n`);
      const end = await follow(core, job.id, Boolean(values.json));
      if (values.json) printJson(end);
      else process.stderr.write(`\n${describeJob(end)}\n`);
      return end.status === 'succeeded' ? 0 : end.status === 'paused' ? 130 : 1;
    } finally {
      process.off('SIGINT', onSigint);
      await core.dispose();
    }
  },
});

export const jobsCommand = defineCommand({
  name: 'jobs',
  summary: 'Training jobs, newest first, with their state, progress and the version each wrote.',
  options: { json: { type: 'boolean', description: 'print JSON for machines' } },
  async run(values) {
    return withCore(values['data-dir'], async (core) => {
      const { jobs } = core.services.supervisor.list();
      if (values.json) printJson(jobs);
      else process.stdout.write(jobs.length ? `${jobs.map(describeJob).join('\n')}\n` : 'No training jobs yet.\n');
      return 0;
    });
  },
});

const control = (name: 'cancel' | 'pause' | 'resume', summary: string) =>
  defineCommand({
    name,
    summary,
    positionals: { usage: 'ID', min: 1, max: 1 },
    options: { json: { type: 'boolean', description: 'print JSON for machines' } },
    async run(values, [id]) {
      const jobId = positiveInt(id, 'ID');
      return withCore(values['data-dir'], async (core) => {
        const { supervisor } = core.services;
        const job = name === 'resume' ? supervisor.resume(jobId) : await supervisor[name](jobId);
        if (values.json) printJson(job);
        else process.stdout.write(`${describeJob(job)}\n`);
        return 0;
      });
    },
  });

export const cancelCommand = control('cancel', 'Cancel a training job; a running one stops within a step and keeps its last checkpoint.');
export const pauseCommand = control('pause', 'Pause a training job (it keeps its checkpoint); `architect resume ID` continues it.');
export const resumeCommand = control('resume', 'Queue a paused or failed training job again; it continues from its last checkpoint.');

export const workerCommand = defineCommand({
  name: 'worker',
  summary: 'Run the training supervisor alone, headless: it runs the jobs queued by the app, the CLI or the learning loop. Ctrl-C pauses a running job and stops.',
  options: {},
  async run(values) {
    const core = await createCore({ dataDir: values['data-dir'], runJobs: true });
    process.stderr.write(`Training worker on ${values['data-dir']}: waiting for jobs. Ctrl-C stops (a running job is paused first).\n`);
    // The supervisor's poll timer does not hold the process; this does, until Ctrl-C.
    const keepAlive = setInterval(() => undefined, 1 << 30);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    clearInterval(keepAlive);
    process.stderr.write('Stopping…\n');
    await core.dispose();
    return 0;
  },
});
