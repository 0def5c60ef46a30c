import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Llama } from 'node-llama-cpp';
import { AppError } from '../../shared/errors';
import type { CheckpointState } from '../../shared/training/checkpoint';
import type { TrainingConfig } from '../../shared/training/config';
import type { PromptTemplates } from '../../shared/prompts';
import { mixSeed, permutation } from '../../shared/training/random';
import { learningRateAt } from '../../shared/training/schedule';
import { validationCount } from '../../shared/training/split';
import { Trainer } from '../../native/index';
import type { LoraAdapter, TrainBatch, TrainingSession } from '../../native/index';
import { checkResumeState, checkSameBase, modelIdentity, readCheckpointState, resolveCheckpoint, writeCheckpoint } from './checkpoint';
import { checkTargetSync, placeFile } from '../core/files';
import { ExampleRenderer, fitToLength } from '../core/prompts/render';
import type { RenderedExample } from '../core/prompts/render';
import type { PromptCompletion } from '../../shared/training/examples';

export interface FinetuneRequest {
  readonly modelPath: string;
  /** Each rendered in its kind's prompt template (the one generation uses), or as it is without a kind. */
  readonly examples: readonly PromptCompletion[];
  /** The prompt templates by kind (loadPromptTemplates); default none: prompts go in as they are. */
  readonly templates?: PromptTemplates;
  /** Where the final adapter (GGUF) goes. */
  readonly outPath: string;
  readonly config: TrainingConfig;
  /** Default: `<outPath>.checkpoints`. */
  readonly checkpointDir?: string;
  /** A checkpoint folder (or a folder of them: the newest is used) to continue exactly from. */
  readonly resumeFrom?: string;
  /** An adapter to train further (incremental training: v1 → v2); its rank, alpha and targets win. */
  readonly initAdapter?: string;
  /** Held-out examples (a stored dataset's own split); when given, `valSplit` draws none from `examples`. */
  readonly validationExamples?: readonly PromptCompletion[];
}

export interface PreparedInfo {
  readonly examples: number;
  readonly train: number;
  readonly validation: number;
  readonly truncated: number;
  readonly dropped: number;
  readonly totalSteps: number;
  readonly startStep: number;
  readonly device: string;
  readonly adapter: { rank: number; alpha: number; targets: string[]; parameters: number };
}

export interface StepProgress {
  readonly step: number;
  readonly totalSteps: number;
  /** Fractional epoch, e.g. 1.5 half-way through the second. */
  readonly epoch: number;
  readonly trainLoss: number;
  readonly learningRate: number;
  readonly gradNorm: number;
  readonly tokensPerSecond: number;
  readonly elapsedMs: number;
  readonly etaMs: number;
  /** Backend memory: weights + adapter/optimizer state + compute buffers. */
  readonly memoryBytes: number;
  readonly peakMemoryBytes: number;
}

export interface FinetuneHooks {
  onPrepared?(info: PreparedInfo): void;
  onProgress?(progress: StepProgress): void;
  onValidation?(result: { step: number; epoch: number; loss: number }): void;
  onCheckpoint?(result: { step: number; path: string }): void;
}

export interface FinetuneResult {
  readonly status: 'completed' | 'cancelled';
  /** The finished adapter (null when cancelled: the checkpoint holds the work). */
  readonly adapterPath: string | null;
  readonly checkpointDir: string;
  readonly lastCheckpoint: string | null;
  readonly steps: number;
  readonly trainLoss: number | null;
  readonly validationLoss: number | null;
  readonly truncated: number;
  readonly dropped: number;
}

/** SHA-256 of the examples, in order: what a resume checks the data against. */
export function hashExamples(examples: readonly PromptCompletion[]): string {
  const hash = createHash('sha256');
  // The kind picks the template, so it is part of the data; without one the hash is as before kinds counted.
  for (const e of examples) hash.update(JSON.stringify(e.kind ? [e.prompt, e.completion, e.kind] : [e.prompt, e.completion])).update('\n');
  return hash.digest('hex');
}

/**
 * One LoRA fine-tuning run on the native trainer: render and cut the examples, split off validation,
 * then optimizer steps (gradient accumulation over micro-batches), validation, checkpoints. Cancelling
 * through `signal` takes effect before the next step and writes a checkpoint first.
 */
