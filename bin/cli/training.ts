import { createCore } from '../../electron/core/services';
import type { Core } from '../../electron/core/services';
import type { Job, PresetChoice, PresetsResult } from '../../shared/contract/training';
import { AppError } from '../../shared/errors';
import type { TrainingConfig } from '../../shared/training/config';
import { CPU_TIER, GPU_TIERS } from '../../shared/training/presets';
import { defineCommand, UsageError } from './command';
import { finetuneCommand, parseConfig } from './finetune';
import { plannerOf, presetLines } from './presets';
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

const TIER_NAMES = [...GPU_TIERS.map((t) => t.name), CPU_TIER.name];

/** --preset: auto or one of the guide's tiers. */
function presetOption(text: string): string {
  if (text === 'auto' || TIER_NAMES.includes(text as (typeof TIER_NAMES)[number])) return text;
  throw new UsageError(`--preset must be auto or one of ${TIER_NAMES.join(', ')}, got '${text}'`);
}

/** The flags a preset sets: batch size, rank, max length, gradient checkpointing. */
function presetFlags(c: PresetChoice): Record<string, string | boolean> {
  return { 'batch-size': String(c.batchSize), rank: String(c.rank), 'max-length': String(c.maxLength), 'grad-checkpointing': c.gradientCheckpointing };
}

/** The lines that say which preset and why, the flags that win over it, and which base file it is for. */
function presetReason(plan: PresetsResult, name: string, choice: PresetChoice, overridden: string[]): string[] {
  const lines = [`Memory: ${plan.memoryText}`];
  if (name === 'auto') {
    lines.push(...presetLines(plan.preset, plan.model));
    if (plan.preset.time) lines.push(`  time: ${plan.preset.time.summary}`);
    else if (plan.timeNote) lines.push(`  time: ${plan.timeNote}`);
  } else {
    const tier = plan.tiers.find((t) => t.tier.name === name)!;
    lines.push(`Preset ${name} (${tier.tier.guide}): ${tier.why}`, ...tier.notes.map((n) => `  note: ${n}`));
  }
  const own = plan.model.files[0]!;
  if (choice.base.quant !== own.quant) {
    const other = plan.model.files.find((f) => f.quant === choice.base.quant);
    const where = other?.installedModelId ? `model ${other.installedModelId}: --model ${other.installedModelId} trains on it` : 'not installed';
    lines.push(`  note: the preset is for the ${choice.base.quant} file (${where}); this job trains model ${plan.model.id}'s ${own.quant} file as asked`);
  }
  if (overridden.length) lines.push(`  flags given win over the preset: ${overridden.join(', ')}`);
  return lines;
}

/**
 * The configuration for `--preset auto|NAME` on this machine, the flags given winning over it; prints why. A
 * configuration that does not fit is refused with what to change (a usage error: exit 2).
 */
async function presetConfig(core: Core, modelId: number, name: string, values: Record<string, unknown>, explicit: TrainingConfig): Promise<TrainingConfig> {
  const planner = plannerOf(core);
  const plan = await planner.presets({ modelId, ...(values['max-length'] !== undefined ? { maxLength: explicit.maxLength } : {}) }).catch((error: unknown) => {
    // The planner names its argument; here it is the flag.
    if (error instanceof AppError && error.field === 'args.maxLength') throw new UsageError(`--max-length: ${error.message.replace(/^maxLength /, '')}`);
    throw error;
  });
  let choice = plan.preset.config;
  if (name !== 'auto') {
    const tier = plan.tiers.find((t) => t.tier.name === name);
    if (!tier) {
      const what = name === CPU_TIER.name ? 'a machine without a GPU backend' : 'a GPU';
      throw new UsageError(`the ${name} tier is for ${what}; this machine has ${plan.memoryText}: give --preset auto or ${plan.tiers.map((t) => t.tier.name).join(', ')}`);
    }
    choice = tier.config;
  }
  const flags = presetFlags(choice);
  const given = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
  const overridden = Object.keys(flags).filter((k) => given[k] !== undefined && String(given[k]) !== String(flags[k])).map((k) => `--${k}${given[k] === true ? '' : ` ${String(given[k])}`}`);
  const config = parseConfig({ ...flags, ...given });
  const refusal = await planner.refusal(modelId, config);
  if (refusal) throw new UsageError(refusal);
  process.stderr.write(`${presetReason(plan, name, choice, overridden).join('\n')}\n`);
  return config;
}

export const trainCommand = defineCommand({
  name: 'train',
  summary: 'Train a LoRA adapter through the job supervisor (a child process); writes the next version of the base model. Ctrl-C pauses.',
  options: {
    model: { type: 'string', placeholder: 'ID', description: 'an installed model id (`architect models`)' },
    dataset: { type: 'string', placeholder: 'ID', description: 'a stored dataset id (`architect datasets`)' },
    preset: {
      type: 'string',
      placeholder: 'auto|NAME',
      description: `the preset for this model on this machine (\`architect presets\`): auto, or a tier (${TIER_NAMES.join(', ')}); sets batch size, rank, max length and checkpointing, the flags given win; refused with what to change when it does not fit`,
    },
    ...CONFIG_OPTIONS,
    json: { type: 'boolean', description: 'one JSON line per step, then the job' },
  },
  async run(values) {
    const modelId = positiveInt(values.model, '--model');
    const datasetId = positiveInt(values.dataset, '--dataset');
    const preset = values.preset === undefined ? undefined : presetOption(values.preset);
    const explicit = parseConfig(values);
    const core = await createCore({ dataDir: values['data-dir'], runJobs: true });
    let job: Job | undefined;
    const onSigint = () => {
      if (!job) process.exit(130);
      process.stderr.write('\nPausing after this step; `architect resume ID` continues it.\n');
      void core.services.supervisor.pause(job.id);
    };
    process.on('SIGINT', onSigint);
    try {
      const config = preset === undefined ? explicit : await presetConfig(core, modelId, preset, values, explicit);
      job = await core.services.supervisor.enqueue({ modelId, datasetId, config });
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
