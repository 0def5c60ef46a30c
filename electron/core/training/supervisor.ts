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
import type { TrainerGate, TrainerProgress, TrainerRequest, TrainerResult } from '../../../shared/training/protocol';
import { mixSeed, permutation } from '../../../shared/training/random';
import { validationCount } from '../../../shared/training/split';
import { GATE_MAX_TOKENS, GATE_PROMPTS } from '../../../shared/versions/gate';
import { backendSetting } from '../app/settings';
import { ChildHost } from '../childHost';
import type { Spawner } from '../childHost';
import type { Clock } from '../clock';
import { writeFileAtomic } from '../files';
import { trainingExamples } from '../datasets/training';
import { parseInput } from '../parseArgs';
import type { VersionRegistry } from '../versions/registry';
import { jobFiles, kindsOf } from './jobData';
import type { JobFiles } from './jobData';
import { jobBackend } from './plan';
import type { JobBackend } from './plan';
import { baseFolder, writeVersion } from './versions';

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
  readonly beforeJob?: (job: { id: number; model: InstalledModel; config: TrainingConfig }) => Promise<void>;
  /** Why a configuration will not fit this machine (the guide's remedies), or null; checked before a job is queued. */
  readonly refuse?: (model: InstalledModel, config: TrainingConfig) => Promise<string | null>;
  /** Called when a job's trainer has ended, however it ended (the generation model may load again). */
  readonly afterJob?: () => Promise<void>;
  /** Settings merged over the quick preset for adaptive jobs (tests make them tiny). */
  readonly adaptiveConfig?: TrainingConfigInput;
  /** Settings merged into every job's configuration where the job leaves them out (e.g. threads). */
  readonly jobDefaults?: TrainingConfigInput;
  /** How often the queue is looked at for jobs queued by any process, in ms. Default 1000. */
  readonly pollMs?: number;
  /** Where finished jobs' versions are registered and gated. */
  readonly registry: VersionRegistry;
  /** The gate's greedy generations per side and their token limit (tests make them small). */
  readonly gate?: { prompts: number; maxTokens: number };
}

interface Running {
  readonly job: StoredJob;
  /** Where it trains: its own backend, or the app's setting when it leaves its own at auto. */
  readonly backend: JobBackend;
  readonly host: ChildHost<TrainerRequest, TrainerMessage>;
  /** What a stop asked for: a paused job resumes later, a cancelled one does not. */
  intent: 'pause' | 'cancel' | null;
  validationLoss: number | null;
  gpu: JobProgress['gpu'];
  gate: TrainerGate | null;
  /** Whether the job has held-out examples for the gate. */
  readonly gated: boolean;
  /** The version the gate compares with; null: the plain base. */
  against: number | null;
  readonly finished: Promise<void>;
}

/** The device of a job's backend, in words. */
const deviceOf = ({ backend, runtime }: JobBackend) => (backend === 'cpu' ? 'the CPU' : backend === 'auto' ? 'the backend node-llama-cpp picks' : runtime === 'cuda' ? 'CUDA' : 'the GPU');

