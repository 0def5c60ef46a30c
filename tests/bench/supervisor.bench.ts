import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import type { Llama } from 'node-llama-cpp';
import { readExamplesFile } from '../../electron/core/datasets/readFile';
import { ExampleRenderer, fitToLength } from '../../electron/core/prompts/render';
import { byKind, loadPromptTemplates } from '../../electron/core/prompts/templates';
import { createCore } from '../../electron/core/services';
import type { Core } from '../../electron/core/services';
import { DEFAULT_TRAINER_ENTRY } from '../../electron/core/training/supervisor';
import { startHeadlessHost } from '../../electron/headless/host';
import { finetune } from '../../electron/trainer/engine';
import { Trainer } from '../../native/index';
import type { Job } from '../../shared/contract/training';
import type { PromptTemplates } from '../../shared/prompts';
import type { TrainingConfig, TrainingConfigInput } from '../../shared/training/config';
import type { PromptCompletion } from '../../shared/training/examples';
import { generatedLine } from '../helpers/datasets';
import { makeTempDir } from '../helpers/tempDir';
import { writeTinyModel } from '../helpers/tinyModel';
import { MEMORISE } from '../helpers/training';
import { clientOver, openSocket } from '../helpers/wsClient';
import { percentile } from './figures';
import type { BenchSuite } from './figures';

/** 12 examples of about 80 tokens, 4 a step: 3 steps an epoch, 12 steps (a checkpoint at step 10, as the supervisor sets). */
const THROUGHPUT_EXAMPLES = Array.from({ length: 12 }, (_, i) => JSON.parse(generatedLine(i)) as PromptCompletion);
const THROUGHPUT_CONFIG: TrainingConfigInput = { epochs: 4, batchSize: 4, rank: 8, alpha: 16, valSplit: 0 };
/** MEMORISE one example a step: 3 steps an epoch, 300 progress events. */
const LATENCY_STEPS = 300;
const LATENCY_CONFIG: TrainingConfigInput = { epochs: Math.ceil(LATENCY_STEPS / 3), batchSize: 1, rank: 4, alpha: 8, targets: ['attn_q', 'attn_v'], valSplit: 0, threads: 1 };

/**
 * The training supervisor's cost. (a) Tokens per second of one job run through the supervisor in a trainer
 * child process, and of `finetune` in this process on the same tiny model, data, configuration (the job's
 * own, read back) and threads: all tokens of the run over the time from the loop's start to its last step's
 * end, as the engine measures it in both, on half the cores. Each is run twice, alternating, keeping the faster. (b) From a
 * step's end in the trainer to its `training.progress` event arriving in a client of the headless WebSocket
 * host (in this process): the trainer child is the real one behind a shim that notes process.hrtime when
 * each progress message is sent, the client notes it on arrival (both the system's monotonic clock).
 */
export const supervisorSuite: BenchSuite = {
  name: 'supervisor',
  async run(record) {
    const llama = await getLlama({ gpu: 'auto', build: 'never', logLevel: LlamaLogLevel.error });
    const trainer = Trainer.forLlama(llama);
    const dir = makeTempDir('architect-bench-supervisor-');
    try {
      const modelPath = join(dir.path, 'tiny-f32.gguf');
      writeTinyModel(modelPath, { type: 'f32' }, (type, values, row) => trainer.quantize(type, values, row));
      await throughput(llama, dir.path, modelPath, record);
      await latency(dir.path, modelPath, record);
    } finally {
      dir.remove();
      await llama.dispose();
    }
  },
};

type Recorder = Parameters<BenchSuite['run']>[0];

async function throughput(llama: Llama, root: string, modelPath: string, record: Recorder): Promise<void> {
  // Half the cores: the parent process (and whatever else runs) keeps the rest. With more threads than free
  // cores ggml's barrier spins, and both figures measure the contention rather than the supervisor.
  const threads = Math.max(1, Math.floor(availableParallelism() / 2));
  const dataDir = join(root, 'throughput');
  const core = await createCore({ dataDir, runJobs: true, supervisor: { pollMs: 50, jobDefaults: { threads } } });
  try {
    const modelId = (await core.services.models.import({ path: modelPath })).id;
    const datasetId = await importDataset(core, 'generated', THROUGHPUT_EXAMPLES);
    const templates = byKind(await loadPromptTemplates(dataDir));
    let job: Job | undefined;
    let config: TrainingConfig | undefined;
    let examples: PromptCompletion[] = [];
    let tokens = 0;
    let child = { tokensPerSecond: 0, wallMs: Infinity };
    let inProcess = { tokensPerSecond: 0, wallMs: Infinity };
    for (let round = 0; round < 2; round++) {
      const started = performance.now();
      job = await runJob(core, { modelId, datasetId, config: THROUGHPUT_CONFIG });
      const wallMs = performance.now() - started;
      if (job.status !== 'succeeded') throw new Error(`the bench job ${job.status}: ${job.message ?? ''}\n${job.logTail.join('\n')}`);
      if (!config) {
        // What the trainer child was given: the job's configuration as the supervisor completed it, its data file.
        config = job.config!;
        examples = readExamplesFile(join(dataDir, 'jobs', String(job.id), 'examples.jsonl')).examples;
        tokens = config.epochs * (await tokensPerEpoch(llama, modelPath, examples, templates, config.maxLength));
      }
      child = faster(child, { tokensPerSecond: tokens / (job.progress!.elapsedMs / 1000), wallMs });

      const out = join(root, `in-process-${round}.gguf`);
      let elapsedMs = 0;
      const inStarted = performance.now();
      await finetune(llama, { modelPath, examples, templates, outPath: out, config }, { onProgress: (p) => (elapsedMs = p.elapsedMs) });
      inProcess = faster(inProcess, { tokensPerSecond: tokens / (elapsedMs / 1000), wallMs: performance.now() - inStarted });
    }
    const steps = job!.progress!.totalSteps;
    const setting = `${steps} steps of ${config!.batchSize} × ~${Math.round(tokens / config!.epochs / examples.length)} tokens, ${threads} threads, tiny f32 model`;
    record({ name: 'supervisor.job.tokens_per_s', value: child.tokensPerSecond, unit: 'tok/s', note: `through the supervisor, trainer child process; ${setting}` });
    record({ name: 'supervisor.in_process.tokens_per_s', value: inProcess.tokensPerSecond, unit: 'tok/s', note: 'finetune in this process, same model, data, config' });
    record({ name: 'supervisor.tokens_per_s_ratio', value: child.tokensPerSecond / inProcess.tokensPerSecond, unit: '×', note: 'child / in process; target ≥ 0.97' });
    record({ name: 'supervisor.job.extra_wall', value: child.wallMs - inProcess.wallMs, unit: 'ms', note: 'whole job minus whole finetune call: queue, spawn, ready, data files, version' });
  } finally {
    await core.dispose();
  }
}

