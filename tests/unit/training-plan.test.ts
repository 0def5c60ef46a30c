// The training planner (electron/core/training/plan.ts) over the real core: the store, the model registry with a
// catalog model downloaded in two files from a local server, and jobs with their progress rows. The machine is a
// stated one (CoreOptions.hardware): a CPU with so much RAM, or a GPU with so much free VRAM.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore } from '../../electron/core/services';
import type { Core } from '../../electron/core/services';
import { loadCatalog } from '../../electron/core/models/catalog';
import { ModelService } from '../../electron/core/models/service';
import { TrainingPlanner } from '../../electron/core/training/plan';
import type { InstalledModel } from '../../shared/contract/models';
import { HardwareInfo } from '../../shared/contract/system';
import { PresetsResult } from '../../shared/contract/training';
import type { JobProgress } from '../../shared/contract/training';
import { AppError } from '../../shared/errors';
import { estimateMemory, RAM_RESERVE_BYTES } from '../../shared/models/memory';
import { TrainingConfig } from '../../shared/training/config';
import { checkFits, MARGIN } from '../../shared/training/presets';
import { datasetWorker } from '../helpers/datasets';
import { startModelServer, writeServedModel } from '../helpers/modelServer';
import type { ModelServer } from '../helpers/modelServer';
import { makeTempDir } from '../helpers/tempDir';
import { writeTinyModel } from '../helpers/tinyModel';

let dir: ReturnType<typeof makeTempDir>;
let server: ModelServer;
let core: Core;
let models: ModelService;
let planner: TrainingPlanner;
let q4: InstalledModel;
let f16: InstalledModel;
/** A larger model standing for the loaded generation model. */
let generation: InstalledModel;
let datasetId: number;

/** The machine the planner sees; each test states its own. */
let machine: HardwareInfo;

function stated(o: { ramBytes: number; vram?: { freeBytes: number; usedBytes: number } }): HardwareInfo {
  const gpu = o.vram ? { ...o.vram, totalBytes: o.vram.freeBytes + o.vram.usedBytes } : null;
  return HardwareInfo.parse({
    cpu: { model: 'Test CPU', physicalCores: 2, logicalCores: 2 },
    memory: { totalBytes: o.ramBytes, freeBytes: o.ramBytes / 2 },
    disk: { path: dir.path, totalBytes: 1e12, freeBytes: 5e11 },
    gpus: gpu ? [{ vendor: 'NVIDIA', model: 'Test GPU', vramTotalBytes: gpu.totalBytes, vramUsedBytes: gpu.usedBytes, driver: null }] : [],
    compute: gpu ? { backend: 'cuda', deviceNames: ['Test GPU'], vram: gpu } : { backend: 'cpu', deviceNames: [], vram: null },
    os: { platform: 'linux', release: 'test', arch: 'x64' },
    probedAt: new Date().toISOString(),
  });
}
const cpu = (ramBytes: number) => stated({ ramBytes });
const gpu = (freeBytes: number, usedBytes = 1e9) => stated({ ramBytes: 16e9, vram: { freeBytes, usedBytes } });

const config = (patch: Partial<TrainingConfig> = {}) => TrainingConfig.parse(patch);

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

beforeAll(async () => {
  dir = makeTempDir('architect-plan-');
  const q4File = writeServedModel(dir.path, 'tiny-q4.gguf', { seed: 1 });
  const f16File = writeServedModel(dir.path, 'tiny-f16.gguf', { seed: 2 });
  server = await startModelServer({ 'tiny-q4.gguf': q4File.path, 'tiny-f16.gguf': f16File.path });
  // One catalog model in two files (the quant and bits are the catalog's word; the files are tiny F32 llamas).
  const catalogFile = join(dir.path, 'catalog.json');
  const entry = {
    ...loadCatalog()[0]!,
    id: 'tiny-llama',
    name: 'Tiny Llama',
    default: true,
    files: [
      { quant: 'Q4_K_M', bits: 4, sizeBytes: q4File.size, uri: `${server.url}/files/tiny-q4.gguf` },
      { quant: 'F16', bits: 16, sizeBytes: f16File.size, uri: `${server.url}/files/tiny-f16.gguf` },
    ],
  };
  writeFileSync(catalogFile, JSON.stringify({ models: [entry] }));
  machine = cpu(16e9);
  const hardware = async () => machine;
  core = await createCore({ dataDir: join(dir.path, 'data'), hardware, datasetWorkerFile: await datasetWorker() });
  models = new ModelService({ store: core.services.store, clock: () => new Date(), dataDir: core.dataDir, hardware, onDownload: () => undefined, onChanged: () => undefined, catalogFile });
  planner = new TrainingPlanner({ models, hardware, store: core.services.store });
  const install = async (quant: string) => models.get((await models.waitForDownload((await models.download({ catalogId: 'tiny-llama', quant })).id)).modelId!);
  q4 = await install('Q4_K_M');
  f16 = await install('F16');
  generation = await models.import({ path: writeServedModel(dir.path, 'generation.gguf', { nEmbd: 512, nFf: 1024, seed: 4 }).path });
  // A dataset for the jobs' rows, through the upload and import the UI uses.
  const api = core.connect().api;
  const bytes = Buffer.from(`${JSON.stringify({ prompt: 'Draw A', completion: 'erDiagram\n  A ||--o{ B : has' })}\n`);
  const { uploadId } = await api.datasets.beginUpload({ fileName: 'one.jsonl', size: bytes.length });
  await api.datasets.uploadChunk({ uploadId, offset: 0, data: bytes.toString('base64') });
  const outcome = await api.datasets.importUpload({ uploadId, name: 'one', validationShare: 0 });
  if (outcome.status === 'refused') throw new Error(outcome.reason);
  datasetId = outcome.dataset.id;
}, 120_000);

