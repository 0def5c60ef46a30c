import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StoredJob } from '../../../db/jobs';
import type { Store } from '../../../db/store';
import type { InstalledModel } from '../../../shared/contract/models';
import { StartJobArgs } from '../../../shared/contract/training';
import type { Job, JobProgress } from '../../../shared/contract/training';
import { AppError } from '../../../shared/errors';
import { TrainingConfig } from '../../../shared/training/config';
import type { TrainingConfigInput } from '../../../shared/training/config';
import type { PromptCompletion } from '../../../shared/training/examples';
import { TrainerMessage } from '../../../shared/training/protocol';
import type { TrainerProgress, TrainerRequest, TrainerResult } from '../../../shared/training/protocol';
import { ChildHost } from '../childHost';
import type { Spawner } from '../childHost';
import type { Clock } from '../clock';
import { trainingExamples } from '../datasets/training';
import { parseInput } from '../parseArgs';
import { jobFiles } from './jobData';
import type { JobFiles } from './jobData';
import { baseFolder, latestAdapter, writeVersion } from './versions';

/** Where `npm run build` puts the trainer's entry: out/workers/, next to the bundles that import this module. */
export const DEFAULT_TRAINER_ENTRY = fileURLToPath(new URL('../workers/trainer.js', import.meta.url));

/** The adaptive loop's quick preset: a short run on one batch, continuing from the latest version. */
export const QUICK_PRESET: TrainingConfigInput = { epochs: 2, learningRate: 2e-4, rank: 8, alpha: 16, valSplit: 0.1, checkpointEvery: 10 };

export interface SupervisorDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly dataDir: string;
  readonly models: { get(id: number, field?: string): InstalledModel; list(): Promise<{ models: InstalledModel[] }> };
  readonly spawner: Spawner;
  /** Default: out/workers/trainer.js. */
  readonly trainerEntry?: string;
  readonly onChanged: (job: Job) => void;
  readonly onProgress: (jobId: number, progress: JobProgress) => void;
  /** GPU memory used and total, or null without a GPU; sampled about once a second while a job runs. */
  readonly gpuMemory?: () => Promise<{ usedBytes: number; totalBytes: number } | null>;
  /** Adaptive jobs wait while this says the user is generating. */
  readonly isGenerating?: () => boolean;
  /** Called before a job starts (the generation model may give the GPU up here). */
  readonly beforeJob?: () => Promise<void>;
  /** Settings merged over the quick preset for adaptive jobs (tests make them tiny). */
  readonly adaptiveConfig?: TrainingConfigInput;
  /** Settings merged into every job's configuration where the job leaves them out (e.g. threads). */
  readonly jobDefaults?: TrainingConfigInput;
  /** How often the queue is looked at for jobs queued by any process, in ms. Default 1000. */
  readonly pollMs?: number;
}

interface Running {
  readonly job: StoredJob;
  readonly host: ChildHost<TrainerRequest, TrainerMessage>;
  /** What a stop asked for: a paused job resumes later, a cancelled one does not. */
  intent: 'pause' | 'cancel' | null;
  validationLoss: number | null;
  gpu: JobProgress['gpu'];
  readonly finished: Promise<void>;
}