/** Where a job trains and why, for its message and log. */
function backendText(backend: JobBackend): string {
  return `Trains on ${deviceOf(backend)}: ${backend.fromSetting ? "the app's backend setting, as this job leaves its own at auto" : 'the backend this job asks for'}`;
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
  /** The last job's clean-up (its trainer's exit, the GPU given back). */
  private cleanup: Promise<void> = Promise.resolve();

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

  async enqueue(input: StartJobArgs): Promise<Job> {
    const args = parseInput(StartJobArgs, input);
    const { store } = this.deps;
    const model = this.deps.models.get(args.modelId, 'args.modelId');
    if (model.missing) throw new AppError('not_found', `The model file ${model.path} is gone; import it again first.`, { field: 'args.modelId' });
    if (!model.trainable) throw new AppError('invalid_arguments', `"${model.name}" cannot be trained: ${model.trainReason ?? 'another architecture'}.`, { field: 'args.modelId' });
    const dataset = store.datasets.get(args.datasetId);
    if (!dataset) throw new AppError('not_found', `There is no dataset ${args.datasetId}.`, { field: 'args.datasetId' });
    if (dataset.train === 0) throw new AppError('invalid_arguments', `Dataset "${dataset.name}" has no training examples.`, { field: 'args.datasetId' });
    const config = parseInput(TrainingConfig, { ...this.deps.jobDefaults, ...args.config }, 'args.config');
    const refusal = await this.deps.refuse?.(model, config);
    if (refusal) throw new AppError('invalid_arguments', refusal, { field: 'args.config' });
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
    if (!running) return this.cleanup;
    running.intent ??= 'pause';
    running.host.send({ type: 'stop' });
    if ((await running.host.waitForExit(60_000)) === 'killed') running.host.addLog('[supervisor] the trainer did not stop within 60 s and was killed');
    await running.finished;
    await this.cleanup;
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
    let gate: { examplesFile: string; against: string | null; number: number | null } | null;
    let backend: JobBackend;
    try {
      model = await this.modelFor(job);
      config = job.config ?? parseInput(TrainingConfig, { ...this.deps.jobDefaults, ...QUICK_PRESET, ...this.deps.adaptiveConfig }, 'config');
      if (config.checkpointEvery === 0) config = { ...config, checkpointEvery: 10 }; // a crash loses at most 10 steps
      files = await jobFiles(this.deps.dataDir, job.id, () => this.data(job, model));
      // A stored dataset brings its own split: one with no validation rows holds none out.
      if (job.type === 'manual' && !files.validationFile) config = { ...config, valSplit: 0 };
      this.deps.store.jobs.update(job.id, { modelId: model.id, config }, this.now());
      // Resolved at each start, the job's config keeping its 'auto': a job resumed after the setting changed follows it.
      backend = jobBackend(config.backend, backendSetting(this.deps.store));
      config = { ...config, backend: backend.backend };
      gate = await this.gateSet(job, model, files);
      await this.deps.beforeJob?.({ id: job.id, model, config });
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
        args: ['--backend', backend.runtime],
        messages: TrainerMessage,
        isReady: (m) => m.type === 'ready',
      });
    } catch (error) {
      this.fail(job.id, `The trainer could not start: ${(error as Error).message}`, []);
      await this.deps.afterJob?.();
      return undefined;
    }
    if (job.checkpoint) this.deps.store.jobs.dropProgressAfter(job.id, Number(/step-(\d+)/.exec(job.checkpoint)?.[1] ?? 0));
    host.addLog(`[supervisor] ${backendText(backend)} (trainer --backend ${backend.runtime})`);
    // Said while it runs when the setting decided; the result's message says it again.
    if (backend.fromSetting && backend.backend !== 'auto') this.changed(this.deps.store.jobs.update(job.id, { message: `${backendText(backend)}.` }, this.now()));
    let settle!: () => void;
    const running: Running = { job, backend, host, intent: null, validationLoss: null, gpu: null, gate: null, gated: gate !== null, against: gate?.number ?? null, finished: new Promise((resolve) => (settle = resolve)) };
    const sampler = this.sampleGpu(running);
    const end = (finish: () => Promise<void> | void) => {
      clearInterval(sampler);
      void Promise.resolve()
        .then(finish)
        .catch((error: unknown) => this.fail(job.id, `Finishing the job failed: ${(error as Error).message}`, host.logTail()))
        .finally(() => {
          this.current = undefined;
          settle();
          // dispose() waits for this: the generation model must not reload after the core is gone.
          this.cleanup = host
            .waitForExit(10_000)
            .then(() => (this.disposed ? undefined : this.deps.afterJob?.()))
            .catch((error: unknown) => console.warn(`[supervisor] ${(error as Error).message}`))
            .then(() => this.tick());
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
        case 'gate':
          running.gate = message.gate;
          return;
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
        ...(gate ? { gate: { examplesFile: gate.examplesFile, against: gate.against, prompts: this.deps.gate?.prompts ?? GATE_PROMPTS, maxTokens: this.deps.gate?.maxTokens ?? GATE_MAX_TOKENS } } : {}),
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
    // The version records the backend it was trained on; the job's config keeps what the job asked for.
    const config = { ...store.jobs.get(id)!.config!, backend: running.backend.backend };
    const version = await writeVersion(baseFolder(this.deps.dataDir, model), result.adapterPath!, {
      parent: files.parent?.number ?? null,
      jobId: id,
      jobType: running.job.type,
      base: { name: model.name, path: model.path, sha256: model.sha256 },
      config,
      dataset: { sha256: files.sha256, examples: files.examples, validation: files.validation },
      metrics: { trainLoss: result.trainLoss, validationLoss: result.validationLoss, steps: result.steps },
      createdAt: this.now(),
    }, this.deps.store.versions.maxNumber(model.sha256));
    const registered = this.deps.registry.register({
      model,
      number: version.number,
      parent: files.parent?.number ?? null,
      jobId: id,
      jobType: running.job.type,
      dir: version.dir,
      adapterPath: version.adapterPath,
      adapterSha256: version.adapterSha256,
      kinds: files.kinds,
      dataset: { examples: files.examples, validation: files.validation },
      metrics: { trainLoss: result.trainLoss, validationLoss: result.validationLoss, steps: result.steps },
    });
    const measured = running.gate ?? (running.gated ? 'the gate could not run: see the job log' : 'there are no held-out examples of its kinds yet');
    const verdict = this.deps.registry.decide(registered.id, measured, running.against);
    const trained = `Wrote v${version.number}${files.parent ? ` on top of v${files.parent.number}` : ''} (train loss ${result.trainLoss?.toFixed(3) ?? '—'}, validation ${result.validationLoss?.toFixed(3) ?? '—'}).`;
    this.changed(
      store.jobs.update(id, {
        status: 'succeeded',
        ownerPid: null,
        requested: null,
        version,
        message: `${trained} ${verdict.message}${running.backend.fromSetting && running.backend.backend !== 'auto' ? ` Trained on ${deviceOf(running.backend)}, by the app's backend setting.` : ''}`,
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
    const rows = this.deps.store.jobs.batchExamples(job.batchId!);
    if (rows.length === 0) throw new AppError('invalid_arguments', `Batch ${job.batchId} has no examples.`);
    // The held-out slice is chosen once per batch (seeded by its id) and kept: the gate's set for every later version.
    let heldOut = new Set(rows.filter((r) => r.heldOut).map((r) => rows.indexOf(r)));
    if (heldOut.size === 0) {
      const valSplit = (job.config ?? { ...QUICK_PRESET, ...this.deps.adaptiveConfig }).valSplit ?? 0.1;
      const order = permutation(rows.length, mixSeed(job.batchId!, 0x6a7e));
      heldOut = new Set(order.slice(0, validationCount(rows.length, valSplit)));
      this.deps.store.versions.holdOut(job.batchId!, rows.filter((_, i) => heldOut.has(i)));
    }
    const example = (e: (typeof rows)[number]) => ({ prompt: e.prompt, completion: e.completion, kind: e.kind as PromptCompletion['kind'] });
    const train = rows.filter((_, i) => !heldOut.has(i)).map(example);
    const validation = rows.filter((_, i) => heldOut.has(i)).map(example);
    const parent = this.deps.registry.parentFor(model, kindsOf(train));
    return { train, validation: validation.length ? validation : null, parent: parent ? { number: parent.number, adapterPath: parent.adapterPath } : null };
  }

  /**
   * The gate's held-out set, written for the trainer: every held-out example of the job's kinds (the same set
   * for every version), else the job's own validation examples; and the version it is compared with.
   */
  private async gateSet(job: StoredJob, model: InstalledModel, files: JobFiles): Promise<{ examplesFile: string; against: string | null; number: number | null } | null> {
    const { registry, store } = this.deps;
    const held = store.versions.heldOut(files.kinds);
    const examplesFile = join(files.dir, 'gate.jsonl');
    if (held.length) await writeFileAtomic(examplesFile, held.map((e) => JSON.stringify(e)).join('\n') + '\n', { field: 'dataDir', what: "The gate's examples file" });
    else if (!files.validationFile) return null;
    const parent = files.parent ? (store.versions.byNumber(model.sha256, files.parent.number) ?? null) : null;
    const against = registry.comparedWith(model, files.kinds, parent);
    return { examplesFile: held.length ? examplesFile : files.validationFile!, against: against?.adapterPath ?? null, number: against?.number ?? null };
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