export async function finetune(llama: Llama, request: FinetuneRequest, hooks: FinetuneHooks = {}, signal?: AbortSignal): Promise<FinetuneResult> {
  const checkpointDir = resolve(request.checkpointDir ?? `${request.outPath}.checkpoints`);
  const resumeDir = request.resumeFrom ? resolveCheckpoint(request.resumeFrom) : undefined;
  const resumed = resumeDir ? readCheckpointState(resumeDir) : undefined;
  // A resume keeps the run's settings; where and how fast it runs may change.
  const config = resumed ? { ...resumed.config, backend: request.config.backend, threads: request.config.threads } : request.config;
  const dataHash = `${hashExamples(request.examples)}:${request.validationExamples ? hashExamples(request.validationExamples) : `split ${config.valSplit}`}`;
  if (resumed && resumed.dataHash !== dataHash) {
    throw new AppError('conflict', `${resumeDir}: the training data changed since this checkpoint; resume needs the same examples`, { field: 'data' });
  }
  // The base's identity (size and sampled hash): a checkpoint resumes only on the base it was trained on.
  const base = modelIdentity(request.modelPath);
  if (resumeDir && resumed) checkSameBase(resumeDir, resumed.model, base);
  checkWritable(dirname(resolve(request.outPath)), 'output folder');
  checkWritable(checkpointDir, 'checkpoint folder');
  // Before any training: a FIFO, a folder or a device at the output is refused by name, not found out at the end.
  checkTargetSync(request.outPath, OUT_REF);

  const trainer = Trainer.forLlama(llama);
  const device = config.backend === 'cpu' ? 'cpu' : config.backend === 'cuda' ? 'gpu' : 'auto';
  const model = await trainer.loadModel(request.modelPath, { device, ...(config.threads ? { threads: config.threads } : {}), ...(signal ? { signal } : {}) });
  let adapter: LoraAdapter | undefined;
  let session: TrainingSession | undefined;
  try {
    const prepared = await prepare(llama, request, config);
    const { train, validation } = prepared.heldOut === null ? split(prepared.examples.length, config) : prepared.heldOut;
    const perStep = config.batchSize * config.gradAccum;
    const stepsPerEpoch = Math.ceil(train.length / perStep);
    const totalSteps = config.epochs * stepsPerEpoch;
    // What comes back from a checkpoint must be a state this run can reach, before anything is loaded from it.
    if (resumeDir && resumed) checkResumeState(resumeDir, resumed, { totalSteps, stepsPerEpoch, train });

    adapter = resumeDir
      ? await model.loadAdapter(join(resumeDir, 'adapter.gguf'))
      : request.initAdapter
        ? await model.loadAdapter(request.initAdapter)
        : model.createAdapter({ rank: config.rank, alpha: config.alpha, targets: config.targets, seed: config.seed });
    session = model.createTrainingSession(adapter, { dropout: config.dropout, gradientCheckpointing: config.gradientCheckpointing });
    if (resumeDir) {
      const optimizer = join(resumeDir, 'optimizer.gguf');
      await session.loadOptimizer(optimizer);
      // One AdamW step per optimizer step: the moments' bias correction depends on the count matching.
      const adamSteps = session.memory().adamSteps;
      if (adamSteps !== resumed!.step) {
        throw new AppError('conflict', `${optimizer}: architect.optimizer.steps is ${adamSteps}, but state.json's step is ${resumed!.step}: the checkpoint's files are from different steps`, { field: 'resume' });
      }
    }
    const startStep = resumed?.step ?? 0;
    hooks.onPrepared?.({
      examples: request.examples.length + (request.validationExamples?.length ?? 0),
      train: train.length,
      validation: validation.length,
      truncated: prepared.truncated,
      dropped: prepared.dropped,
      totalSteps,
      startStep,
      device: model.info.device,
      adapter: { rank: adapter.info.rank, alpha: adapter.info.alpha, targets: adapter.info.targets, parameters: adapter.info.parameterCount },
    });

    const history = [...(resumed?.history ?? [])];
    const validationHistory = [...(resumed?.validation ?? [])];
    // Padding sits after each sequence's end: causal attention and the loss rows never look at it.
    const pad = 0;
    const examplesAt = (ids: readonly number[]) => ids.map((i) => prepared.examples[i]!);
    const validate = async (step: number) => {
      if (validation.length === 0) return;
      let weighted = 0;
      let rows = 0;
      for (let i = 0; i < validation.length; i += config.batchSize) {
        const batch = buildBatch(examplesAt(validation.slice(i, i + config.batchSize)), pad);
        weighted += (await session!.evaluate({ ...batch, weight: 1, dropoutSeed: 0 })) * batch.rows.length;
        rows += batch.rows.length;
      }
      const loss = weighted / rows;
      validationHistory.push({ step, loss });
      hooks.onValidation?.({ step, epoch: step / stepsPerEpoch, loss });
    };
    const orderOf = (epoch: number) => permutation(train.length, mixSeed(config.seed, epoch));
    const checkpoint = async (step: number): Promise<string> => {
      const epoch = Math.min(config.epochs - 1, Math.floor(step / stepsPerEpoch));
      const state: CheckpointState = {
        version: 1,
        step,
        totalSteps,
        config,
        model: base,
        dataHash,
        dataOrder: orderOf(epoch).map((i) => train[i]!),
        rng: { seed: config.seed, epoch, step },
        initAdapter: request.initAdapter ?? resumed?.initAdapter ?? null,
        history,
        validation: validationHistory,
        savedAt: new Date().toISOString(),
      };
      const path = await writeCheckpoint(checkpointDir, state, adapter!, session!);
      hooks.onCheckpoint?.({ step, path });
      return path;
    };

    const started = performance.now();
    let lastCheckpoint: string | null = null;
    let lastLoss: number | null = history.at(-1)?.loss ?? null;
    for (let step = startStep; step < totalSteps; step++) {
      if (signal?.aborted) {
        lastCheckpoint = await checkpoint(step);
        return result('cancelled', null, step);
      }
      const stepStarted = performance.now();
      const epoch = Math.floor(step / stepsPerEpoch);
      const position = step % stepsPerEpoch;
      const ids = orderOf(epoch).slice(position * perStep, (position + 1) * perStep).map((i) => train[i]!);
      const micro = [];
      for (let i = 0; i < ids.length; i += config.batchSize) micro.push(buildBatch(examplesAt(ids.slice(i, i + config.batchSize)), pad));
      const totalRows = micro.reduce((n, b) => n + b.rows.length, 0);
      let loss = 0;
      let tokens = 0;
      for (const [i, batch] of micro.entries()) {
        const weight = batch.rows.length / totalRows;
        loss += weight * (await session.accumulate({ ...batch, weight, dropoutSeed: mixSeed(config.seed, step, i) }));
        tokens += batch.realTokens;
      }
      const learningRate = learningRateAt(step, totalSteps, config.learningRate, config.schedule, config.warmup);
      const { gradNorm } = await session.step({
        lr: learningRate,
        beta1: config.beta1,
        beta2: config.beta2,
        eps: 1e-8,
        weightDecay: config.weightDecay,
        clip: config.clip,
      });
      lastLoss = loss;
      history.push({ step: step + 1, loss, learningRate });
      const now = performance.now();
      const done = step + 1 - startStep;
      const memory = session.memory();
      hooks.onProgress?.({
        step: step + 1,
        totalSteps,
        epoch: (step + 1) / stepsPerEpoch,
        trainLoss: loss,
        learningRate,
        gradNorm,
        tokensPerSecond: tokens / ((now - stepStarted) / 1000),
        elapsedMs: now - started,
        etaMs: ((now - started) / done) * (totalSteps - step - 1),
        memoryBytes: model.info.weightsBytes + memory.stateBytes + memory.computeBytes,
        peakMemoryBytes: model.info.weightsBytes + memory.stateBytes + memory.peakComputeBytes,
      });
      const epochEnd = (step + 1) % stepsPerEpoch === 0;
      if (epochEnd || (config.evalEvery > 0 && (step + 1) % config.evalEvery === 0)) await validate(step + 1);
      if (config.checkpointEvery > 0 && (step + 1) % config.checkpointEvery === 0 && step + 1 < totalSteps) {
        lastCheckpoint = await checkpoint(step + 1);
      }
    }
    lastCheckpoint = await checkpoint(totalSteps);
    await saveAdapter(adapter, request.outPath);
    return result('completed', request.outPath, totalSteps);

    function result(status: FinetuneResult['status'], adapterPath: string | null, steps: number): FinetuneResult {
      return {
        status,
        adapterPath,
        checkpointDir,
        lastCheckpoint,
        steps,
        trainLoss: lastLoss,
        validationLoss: validationHistory.at(-1)?.loss ?? null,
        truncated: prepared.truncated,
        dropped: prepared.dropped,
      };
    }
  } finally {
    session?.dispose();
    adapter?.dispose();
    model.dispose();
  }
}

