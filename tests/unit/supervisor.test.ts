// The training supervisor with real trainer child processes (forked Node running out/workers/trainer.js)
// on a tiny generated model: manual jobs, adaptive jobs from feedback, crashes, pause across a restart.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Trainer } from '../../native/index';
import { createCore } from '../../electron/core/services';
import type { Core } from '../../electron/core/services';
import type { Job } from '../../shared/contract/training';
import { datasetWorker } from '../helpers/datasets';
import { FIXTURES, fixtureFolder } from '../helpers/fixtures';
import { testLlama } from '../helpers/llamaReference';
import { makeTempDir } from '../helpers/tempDir';
import { adapterTensors, MEMORISE, maxTensorDiff } from '../helpers/training';

let trainer: Trainer;
let fixtures: ReturnType<typeof fixtureFolder>;
let modelPath: string;

// One thread and a fast poll: CI has two cores and runs test files side by side.
const SUPERVISOR = {
  pollMs: 50,
  jobDefaults: { threads: 1 },
  adaptiveConfig: { epochs: 1, batchSize: 8, rank: 4, alpha: 8, targets: ['attn_q' as const, 'attn_v' as const], maxLength: 160, learningRate: 1e-3, threads: 1 },
  gate: { prompts: 2, maxTokens: 24 },
};

beforeAll(async () => {
  trainer = Trainer.forLlama(await testLlama());
  fixtures = fixtureFolder((type, values, row) => trainer.quantize(type, values, row));
  modelPath = fixtures.model('f32', FIXTURES.f32).path;
  if (!existsSync(TRAINER)) throw new Error('The trainer is not built: run `npm run build` (npm test does).');
});
afterAll(() => fixtures?.remove());

const TRAINER = fileURLToPath(new URL('../../out/workers/trainer.js', import.meta.url));

async function startCore(dataDir: string): Promise<Core> {
  return createCore({ dataDir, runJobs: true, datasetWorkerFile: await datasetWorker(), supervisor: { ...SUPERVISOR, trainerEntry: TRAINER } });
}

/** A stored dataset from lines, through the same upload and import the UI uses. */
async function importDataset(core: Core, name: string, lines: object[]): Promise<number> {
  const api = core.connect().api;
  const text = lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
  const bytes = Buffer.from(text);
  const { uploadId } = await api.datasets.beginUpload({ fileName: `${name}.jsonl`, size: bytes.length });
  await api.datasets.uploadChunk({ uploadId, offset: 0, data: bytes.toString('base64') });
  const outcome = await api.datasets.importUpload({ uploadId, name, validationShare: 0 });
  if (outcome.status === 'refused') throw new Error(outcome.reason);
  return outcome.dataset.id;
}