afterAll(async () => {
  await models?.dispose();
  await core?.dispose();
  await server?.close();
  dir?.remove();
});

let clock = Date.parse('2026-01-01T00:00:00Z');
const at = () => new Date((clock += 1000)).toISOString();

/** A job on `modelId` as the supervisor records one: its steps at these tokens/s, then its end (or a pause: not finished). */
function recordJob(modelId: number, rates: number[], end: 'succeeded' | 'cancelled' | 'paused', patch: Partial<TrainingConfig> = {}): number {
  const { jobs } = core.services.store;
  const id = jobs.insertManual({ modelId, datasetId, config: config(patch), now: at() });
  jobs.update(id, { status: 'running', ownerPid: process.pid, startedAt: at() }, at());
  rates.forEach((tokensPerSecond, step) => {
    const progress: JobProgress = {
      step: step + 1,
      totalSteps: rates.length,
      epoch: 0,
      trainLoss: 2,
      validationLoss: null,
      learningRate: 2e-4,
      tokensPerSecond,
      elapsedMs: 1000 * step,
      etaMs: 0,
      memoryBytes: 1e8,
      gpu: null,
      at: at(),
    };
    jobs.addProgress(id, progress);
  });
  jobs.update(id, { status: end, ownerPid: null, finishedAt: end === 'paused' ? null : at() }, at());
  return id;
}

