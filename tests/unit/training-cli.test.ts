// `architect train | jobs | pause | resume | cancel | worker` through the real CLI and trainer child processes.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Trainer } from '../../native/index';
import { createCore } from '../../electron/core/services';
import type { Job } from '../../shared/contract/training';
import { REPO, runCli } from '../helpers/cli';
import { datasetWorker } from '../helpers/datasets';
import { FIXTURES, fixtureFolder } from '../helpers/fixtures';
import { testLlama } from '../helpers/llamaReference';
import { makeTempDir } from '../helpers/tempDir';
import { MEMORISE } from '../helpers/training';

let fixtures: ReturnType<typeof fixtureFolder>;
let modelPath: string;
let dataFile: string;
const fast = ['--threads', '1', '--rank', '4', '--alpha', '8', '--batch-size', '3', '--targets', 'attn_q,attn_v'];

beforeAll(async () => {
  const trainer = Trainer.forLlama(await testLlama());
  fixtures = fixtureFolder((type, values, row) => trainer.quantize(type, values, row));
  modelPath = fixtures.model('f32', FIXTURES.f32).path;
  dataFile = join(fixtures.dir, 'memorise.jsonl');
  writeFileSync(dataFile, MEMORISE.map((e) => JSON.stringify(e)).join('\n') + '\n');
});
afterAll(() => fixtures?.remove());

/** A data folder with the tiny model (id 1) and a stored dataset (id 1). */
function prepared(): ReturnType<typeof makeTempDir> {
  const dir = makeTempDir('architect-train-cli-');
  expect(runCli(['models', 'import', modelPath, '--data-dir', dir.path]).status).toBe(0);
  expect(runCli(['import', dataFile, '--name', 'memorise', '--validation-share', '0', '--data-dir', dir.path]).status).toBe(0);
  return dir;
}

describe('architect train and jobs', () => {
  it('trains through the supervisor to v1 with one JSON line per step, and `jobs` lists it', () => {
    const dir = prepared();
    try {
      const run = runCli(['train', '--model', '1', '--dataset', '1', '--epochs', '2', ...fast, '--json', '--data-dir', dir.path]);
      expect(run.status, run.stderr).toBe(0);
      const lines = run.stdout.trim().split('\n');
      const steps = lines.filter((l) => l.startsWith('{"type":"progress"'));
      expect(steps.length).toBeGreaterThan(0);
      const job = JSON.parse(lines.slice(steps.length).join('\n')) as Job;
      expect(job).toMatchObject({ status: 'succeeded', version: { number: 1 } });
      const listed = JSON.parse(runCli(['jobs', '--json', '--data-dir', dir.path]).stdout) as Job[];
      expect(listed.map((j) => [j.id, j.status])).toEqual([[job.id, 'succeeded']]);
    } finally {
      dir.remove();
    }
  }, 120_000);

  it('refuses bad hyperparameters and unknown ids with a clear error', () => {
    const dir = prepared();
    try {
      const rank = runCli(['train', '--model', '1', '--dataset', '1', '--rank', '0', '--data-dir', dir.path]);
      expect(rank.status).toBe(2);
      expect(rank.stderr).toMatch(/--rank: /);
      const model = runCli(['train', '--model', '7', '--dataset', '1', '--data-dir', dir.path]);
      expect(model.status).toBe(1);
      expect(model.stderr).toMatch(/no installed model with id 7/);
      const resume = runCli(['resume', '9', '--data-dir', dir.path]);
      expect(resume.status).toBe(1);
      expect(resume.stderr).toMatch(/no training job 9/);
    } finally {
      dir.remove();
    }
  }, 120_000);
});

describe('architect worker', () => {
  it('runs a job another process queued, and pause/resume from the CLI reach it', async () => {
    const dir = prepared();
    const core = await createCore({ dataDir: dir.path, datasetWorkerFile: await datasetWorker() });
    const worker = spawn(process.execPath, [`${REPO}bin/architect.js`, 'worker', '--data-dir', dir.path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    worker.stderr.on('data', (c: Buffer) => (output += c.toString()));
    try {
      const job = await core.services.supervisor.enqueue({ modelId: 1, datasetId: 1, config: { epochs: 60, batchSize: 1, rank: 4, alpha: 8, valSplit: 0, threads: 1 } });
      const wait = async (done: (j: Job) => boolean) => {
        for (let i = 0; i < 1200; i++) {
          const j = core.services.supervisor.get(job.id);
          if (done(j)) return j;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`job ${job.id} did not get there:\n${output}`);
      };
      await wait((j) => (j.progress?.step ?? 0) >= 3);
      expect(runCli(['pause', String(job.id), '--data-dir', dir.path]).status).toBe(0);
      const paused = await wait((j) => j.status === 'paused');
      expect(paused.checkpoint).not.toBeNull();
      expect(runCli(['resume', String(job.id), '--data-dir', dir.path]).status).toBe(0);
      const done = await wait((j) => j.status === 'succeeded' || j.status === 'failed');
      expect(done.status, done.message ?? '').toBe('succeeded');
      expect(done.progress?.step).toBe(180);
    } finally {
      worker.kill('SIGINT');
      await new Promise((r) => worker.once('exit', r));
      await core.dispose();
      dir.remove();
    }
  }, 180_000);
});