const alive = (pid: number | null) => {
  if (pid === null) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * The training supervisor: the job queue in SQLite, one training job at a time across every process on
 * the data folder (a unique index holds it), manual before adaptive. Each job runs in a trainer child
 * process (ChildHost), so a crash, an out-of-memory or a native abort fails that job, never the app.
 * Pause and cancel reach a job run by another process through its row's `requested` column.
 */
export class Supervisor {
  private current: Running | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private disposed = false;

  constructor(private readonly deps: SupervisorDeps) {}

  /** Offers jobs a stopped app left running for resume, then serves the queue. */
  start(): void {
    this.recover();
    this.timer = setInterval(() => void this.tick(), this.deps.pollMs ?? 1000);
    this.timer.unref();
    void this.tick();
  }

  /** The trainer child's process id while a job runs here. */
  get trainerPid(): number | undefined {
    return this.current?.host.pid;
  }

  enqueue(input: StartJobArgs): Job {
    const args = parseInput(StartJobArgs, input);
    const { store } = this.deps;
    const model = this.deps.models.get(args.modelId, 'args.modelId');
    if (model.missing) throw new AppError('not_found', `The model file ${model.path} is gone; import it again first.`, { field: 'args.modelId' });
    if (!model.trainable) throw new AppError('invalid_arguments', `"${model.name}" cannot be trained: ${model.trainReason ?? 'another architecture'}.`, { field: 'args.modelId' });
    const dataset = store.datasets.get(args.datasetId);
    if (!dataset) throw new AppError('not_found', `There is no dataset ${args.datasetId}.`, { field: 'args.datasetId' });
    if (dataset.train === 0) throw new AppError('invalid_arguments', `Dataset "${dataset.name}" has no training examples.`, { field: 'args.datasetId' });
    const config = parseInput(TrainingConfig, { ...this.deps.jobDefaults, ...args.config }, 'args.config');
    const id = store.db.transaction(() => {
      const id = store.jobs.insertManual({ modelId: model.id, datasetId: dataset.id, config, now: this.now() });
      const ahead = store.jobs.running() ?? store.jobs.nextQueued();
      if (ahead && ahead.id !== id) store.jobs.update(id, { message: `Queued behind job ${ahead.id}: one training job runs at a time.` }, this.now());
      return id;
    }).immediate();
    const job = this.view(store.jobs.get(id)!);
    this.deps.onChanged(job);
    void this.tick();
    return job;
  }

  list(limit = 50): { jobs: Job[] } {
    return { jobs: this.deps.store.jobs.list(limit).map((j) => this.view(j)) };
  }

  get(id: number): Job & { history: JobProgress[] } {
    return { ...this.view(this.require(id)), history: this.deps.store.jobs.history(id) };
  }

  pause(id: number): Promise<Job> {
    return this.stop(id, 'pause');
  }

  cancel(id: number): Promise<Job> {
    return this.stop(id, 'cancel');
  }

  /** Queues a paused or failed job again; it continues from its checkpoint when it has one. */
  resume(id: number): Job {
    const job = this.require(id);
    if (job.status !== 'paused' && job.status !== 'failed') {
      throw new AppError('conflict', `Job ${id} is ${job.status}; only a paused or failed job can be resumed.`, { field: 'args.id' });
    }
    if (job.checkpoint && !existsSync(join(job.checkpoint, 'state.json'))) {
      throw new AppError('not_found', `Job ${id}'s checkpoint ${job.checkpoint} was deleted; its work is lost. Start the job again.`, { field: 'args.id' });
    }
    const updated = this.deps.store.jobs.update(id, { status: 'queued', message: job.checkpoint ? 'Queued to resume from its last checkpoint.' : 'Queued again.', requested: null, finishedAt: null }, this.now());
    this.changed(updated);
    void this.tick();
    return this.view(updated);
  }

  /** Stops serving; a running job is paused (checkpointed) first, so it can resume at the next start. */
  async dispose(): Promise<void> {
    this.disposed = true;
    clearInterval(this.timer);
    const running = this.current;
    if (!running) return;
    running.intent ??= 'pause';
    running.host.send({ type: 'stop' });
    if ((await running.host.waitForExit(60_000)) === 'killed') running.host.addLog('[supervisor] the trainer did not stop within 60 s and was killed');
    await running.finished;
  }

  // ---- the queue --------------------------------------------------------------------------------

  private async stop(id: number, intent: 'pause' | 'cancel'): Promise<Job> {
    const { store } = this.deps;
    const job = this.require(id);
    if (this.current?.job.id === id) {
      this.current.intent = intent;
      this.current.host.send({ type: 'stop' });
      await this.current.finished;
      return this.view(this.require(id));
    }
    if (job.status === 'running') {
      // Run by another process: it sees the request at its next look at the queue.
      return this.view(store.jobs.update(id, { requested: intent }, this.now()));
    }
    const allowed = intent === 'pause' ? ['queued'] : ['queued', 'paused', 'failed'];
    if (!allowed.includes(job.status)) throw new AppError('conflict', `Job ${id} is ${job.status}; it cannot be ${intent === 'pause' ? 'paused' : 'cancelled'}.`, { field: 'args.id' });
    const updated = store.jobs.update(id, { status: intent === 'pause' ? 'paused' : 'cancelled', message: intent === 'pause' ? 'Paused before it started.' : 'Cancelled.', finishedAt: intent === 'cancel' ? this.now() : null }, this.now());
    this.changed(updated);
    return this.view(updated);
  }

  private recover(): void {
    const { store } = this.deps;
    const running = store.jobs.running();
    if (running && !alive(running.ownerPid)) {
      const where = running.checkpoint ? 'resume continues from its last checkpoint' : 'resume starts it again';
      this.changed(store.jobs.update(running.id, { status: 'paused', ownerPid: null, requested: null, message: `The app stopped while this job ran; ${where}.` }, this.now()));
    }
  }

  private async tick(): Promise<void> {
    // A core that only reads or queues (most CLI commands) leaves the jobs to the process that serves them.
    if (this.ticking || this.disposed || !this.timer) return;
    this.ticking = true;
    try {
      if (this.current) {
        const requested = this.deps.store.jobs.get(this.current.job.id)?.requested;
        if (requested && !this.current.intent) {
          this.current.intent = requested;
          this.current.host.send({ type: 'stop' });
        }
        return;
      }
      this.recover();
      const trainable = (await this.deps.models.list()).models.some((m) => m.trainable && !m.missing);
      const job = this.claim(trainable);
      if (job) this.current = await this.launch(job);
    } catch (error) {
      console.warn(`[supervisor] ${(error as Error).message}`);
    } finally {
      this.ticking = false;
    }
  }

  /** Takes the next job, in one transaction: no two processes run two jobs. */
  private claim(trainableInstalled: boolean): StoredJob | undefined {
    const { store } = this.deps;
    return store.db.transaction(() => {
      if (store.jobs.running()) return undefined;
      const next = store.jobs.nextQueued();
      if (!next) return undefined;
      if (next.type === 'adaptive' && !trainableInstalled) {
        // It waits, and says what for; it runs once a model is there.
        const waiting = 'Waiting for a trainable base model: download or import one on the Models page.';
        if (next.message !== waiting) this.changed(store.jobs.update(next.id, { message: waiting }, this.now()));
        return undefined;
      }
      if (next.type === 'adaptive' && this.deps.isGenerating?.()) return undefined;
      return store.jobs.update(next.id, { status: 'running', ownerPid: process.pid, requested: null, message: null, startedAt: next.startedAt ?? this.now() }, this.now());
    }).immediate();
  }

  private async launch(job: StoredJob): Promise<Running | undefined> {
    this.changed(job);
    let model: InstalledModel;
    let files: JobFiles;
    let config: TrainingConfig;
    try {
      model = await this.modelFor(job);
      config = job.config ?? parseInput(TrainingConfig, { ...this.deps.jobDefaults, ...QUICK_PRESET, ...this.deps.adaptiveConfig }, 'config');
      if (config.checkpointEvery === 0) config = { ...config, checkpointEvery: 10 }; // a crash loses at most 10 steps
      files = await jobFiles(this.deps.dataDir, job.id, () => this.data(job, model));
      // A stored dataset brings its own split: one with no validation rows holds none out.
      if (job.type === 'manual' && !files.validationFile) config = { ...config, valSplit: 0 };
      this.deps.store.jobs.update(job.id, { modelId: model.id, config }, this.now());
      await this.deps.beforeJob?.();
    } catch (error) {
      this.fail(job.id, (error as Error).message, []);
      return undefined;
    }
    let host: ChildHost<TrainerRequest, TrainerMessage>;
    try {
      host = await ChildHost.start<TrainerRequest, TrainerMessage>({
        name: 'trainer',
        entry: this.deps.trainerEntry ?? DEFAULT_TRAINER_ENTRY,
        spawner: this.deps.spawner,
        messages: TrainerMessage,
        isReady: (m) => m.type === 'ready',
      });
    } catch (error) {
      this.fail(job.id, `The trainer could not start: ${(error as Error).message}`, []);
      return undefined;
    }
    if (job.checkpoint) this.deps.store.jobs.dropProgressAfter(job.id, Number(/step-(\d+)/.exec(job.checkpoint)?.[1] ?? 0));
    let settle!: () => void;
    const running: Running = { job, host, intent: null, validationLoss: null, gpu: null, finished: new Promise((resolve) => (settle = resolve)) };
    const sampler = this.sampleGpu(running);
    const end = (finish: () => Promise<void> | void) => {
      clearInterval(sampler);
      void Promise.resolve()
        .then(finish)
        .catch((error: unknown) => this.fail(job.id, `Finishing the job failed: ${(error as Error).message}`, host.logTail()))
        .finally(() => {
          this.current = undefined;
          settle();
          void host.waitForExit(10_000).then(() => this.tick());
        });
    };
    host.onMessage((message) => {
      switch (message.type) {
        case 'progress':
          return this.progress(running, message.progress);
        case 'prepared': {
          const i = message.info;
          return host.addLog(`prepared on ${i.device}: ${i.train} training and ${i.validation} validation examples, ${i.totalSteps} steps from step ${i.startStep}, rank ${i.adapter.rank}${i.truncated ? `, ${i.truncated} cut to max length` : ''}`);
        }
        case 'validation':
          running.validationLoss = message.loss;
          return host.addLog(`step ${message.step}: validation loss ${message.loss.toFixed(4)}`);
        case 'checkpoint':
          this.deps.store.jobs.update(job.id, { checkpoint: message.path }, this.now());
          return host.addLog(`step ${message.step}: checkpoint ${message.path}`);
        case 'log':
          return host.addLog(message.text);
        case 'done':
          return end(() => this.done(running, message.result, model, files));
        case 'error':
          return end(() => this.fail(job.id, message.error.message, host.logTail()));
        default:
          return;
      }
    });
    host.onCrash((info) => end(() => {
      const checkpoint = this.deps.store.jobs.get(job.id)?.checkpoint;
      const keep = checkpoint ? ' Its last checkpoint is kept: resume continues from there.' : '';
      this.fail(job.id, `The trainer stopped unexpectedly (${info.reason}).${keep}`, info.logTail);
    }));
    host.send({
      type: 'start',
      job: {
        jobId: job.id,
        modelPath: model.path,
        examplesFile: files.examplesFile,
        ...(files.validationFile ? { validationFile: files.validationFile } : {}),
        dataDir: this.deps.dataDir,
        config,
        outPath: join(files.dir, 'adapter.gguf'),
        checkpointDir: join(files.dir, 'checkpoints'),
        ...(job.checkpoint ? { resumeFrom: job.checkpoint } : {}),
        ...(files.parent ? { initAdapter: files.parent.adapterPath } : {}),
      },
    });
    return running;
  }

  private progress(running: Running, step: TrainerProgress): void {
    const progress: JobProgress = {
      step: step.step,
      totalSteps: step.totalSteps,
      epoch: step.epoch,
      trainLoss: step.trainLoss,
      validationLoss: running.validationLoss,
      learningRate: step.learningRate,
      tokensPerSecond: step.tokensPerSecond,
      elapsedMs: step.elapsedMs,
      etaMs: step.etaMs,
      memoryBytes: step.memoryBytes,
      gpu: running.gpu,
      at: this.now(),
    };
    this.deps.store.jobs.addProgress(running.job.id, progress);
    this.deps.onProgress(running.job.id, progress);
  }

  private async done(running: Running, result: TrainerResult, model: InstalledModel, files: JobFiles): Promise<void> {
    const { store } = this.deps;
    const id = running.job.id;
    if (result.status === 'cancelled') {
      const intent = running.intent ?? 'pause';
      const at = result.lastCheckpoint ? ` at step ${result.steps}` : '';
      this.changed(
        store.jobs.update(id, {
          status: intent === 'pause' ? 'paused' : 'cancelled',
          ownerPid: null,
          requested: null,
          checkpoint: result.lastCheckpoint,
          message: intent === 'pause' ? `Paused${at}; resume continues from there.` : `Cancelled${at}; its last checkpoint is kept.`,
          finishedAt: intent === 'cancel' ? this.now() : null,
        }, this.now()),
      );
      return;
    }
    const config = store.jobs.get(id)!.config!;
    const version = await writeVersion(baseFolder(this.deps.dataDir, model), result.adapterPath!, {
      parent: files.parent?.number ?? null,
      jobId: id,
      jobType: running.job.type,
      base: { name: model.name, path: model.path, sha256: model.sha256 },
      config,
      dataset: { sha256: files.sha256, examples: files.examples, validation: files.validation },
      metrics: { trainLoss: result.trainLoss, validationLoss: result.validationLoss, steps: result.steps },
      createdAt: this.now(),
    });
    this.changed(
      store.jobs.update(id, {
        status: 'succeeded',
        ownerPid: null,
        requested: null,
        version,
        message: `Wrote v${version.number}${files.parent ? ` on top of v${files.parent.number}` : ''} (train loss ${result.trainLoss?.toFixed(3) ?? '—'}, validation ${result.validationLoss?.toFixed(3) ?? '—'}).`,
        finishedAt: this.now(),
      }, this.now()),
    );
  }

  private fail(id: number, message: string, logTail: string[]): void {
    this.changed(this.deps.store.jobs.update(id, { status: 'failed', ownerPid: null, requested: null, message, logTail: logTail.slice(-200), finishedAt: this.now() }, this.now()));
  }

  private async modelFor(job: StoredJob): Promise<InstalledModel> {
    if (job.modelId !== null) {
      const model = this.deps.models.get(job.modelId, 'modelId');
      if (model.missing) throw new AppError('not_found', `The model file ${model.path} is gone; import it again, then resume.`);
      return model;
    }
    // An adaptive job trains the base the loop learns on: the first trainable model installed.
    const model = (await this.deps.models.list()).models.find((m) => m.trainable && !m.missing);
    if (!model) throw new AppError('unavailable', 'No trainable base model is installed: download or import one on the Models page, then resume this job.');
    return model;
  }

  private async data(job: StoredJob, model: InstalledModel): Promise<{ train: PromptCompletion[]; validation: PromptCompletion[] | null; parent: JobFiles['parent'] }> {
    if (job.type === 'manual') {
      const { train, validation } = trainingExamples(this.deps.store, job.datasetId!);
      if (train.length === 0) throw new AppError('invalid_arguments', `Dataset ${job.datasetId} has no training examples.`);
      return { train, validation: validation.length ? validation : null, parent: null };
    }
    const examples = this.deps.store.jobs.batchExamples(job.batchId!).map((e) => ({ prompt: e.prompt, completion: e.completion, kind: e.kind as PromptCompletion['kind'] }));
    if (examples.length === 0) throw new AppError('invalid_arguments', `Batch ${job.batchId} has no examples.`);
    // The held-out slice comes from the config's valSplit (seeded), inside the trainer.
    return { train: examples, validation: null, parent: await latestAdapter(baseFolder(this.deps.dataDir, model)) };
  }

  private sampleGpu(running: Running): NodeJS.Timeout {
    const sample = () =>
      void this.deps.gpuMemory?.().then(
        (gpu) => (running.gpu = gpu),
        () => undefined,
      );
    sample();
    const timer = setInterval(sample, 1000);
    timer.unref();
    return timer;
  }

  private require(id: number): StoredJob {
    const job = this.deps.store.jobs.get(id);
    if (!job) throw new AppError('not_found', `There is no training job ${id}.`, { field: 'args.id' });
    return job;
  }

  private view(job: StoredJob): Job {
    const { ownerPid: _pid, requested: _requested, ...rest } = job;
    return { ...rest, progress: this.deps.store.jobs.latestProgress(job.id) };
  }

  private changed(job: StoredJob): void {
    this.deps.onChanged(this.view(job));
  }

  private now(): string {
    return this.deps.clock().toISOString();
  }
}