describe('TrainingPlanner.presets', () => {
  it('on a CPU: RAM less the reserve, the cpu tier, and no time estimate until a job has run on the model', async () => {
    machine = cpu(16e9);
    const plan = await planner.presets({ modelId: q4.id });
    expect(PresetsResult.parse(plan)).toEqual(plan); // the wire schema carries it whole
    expect(plan).toMatchObject({ device: 'cpu', memorySource: 'ram', memoryBytes: 16e9 - RAM_RESERVE_BYTES, maxLength: 512, measured: null });
    expect(plan.memoryText).toBe('14.5 GB of RAM (16.0 GB less 1.5 GB kept for the system); no GPU backend, so training runs on the CPU');
    expect(plan.model).toMatchObject({ id: q4.id, catalogId: 'tiny-llama', files: [{ quant: 'Q4_K_M', bits: 4, installedModelId: q4.id }, { quant: 'F16', bits: 16, installedModelId: f16.id }] });
    expect(plan.preset).toMatchObject({ name: 'cpu', tier: 'cpu', fits: true, time: null, config: { batchSize: 1, rank: 8, maxLength: 512, gradientCheckpointing: false, base: { quant: 'Q4_K_M' } } });
    expect(plan.preset.summary).toMatch(/^\d+\.\d+ GB of 14\.5: weights /);
    expect(plan.tiers.map((t) => t.tier.name)).toEqual(['cpu']);
    expect(plan.timeNote).toMatch(/appears after the first training job on this model/);
  });

  it('on a CPU: the time at the median tokens/s of the most recently finished job on the model', async () => {
    machine = cpu(16e9);
    const first = recordJob(q4.id, [0, 120, 80, 100, 400], 'succeeded');
    recordJob(q4.id, [1000, 1000], 'paused'); // not finished: not counted
    recordJob(f16.id, [5, 5], 'succeeded'); // another model
    const plan = await planner.presets({ modelId: q4.id });
    // 0 (a step with no tokens timed) is left out: the median of 80, 100, 120, 400.
    expect(plan.measured).toEqual({ jobId: first, tokensPerSecond: 110, steps: 4, gradientCheckpointing: false });
    expect(plan.timeNote).toBeNull();
    expect(plan.preset.time).toMatchObject({ tokens: 50 * 3 * 512, seconds: (50 * 3 * 512) / 110 });
    expect(plan.preset.time!.summary).toBe('about 12 min: 50 examples × 3 epochs × at most 512 tokens at 110 tokens/s');
    // A later cancelled job counts (it finished); it ran with checkpointing, so without it the rate is 1.45× its own.
    const second = recordJob(q4.id, [60, 60, 60], 'cancelled', { gradientCheckpointing: true });
    const again = await planner.presets({ modelId: q4.id });
    expect(again.measured).toEqual({ jobId: second, tokensPerSecond: 60, steps: 3, gradientCheckpointing: true });
    expect(again.preset.time!.summary).toMatch(/ at 87 tokens\/s$/);
    // A stated VRAM is a GPU: no CPU time estimate.
    expect(await planner.presets({ modelId: q4.id, vramGB: 8 })).toMatchObject({ device: 'gpu', memorySource: 'vram-option', measured: null, timeNote: null, preset: { time: null } });
  });

  it('on a GPU: free VRAM, every tier, and the file each asks for among the installed files of the model', async () => {
    machine = gpu(24e9);
    const plan = await planner.presets({ modelId: q4.id });
    expect(plan).toMatchObject({ device: 'gpu', memorySource: 'gpu-free', memoryBytes: 24e9, measured: null, timeNote: null });
    expect(plan.memoryText).toBe('24.0 GB free VRAM on cuda (Test GPU)');
    expect(plan.tiers.map((t) => [t.tier.name, t.fits])).toEqual([['8gb', true], ['12gb', true], ['16gb', true], ['24gb', true]]);
    // The 24gb tier is the 16-bit base: the F16 file, installed as its own model.
    expect(plan.preset).toMatchObject({ name: '24gb', fits: true, config: { batchSize: 8, rank: 32, base: { quant: 'F16', bits: 16 } } });
    expect(plan.model.files.find((f) => f.quant === plan.preset.config.base.quant)!.installedModelId).toBe(f16.id);
    const small = await planner.presets({ modelId: f16.id, vramGB: 8, maxLength: 256 });
    expect(small).toMatchObject({ memorySource: 'vram-option', memoryBytes: 8e9, maxLength: 256, preset: { name: '8gb', config: { batchSize: 1, rank: 8, maxLength: 256, base: { quant: 'Q4_K_M' } } } });
    expect(small.model.files[0]).toMatchObject({ quant: 'F16', installedModelId: f16.id });
  });

  it('refuses what it cannot plan, naming the field', async () => {
    expect(await refusal(planner.presets({ modelId: 999 }))).toMatchObject({ code: 'not_found', field: 'args.modelId' });
    expect(await refusal(planner.presets({ modelId: q4.id, maxLength: 5000 }))).toMatchObject({
      code: 'invalid_arguments',
      field: 'args.maxLength',
      message: "maxLength must be a whole number from 8 to 512 (the model's context), got 5000",
    });
    expect(await refusal(planner.presets({ modelId: q4.id, vramGB: 0 }))).toMatchObject({ code: 'invalid_arguments', field: 'args.vramGB' });
    expect(await refusal(planner.presets({ modelId: q4.id, extra: 1 } as never))).toMatchObject({ code: 'invalid_arguments' });
    const qwenPath = join(dir.path, 'qwen.gguf');
    writeTinyModel(qwenPath, { type: 'f32', nEmbd: 16, nFf: 32, tiedOutput: true, architecture: 'qwen3' }, (_t, d) => new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    const qwen = await models.import({ path: qwenPath });
    expect(await refusal(planner.presets({ modelId: qwen.id }))).toMatchObject({ code: 'invalid_arguments', field: 'args.modelId', message: expect.stringMatching(/cannot be trained/) });
  });
});

/** What the pure estimate says one configuration of the Q4 model needs on a GPU, and the generation model's memory. */
function figures(c: TrainingConfig): { training: number; generation: number } {
  const check = checkFits({ shape: q4.shape!, base: { bits: 4, bytes: q4.sizeBytes, quant: 'Q4_K_M' }, memoryBytes: 1e12, device: 'gpu', batchSize: c.batchSize, rank: c.rank, maxLength: c.maxLength, gradientCheckpointing: c.gradientCheckpointing, targets: c.targets });
  return { training: check.estimate.totalBytes, generation: estimateMemory(generation.sizeBytes, generation.shape).totalBytes };
}
/** The free memory whose usable share (less 10% and 512 MiB) is `usable`. */
const freeFor = (usable: number) => (usable + MARGIN.bytes) / (1 - MARGIN.share);

describe('TrainingPlanner.refusal', () => {
  it('training.start refuses a configuration that does not fit before it is queued, and stores no job', async () => {
    machine = cpu(3e9);
    const api = core.connect().api;
    const before = (await api.training.jobs({})).jobs.length;
    const error = await refusal(api.training.start({ modelId: q4.id, datasetId, config: { batchSize: 64, maxLength: 512 } }));
    expect(error).toMatchObject({ code: 'invalid_arguments', field: 'args.config', message: expect.stringMatching(/does not fit system memory: .* What would make it fit, in this order: 1\. 4-bit base/) });
    expect((await api.training.jobs({})).jobs).toHaveLength(before);
  });

  it('null when the configuration fits, else why with the guide’s remedies in order; the CPU backend is judged on RAM', async () => {
    machine = cpu(3e9);
    expect(await planner.refusal(q4.id, config())).toBeNull();
    const text = await planner.refusal(q4.id, config({ batchSize: 64 }));
    expect(text).toMatch(/^batch 64, rank 8, Q4_K_M \(4-bit\) base, max length 512 does not fit system memory: [\d.]+ GB of 1\.5: weights /);
    expect(text).toMatch(/What would make it fit, in this order: 1\. 4-bit base: already Q4_K_M \(4-bit\); 2\. batch 1 \(batch 64 → 1\): saves [\d.]+ GB, [\d.]+ GB, fits; 3\. shorter max length/);
    // Longer than the model's context is judged as asked (the memory does not depend on the context).
    expect(await planner.refusal(q4.id, config({ maxLength: 2048 }))).toBeNull();

    const { training } = figures(config());
    machine = gpu(freeFor(training) * 0.95);
    expect(await planner.refusal(q4.id, config())).toMatch(/^batch 1, rank 8, Q4_K_M \(4-bit\) base, max length 512 does not fit the GPU: /);
    expect(await planner.refusal(q4.id, config({ backend: 'cpu' }))).toBeNull(); // 16 GB of RAM
    expect(await refusal(planner.refusal(999, config()))).toMatchObject({ code: 'not_found', field: 'args.modelId' });
  });

  it('counts what the loaded generation model holds of the GPU as free: it gives the GPU up for the job', async () => {
    const { training, generation: held } = figures(config());
    // Training fits only with the generation model's memory back.
    machine = gpu(freeFor(training + held / 2) - held, held + 1e8);
    expect(await planner.refusal(q4.id, config())).toMatch(/does not fit the GPU/);
    expect(await planner.refusal(q4.id, config(), generation)).toBeNull();
    // It holds no more than the GPU has in use.
    machine = gpu(freeFor(training + held / 2) - held, held / 10);
    expect(await planner.refusal(q4.id, config(), generation)).toMatch(/does not fit the GPU/);
  });
});

describe('TrainingPlanner.gpuShare', () => {
  it('unloads the generation model when both are more than the GPU has usable, and says why with the numbers', async () => {
    const { training, generation: held } = figures(config());
    machine = gpu(freeFor(training + held / 2) - held, held + 1e8);
    const share = await planner.gpuShare(q4.id, config(), generation, 4);
    expect(share.unload).toBe(true);
    expect(share.message).toMatch(/^Unloaded for training job 4: training needs [\d.]+ GB and the generation model [\d.]+ GB, more than the [\d.]+ GB usable of the GPU's [\d.]+ GB free; it reloads when the job ends\.$/);
    expect((await planner.gpuShare(q4.id, config(), generation)).message).toMatch(/^Unloaded for a training job: /);
    // Room for both: nothing is unloaded.
    machine = gpu(freeFor(training + 2 * held), held + 1e8);
    expect(await planner.gpuShare(q4.id, config(), generation, 4)).toEqual({ unload: false, message: null });
  });

  it('never on a CPU, with the CPU backend, or with no generation model loaded', async () => {
    const { training, generation: held } = figures(config());
    machine = gpu(freeFor(training + held / 2) - held, held + 1e8);
    expect(await planner.gpuShare(q4.id, config(), null, 4)).toEqual({ unload: false, message: null });
    expect(await planner.gpuShare(q4.id, config({ backend: 'cpu' }), generation, 4)).toEqual({ unload: false, message: null });
    machine = cpu(2e9);
    expect(await planner.gpuShare(q4.id, config({ batchSize: 512 }), generation, 4)).toEqual({ unload: false, message: null });
  });
});