async function until(core: Core, id: number, done: (job: Job) => boolean, timeoutMs = 120_000): Promise<Job> {
  const started = Date.now();
  for (;;) {
    const job = core.services.supervisor.get(id);
    if (done(job)) return job;
    if (Date.now() - started > timeoutMs) throw new Error(`job ${id} is still ${job.status} after ${timeoutMs} ms: ${job.message ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const ended = (job: Job) => ['succeeded', 'failed', 'cancelled', 'paused'].includes(job.status);

describe('the training supervisor', () => {
  it('runs a manual job in a child process to v1, then 50 👍 make one adaptive job that runs by itself to v2 on top of v1', async () => {
    const dir = makeTempDir('architect-supervisor-');
    const core = await startCore(dir.path);
    try {
      const modelId = (await core.services.models.import({ path: modelPath })).id;
      const datasetId = await importDataset(core, 'memorise', MEMORISE);
      const events: string[] = [];
      const client = core.connect();
      client.on('training.changed', (job) => events.push(`${job.id}:${job.status}`));
      let progressEvents = 0;
      client.on('training.progress', () => progressEvents++);
      const queued = await client.api.training.start({ modelId, datasetId, config: { epochs: 3, batchSize: 3, rank: 4, alpha: 8, valSplit: 0 } });
      expect(queued.status).toBe('queued');
      const v1 = await until(core, queued.id, ended);
      expect(v1.status, v1.message ?? '').toBe('succeeded');
      expect(v1.version).toMatchObject({ number: 1 });
      expect(progressEvents).toBe(3);
      expect(core.services.supervisor.get(queued.id).history.map((p) => p.step)).toEqual([1, 2, 3]);
      expect(events).toEqual(expect.arrayContaining([`${queued.id}:running`, `${queued.id}:succeeded`]));
      const manifest = JSON.parse(readFileSync(join(v1.version!.dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
      expect(manifest).toMatchObject({ version: 1, parent: null, jobId: queued.id, jobType: 'manual', base: { path: modelPath } });
      expect(existsSync(v1.version!.adapterPath)).toBe(true);

      // The learning loop: 50 eligible examples make exactly one batch and one adaptive job.
      for (let i = 0; i < 50; i++) {
        const { artifact } = await client.api.artifacts.add({ kind: 'erd', prompt: `Entities for shop ${i}`, output: `erDiagram\n  SHOP${i} ||--o{ ORDER : takes`, validate: false });
        await client.api.feedback.record({ artifactId: artifact.id, type: 'explicit_positive' });
      }
      const adaptive = core.services.supervisor.list().jobs.filter((j) => j.type === 'adaptive');
      expect(adaptive).toHaveLength(1);
      const v2 = await until(core, adaptive[0]!.id, ended);
      expect(v2.status, `${v2.message ?? ''}\n${v2.logTail.join('\n')}`).toBe('succeeded');
      expect(v2.version).toMatchObject({ number: 2 });
      expect(JSON.parse(readFileSync(join(v2.version!.dir, 'manifest.json'), 'utf8'))).toMatchObject({ version: 2, parent: 1, jobType: 'adaptive' });
      expect((await client.api.learning.status({})).jobs).toMatchObject({ succeeded: 1, queued: 0, running: 0 });
    } finally {
      await core.dispose();
      dir.remove();
    }
  }, 240_000);

  it('a SIGKILLed trainer fails the job with its log while the app answers; resume completes it from the checkpoint', async () => {
    const dir = makeTempDir('architect-supervisor-kill-');
    const core = await startCore(dir.path);
    try {
      const modelId = (await core.services.models.import({ path: modelPath })).id;
      const datasetId = await importDataset(core, 'memorise', MEMORISE);
      const api = core.connect().api;
      const job = await api.training.start({ modelId, datasetId, config: { epochs: 40, batchSize: 1, rank: 4, alpha: 8, valSplit: 0, checkpointEvery: 5 } });
      await until(core, job.id, (j) => j.checkpoint !== null && (j.progress?.step ?? 0) >= 7);
      process.kill(core.services.supervisor.trainerPid!, 'SIGKILL');
      const failed = await until(core, job.id, ended);
      expect(failed.status).toBe('failed');
      expect(failed.message).toMatch(/stopped unexpectedly \(killed by SIGKILL|SIGKILL/);
      expect(failed.message).toMatch(/resume continues from there/);
      expect(failed.logTail.length).toBeGreaterThan(0);
      // The app keeps serving.
      expect((await api.learning.status({})).settings.batchSize).toBe(50);
      await api.training.resume({ id: job.id });
      const done = await until(core, job.id, ended);
      expect(done.status, done.message ?? '').toBe('succeeded');
      expect(done.progress?.step).toBe(120);
    } finally {
      await core.dispose();
      dir.remove();
    }
  }, 240_000);

  it('pause, a restart of the host, resume: the same adapter as an uninterrupted run (to 1e-5)', async () => {
    const dir = makeTempDir('architect-supervisor-pause-');
    const config = { epochs: 8, batchSize: 1, rank: 4, alpha: 8, valSplit: 0, checkpointEvery: 0, dropout: 0.1 };
    let core = await startCore(dir.path);
    let modelId: number;
    let datasetId: number;
    let straight: Job;
    let paused: Job;
    try {
      modelId = (await core.services.models.import({ path: modelPath })).id;
      datasetId = await importDataset(core, 'memorise', MEMORISE);
      const api = core.connect().api;
      straight = await until(core, (await api.training.start({ modelId, datasetId, config })).id, ended);
      expect(straight.status).toBe('succeeded');
      const second = await api.training.start({ modelId, datasetId, config });
      await until(core, second.id, (j) => (j.progress?.step ?? 0) >= 5);
      paused = await api.training.pause({ id: second.id });
      expect(paused.status).toBe('paused');
      expect(paused.checkpoint).not.toBeNull();
    } finally {
      await core.dispose();
    }
    core = await startCore(dir.path);
    try {
      const api = core.connect().api;
      expect((await api.training.job({ id: paused.id })).status).toBe('paused');
      await api.training.resume({ id: paused.id });
      const resumed = await until(core, paused.id, ended);
      expect(resumed.status, resumed.message ?? '').toBe('succeeded');
      const a = await adapterTensors(trainer, modelPath, straight.version!.adapterPath);
      const b = await adapterTensors(trainer, modelPath, resumed.version!.adapterPath);
      expect(maxTensorDiff(a, b)).toBeLessThan(1e-5);
    } finally {
      await core.dispose();
      dir.remove();
    }
  }, 240_000);

  it('refuses bad jobs with a clear error and stores nothing', async () => {
    const dir = makeTempDir('architect-supervisor-bad-');
    const core = await startCore(dir.path);
    try {
      const api = core.connect().api;
      const modelId = (await core.services.models.import({ path: modelPath })).id;
      const datasetId = await importDataset(core, 'memorise', MEMORISE);
      const refused = (args: unknown) => api.training.start(args as never).then(() => undefined, (e: { code: string; field?: string; message: string }) => e);
      expect(await refused({ modelId, datasetId, config: { rank: 0 } })).toMatchObject({ code: 'invalid_arguments', field: 'args.config.rank' });
      expect(await refused({ modelId, datasetId, config: { learningRate: -1 } })).toMatchObject({ code: 'invalid_arguments', field: 'args.config.learningRate' });
      expect(await refused({ modelId, datasetId, config: { batchSize: 0 } })).toMatchObject({ field: 'args.config.batchSize' });
      expect(await refused({ modelId: 999, datasetId })).toMatchObject({ code: 'not_found', field: 'args.modelId' });
      expect(await refused({ modelId, datasetId: 999 })).toMatchObject({ code: 'not_found', field: 'args.datasetId' });
      expect((await api.training.jobs({})).jobs).toHaveLength(0);
      // A resume whose checkpoint was deleted.
      const job = await api.training.start({ modelId, datasetId, config: { epochs: 30, batchSize: 1, rank: 4, alpha: 8, valSplit: 0 } });
      await until(core, job.id, (j) => (j.progress?.step ?? 0) >= 2);
      const paused = await api.training.pause({ id: job.id });
      const { rmSync } = await import('node:fs');
      rmSync(paused.checkpoint!, { recursive: true, force: true });
      expect(await api.training.resume({ id: job.id }).then(() => undefined, (e: { code: string; message: string }) => e)).toMatchObject({ code: 'not_found', message: expect.stringMatching(/checkpoint .* was deleted/) });
    } finally {
      await core.dispose();
      dir.remove();
    }
  }, 240_000);
});