async function prepare(llama: Llama, request: FinetuneRequest, config: TrainingConfig) {
  if (request.examples.length === 0) throw new AppError('invalid_arguments', 'there are no examples to train on', { field: 'data' });
  const vocab = await llama.loadModel({ modelPath: request.modelPath, vocabOnly: true });
  try {
    const renderer = new ExampleRenderer(vocab, request.templates ?? {});
    const train = fitToLength(request.examples.map((e) => renderer.render(e)), config.maxLength);
    if (train.examples.length === 0) {
      const shortest = request.examples.reduce((min, e) => Math.min(min, renderer.render(e).completionStart), Infinity) + 1;
      throw new AppError(
        'invalid_arguments',
        `every example is longer than max length ${config.maxLength}: even the shortest prompt needs ${shortest} tokens before its completion starts. Raise max length or shorten the prompts.`,
        { field: 'maxLength' },
      );
    }
    if (!request.validationExamples) return { ...train, heldOut: null };
    // A given validation set follows the training examples; indices say which is which.
    const held = fitToLength(request.validationExamples.map((e) => renderer.render(e)), config.maxLength);
    const n = train.examples.length;
    return {
      examples: [...train.examples, ...held.examples],
      truncated: train.truncated + held.truncated,
      dropped: train.dropped + held.dropped,
      heldOut: { train: train.examples.map((_, i) => i), validation: held.examples.map((_, i) => n + i) },
    };
  } finally {
    await vocab.dispose();
  }
}