async function latency(root: string, modelPath: string, record: Recorder): Promise<void> {
  const stamps = join(root, 'sent.txt');
  const shim = join(root, 'timed-trainer.mjs');
  writeFileSync(shim, timingShim(stamps));
  const dataDir = join(root, 'latency');
  const staticDir = join(root, 'static');
  mkdirSync(staticDir);
  const core = await createCore({ dataDir, runJobs: true, supervisor: { pollMs: 50, trainerEntry: shim } });
  const host = await startHeadlessHost({ rpc: core.rpc, staticDir });
  const socket = await openSocket(`ws://127.0.0.1:${host.port}/rpc?token=${host.token}`);
  try {
    const client = clientOver(socket);
    const arrived = new Map<number, bigint>();
    client.on('training.progress', ({ progress }) => void arrived.set(progress.step, process.hrtime.bigint()));
    await client.api.training.jobs({}); // the subscription is in place once a later call is answered
    const modelId = (await core.services.models.import({ path: modelPath })).id;
    const datasetId = await importDataset(core, 'memorise', MEMORISE);
    const job = await runJob(core, { modelId, datasetId, config: LATENCY_CONFIG });
    if (job.status !== 'succeeded') throw new Error(`the bench job ${job.status}: ${job.message ?? ''}`);
    await until(() => arrived.size >= job.progress!.totalSteps);
    const ms = readFileSync(stamps, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' '))
      .map(([step, sent]) => Number(arrived.get(Number(step))! - BigInt(sent!)) / 1e6);
    const note = `step end in the trainer child → event in a WebSocket client of the headless host; ${ms.length} steps, process.hrtime both sides`;
    record({ name: 'supervisor.progress_latency.p50', value: percentile(ms, 50), unit: 'ms', note });
    record({ name: 'supervisor.progress_latency.p99', value: percentile(ms, 99), unit: 'ms', note: 'includes the IPC hop, validation, SQLite insert, RPC emit, loopback WebSocket' });
  } finally {
    socket.close();
    await host.close();
    await core.dispose();
  }
}

/** The real trainer entry, with process.send wrapped to note when each progress message leaves (written at exit). */
function timingShim(stampsFile: string): string {
  return `import { writeFileSync } from 'node:fs';
const sent = [];
const send = process.send.bind(process);
process.send = (message, ...rest) => {
  if (message && message.type === 'progress') sent.push(message.progress.step + ' ' + process.hrtime.bigint());
  return send(message, ...rest);
};
process.on('exit', () => writeFileSync(${JSON.stringify(stampsFile)}, sent.join('\\n') + '\\n'));
await import(${JSON.stringify(pathToFileURL(DEFAULT_TRAINER_ENTRY).href)});
`;
}

const faster = <T extends { tokensPerSecond: number }>(a: T, b: T) => (a.tokensPerSecond >= b.tokensPerSecond ? a : b);

/** The tokens the engine trains on in one epoch: every example rendered and cut as it does. */
async function tokensPerEpoch(llama: Llama, modelPath: string, examples: PromptCompletion[], templates: PromptTemplates, maxLength: number): Promise<number> {
  const vocab = await llama.loadModel({ modelPath, vocabOnly: true });
  try {
    const renderer = new ExampleRenderer(vocab, templates);
    const fitted = fitToLength(examples.map((e) => renderer.render(e)), maxLength);
    return fitted.examples.reduce((n, e) => n + e.tokens.length, 0);
  } finally {
    await vocab.dispose();
  }
}

async function importDataset(core: Core, name: string, lines: readonly object[]): Promise<number> {
  const api = core.connect().api;
  const bytes = Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const { uploadId } = await api.datasets.beginUpload({ fileName: `${name}.jsonl`, size: bytes.length });
  await api.datasets.uploadChunk({ uploadId, offset: 0, data: bytes.toString('base64') });
  const outcome = await api.datasets.importUpload({ uploadId, name, validationShare: 0 });
  if (outcome.status === 'refused') throw new Error(outcome.reason);
  return outcome.dataset.id;
}

/** Queues a job and waits until it has ended. */
async function runJob(core: Core, args: { modelId: number; datasetId: number; config: TrainingConfigInput }): Promise<Job> {
  const { id } = await core.connect().api.training.start(args);
  let job = core.services.supervisor.get(id);
  await until(() => ['succeeded', 'failed', 'cancelled', 'paused'].includes((job = core.services.supervisor.get(id)).status), 300_000, 100);
  return job;
}

/** Polls `condition` every `everyMs` (the job's own polls stay light beside the run measured). */
async function until(condition: () => boolean, timeoutMs = 60_000, everyMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('the bench timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
