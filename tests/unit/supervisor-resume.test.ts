// Resuming a paused job through the supervisor and a real trainer child, when its checkpoint no longer fits
// the job: the base model file replaced by another of the same size, a checkpoint of another base swapped in,
// the checkpoint deleted or left without its adapter. Each is refused with an error naming what differs, and
// nothing of the job is written.
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../electron/core/services';
import { Trainer } from '../../native/index';
import type { Job } from '../../shared/contract/training';
import { FIXTURES, fixtureFolder } from '../helpers/fixtures';
import { testLlama } from '../helpers/llamaReference';
import { ended, importDataset, requireTrainer, startJobCore, untilJob } from '../helpers/supervisorCore';
import { makeTempDir } from '../helpers/tempDir';
import { MEMORISE } from '../helpers/training';

// 3 examples, one a step: 30 steps, so a pause after step 2 finds it mid-run.
const CONFIG = { epochs: 10, batchSize: 1, rank: 4, alpha: 8, targets: ['attn_q' as const, 'attn_v' as const], valSplit: 0 };

let fixtures: ReturnType<typeof fixtureFolder>;
let dir: ReturnType<typeof makeTempDir>;
let core: Core;
let datasetId: number;
/** Two bases of one size and header that differ in their weights only (seeds 1 and 2). */
let base: { path: string; id: number };
let twin: { path: string; id: number };

beforeAll(async () => {
  requireTrainer();
  const trainer = Trainer.forLlama(await testLlama());
  fixtures = fixtureFolder((type, values, row) => trainer.quantize(type, values, row));
  dir = makeTempDir('architect-supervisor-resume-');
  core = await startJobCore(dir.path);
  const importModel = async (path: string) => ({ path, id: (await core.services.models.import({ path })).id });
  base = await importModel(fixtures.model('f32', FIXTURES.f32).path);
  twin = await importModel(fixtures.model('f32-seed-2', { ...FIXTURES.f32, seed: 2 }).path);
  expect(statSync(twin.path).size).toBe(statSync(base.path).size);
  datasetId = await importDataset(core, 'memorise', MEMORISE);
}, 120_000);
afterAll(async () => {
  await core?.dispose();
  dir?.remove();
  fixtures?.remove();
});

/** A job on `modelId`, paused after its second step or later: it has a checkpoint. */
async function pausedJob(modelId: number): Promise<Job> {
  const api = core.connect().api;
  const job = await api.training.start({ modelId, datasetId, config: CONFIG });
  await untilJob(core, job.id, (j) => (j.progress?.step ?? 0) >= 2);
  const paused = await api.training.pause({ id: job.id });
  expect(paused.status).toBe('paused');
  expect(paused.checkpoint).not.toBeNull();
  return paused;
}

/** Every file in the job's folder, with a hash of its contents. */
function snapshot(job: Job): Record<string, string> {
  const root = join(dir.path, 'jobs', String(job.id));
  const files: Record<string, string> = {};
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else files[relative(root, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(root);
  return files;
}

/** Resumes the job and waits for its trainer's verdict. */
async function resumed(job: Job): Promise<Job> {
  await core.connect().api.training.resume({ id: job.id });
  return untilJob(core, job.id, ended);
}

describe('resuming a job from a checkpoint that does not fit it', () => {
  it('refuses a base file replaced by another of the same size, naming it, and writes nothing; the right file back, it resumes', async () => {
    const replaced = join(fixtures.dir, 'replaced.gguf');
    copyFileSync(base.path, replaced);
    const model = (await core.services.models.import({ path: replaced })).id;
    const paused = await pausedJob(model);
    const before = snapshot(paused);
    copyFileSync(twin.path, replaced); // same size, same header: only the weights differ

    const refused = await resumed(paused);
    expect(refused.status).toBe('failed');
    expect(refused.message).toBe(
      `${paused.checkpoint}: this checkpoint was made with another model: it was trained on ${replaced} (${statSync(replaced).size} bytes), ` +
        `and that file has changed since (now ${statSync(replaced).size} bytes, other contents). Resume with the model it was trained on, or start again.`,
    );
    expect(refused.checkpoint).toBe(paused.checkpoint);
    expect(refused.version).toBeNull();
    expect(snapshot(refused)).toEqual(before);

    copyFileSync(base.path, replaced);
    const done = await resumed(refused);
    expect(done.status, done.message ?? '').toBe('succeeded');
  }, 240_000);

  it('refuses a checkpoint of another base swapped into the job, naming both models', async () => {
    const paused = await pausedJob(base.id);
    const other = await pausedJob(twin.id);
    rmSync(paused.checkpoint!, { recursive: true });
    cpSync(other.checkpoint!, paused.checkpoint!, { recursive: true }); // a restore from the wrong backup
    const before = snapshot(paused);

    const refused = await resumed(paused);
    expect(refused.status).toBe('failed');
    const bytes = statSync(base.path).size;
    expect(refused.message).toBe(
      `${paused.checkpoint}: this checkpoint was made with another model: it was trained on ${twin.path} (${bytes} bytes); ` +
        `this run's model is ${base.path} (${bytes} bytes, other contents). Resume with the model it was trained on, or start again.`,
    );
    expect(snapshot(refused)).toEqual(before);
    expect(existsSync(join(dir.path, 'jobs', String(paused.id), 'adapter.gguf'))).toBe(false);
    await core.connect().api.training.cancel({ id: other.id });
  }, 240_000);

  it('resumes a checkpoint written before fingerprints were kept (its base compared by size)', async () => {
    const paused = await pausedJob(base.id);
    const file = join(paused.checkpoint!, 'state.json');
    const state = JSON.parse(readFileSync(file, 'utf8')) as { model: { path: string; bytes: number; fingerprint?: string } };
    expect(state.model).toEqual({ path: base.path, bytes: statSync(base.path).size, fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    delete state.model.fingerprint;
    writeFileSync(file, JSON.stringify(state));
    const done = await resumed(paused);
    expect(done.status, done.message ?? '').toBe('succeeded');
  }, 240_000);

  it('refuses at once a resume whose checkpoint was deleted, and leaves the job as it was', async () => {
    const paused = await pausedJob(base.id);
    rmSync(paused.checkpoint!, { recursive: true });
    const api = core.connect().api;
    const error = await api.training.resume({ id: paused.id }).then(() => undefined, (e: { code: string; message: string }) => e);
    expect(error).toMatchObject({ code: 'not_found', message: `Job ${paused.id}'s checkpoint ${paused.checkpoint} was deleted; its work is lost. Start the job again.` });
    expect(await api.training.job({ id: paused.id })).toMatchObject({ status: 'paused', message: paused.message, checkpoint: paused.checkpoint });
  }, 240_000);

  it('fails a resume whose checkpoint lost its adapter file, naming what is missing, and writes nothing', async () => {
    const paused = await pausedJob(base.id);
    rmSync(join(paused.checkpoint!, 'adapter.gguf'));
    const before = snapshot(paused);
    const refused = await resumed(paused);
    expect(refused.status).toBe('failed');
    expect(refused.message).toBe(`${paused.checkpoint}: an incomplete checkpoint (adapter.gguf missing); resume from an earlier one`);
    expect(snapshot(refused)).toEqual(before);
  }, 240_000);
});