/**
 * Validation takes a seeded share of the examples: as many as a stored dataset of them holds out
 * (validationCount: at least one when asked for and there are two or more, never all).
 */
function split(n: number, config: TrainingConfig): { train: number[]; validation: number[] } {
  const order = permutation(n, mixSeed(config.seed, 0x5eed));
  const count = validationCount(n, config.valSplit);
  return { validation: order.slice(0, count).sort((a, b) => a - b), train: order.slice(count).sort((a, b) => a - b) };
}

type Batch = Omit<TrainBatch, 'weight' | 'dropoutSeed'> & { realTokens: number };

/** Right-padded sequences; the loss rows are the positions that predict a completion token. */
export function buildBatch(examples: readonly RenderedExample[], pad: number): Batch {
  const nTokens = Math.max(...examples.map((e) => e.tokens.length));
  const tokens = new Int32Array(examples.length * nTokens).fill(pad);
  const rows: number[] = [];
  const targets: number[] = [];
  let realTokens = 0;
  examples.forEach((e, s) => {
    tokens.set(e.tokens, s * nTokens);
    realTokens += e.tokens.length;
    for (let t = Math.max(0, e.completionStart - 1); t + 1 < e.tokens.length; t++) {
      rows.push(s * nTokens + t);
      targets.push(e.tokens[t + 1]!);
    }
  });
  return { nSeq: examples.length, nTokens, tokens, rows: Int32Array.from(rows), targets: Int32Array.from(targets), realTokens };
}

const WHY: Record<string, string> = {
  EEXIST: 'a file stands where the folder should be',
  ENOTDIR: 'a file stands where a folder should be',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'the disk is full',
};

const OUT_REF = { field: 'out', what: 'The adapter file' };

/**
 * The native writer puts `<path>.tmp` next to its target and renames it: a FIFO left at that name would block its
 * open forever. So it writes into a new private folder beside the output (nothing else is in it), and the finished
 * file is then placed at the output (files.ts placeFile: refused if a non-regular file took the name meanwhile).
 */
async function saveAdapter(adapter: LoraAdapter, outPath: string): Promise<void> {
  const out = resolve(outPath);
  mkdirSync(dirname(out), { recursive: true });
  const staging = await mkdtemp(join(dirname(out), `.${basename(out)}.`));
  try {
    const written = join(staging, basename(out));
    await adapter.save(written);
    await placeFile(written, out, OUT_REF);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Fails early if `dir` could not be created or written; creates nothing (a refused run leaves no trace). */
function checkWritable(dir: string, what: 'output folder' | 'checkpoint folder'): void {
  let existing = dir;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  let code = '';
  if (!statSync(existing).isDirectory()) code = 'ENOTDIR';
  else {
    try {
      accessSync(existing, constants.W_OK);
    } catch (error) {
      code = (error as NodeJS.ErrnoException).code ?? 'EACCES';
    }
  }
  if (code) {
    throw new AppError('invalid_arguments', `cannot write to the ${what} ${dir}: ${WHY[code] ?? code}`, {
      field: what === 'output folder' ? 'out' : 'checkpointDir',
    });
  }
}
