// A full disk mid-checkpoint, for real: a job's checkpoint folder is a small tmpfs (this needs root to mount)
// with room for one checkpoint and not two. The job fails naming the checkpoint and "disk full", the earlier
// checkpoint stays whole, and once there is room the job resumes from it to the adapter of a run that never failed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpointState } from '../../electron/trainer/checkpoint';
import { Trainer } from '../../native/index';
import { FIXTURES, fixtureFolder } from '../helpers/fixtures';
import { testLlama } from '../helpers/llamaReference';
import { ended, importDataset, requireTrainer, startJobCore, untilJob } from '../helpers/supervisorCore';
import { makeTempDir } from '../helpers/tempDir';
import { adapterTensors, MEMORISE, maxTensorDiff } from '../helpers/training';

const PAGE = 4096;
const mount = (dir: string, size: string) => execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
const remount = (dir: string, size: string) => execFileSync('mount', ['-o', `remount,size=${size}`, dir], { stdio: 'pipe' });
// Lazy: a trainer child still exiting may hold a file there a moment longer.
const unmount = (dir: string) => execFileSync('umount', ['-l', dir], { stdio: 'pipe' });

/** Whether this process may mount a tmpfs (root, outside a container that forbids it). */
const canMount = (() => {
  const probe = makeTempDir('architect-mount-probe-');
  try {
    mount(probe.path, '16k');
    unmount(probe.path);
    return true;
  } catch {
    return false;
  } finally {
    probe.remove();
  }
})();

const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Blocks a folder's files take on a tmpfs (whole pages each). */
const pagesOf = (dir: string) => readdirSync(dir).reduce((n, f) => n + Math.ceil(statSync(join(dir, f)).size / PAGE), 0);

let trainer: Trainer;
let fixtures: ReturnType<typeof fixtureFolder>;
let modelPath: string;
const mounted: string[] = [];

beforeAll(async () => {
  requireTrainer();
  trainer = Trainer.forLlama(await testLlama());
  fixtures = fixtureFolder((type, values, row) => trainer.quantize(type, values, row));
  modelPath = fixtures.model('f32', FIXTURES.f32).path;
});
afterAll(() => {
  for (const dir of mounted) unmount(dir);
  fixtures?.remove();
});

// 3 examples, one a step: 6 steps, a checkpoint after each.
const CONFIG = { epochs: 2, batchSize: 1, rank: 4, alpha: 8, targets: ['attn_q' as const, 'attn_v' as const], valSplit: 0, checkpointEvery: 1 };

describe('a full disk mid-checkpoint', () => {
  it.skipIf(!canMount)(
    canMount
      ? 'fails the job naming the checkpoint and "disk full", keeps the last checkpoint whole, and resumes from it once there is room'
      : 'a full disk mid-checkpoint (SKIPPED: mounting a tmpfs needs root, and this process may not mount one)',
    async () => {
      const dir = makeTempDir('architect-supervisor-disk-');
      const core = await startJobCore(dir.path);
      try {
        const api = core.connect().api;
        const modelId = (await core.services.models.import({ path: modelPath })).id;
        const datasetId = await importDataset(core, 'memorise', MEMORISE);
        // The run that never fails: what the resumed one must end with, and the size of one checkpoint.
        const straight = await untilJob(core, (await api.training.start({ modelId, datasetId, config: CONFIG })).id, ended);
        expect(straight.status, straight.message ?? '').toBe('succeeded');
        const straightCheckpoints = join(dir.path, 'jobs', String(straight.id), 'checkpoints');
        const pages = pagesOf(join(straightCheckpoints, 'step-000001'));

        // The next job's checkpoint folder: room for one checkpoint and a half.
        const checkpoints = join(dir.path, 'jobs', String(straight.id + 1), 'checkpoints');
        mkdirSync(checkpoints, { recursive: true });
        mount(checkpoints, `${Math.floor(pages * 1.5) * (PAGE / 1024)}k`);
        mounted.push(checkpoints);
        const job = await api.training.start({ modelId, datasetId, config: CONFIG });
        expect(job.id).toBe(straight.id + 1);
        const failed = await untilJob(core, job.id, ended);

        expect(failed.status).toBe('failed');
        expect(failed.message).toMatch(new RegExp(`^Cannot write the checkpoint ${literal(join(checkpoints, 'step-000002'))}: disk full \\(.* free in ${literal(checkpoints)}, a checkpoint needs about .*\\)\\.`));
        expect(failed.message).toContain(`The last checkpoint, ${join(checkpoints, 'step-000001')}, is kept: free some space, then resume the job.`);
        expect(failed.checkpoint).toBe(join(checkpoints, 'step-000001'));
        expect(failed.version).toBeNull();
        // The partial folder is gone; the checkpoint before it is whole, and the same as the straight run's.
        expect(readdirSync(checkpoints)).toEqual(['step-000001']);
        expect(readdirSync(failed.checkpoint!).sort()).toEqual(['adapter.gguf', 'optimizer.gguf', 'state.json']);
        expect(readCheckpointState(failed.checkpoint!)).toMatchObject({ step: 1, totalSteps: 6 });
        const kept = await adapterTensors(trainer, modelPath, join(failed.checkpoint!, 'adapter.gguf'));
        expect(maxTensorDiff(kept, await adapterTensors(trainer, modelPath, join(straightCheckpoints, 'step-000001', 'adapter.gguf')))).toBe(0);

        remount(checkpoints, '16m');
        // What a power cut mid-write would leave: the next checkpoint written clears it.
        mkdirSync(join(checkpoints, 'step-000004.tmp'));
        writeFileSync(join(checkpoints, 'step-000004.tmp', 'adapter.gguf'), 'half a file');
        await api.training.resume({ id: job.id });
        const resumed = await untilJob(core, job.id, ended);
        expect(resumed.status, resumed.message ?? '').toBe('succeeded');
        expect(readdirSync(checkpoints)).toEqual(['step-000001', 'step-000002', 'step-000003', 'step-000004', 'step-000005', 'step-000006']);
        // Step 1 is the kept checkpoint's; a run from scratch would have recorded a second step 1.
        expect(core.services.supervisor.get(job.id).history.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6]);
        const a = await adapterTensors(trainer, modelPath, straight.version!.adapterPath);
        const b = await adapterTensors(trainer, modelPath, resumed.version!.adapterPath);
        expect(maxTensorDiff(a, b)).toBeLessThan(1e-5);
      } finally {
        await core.dispose();
        if (mounted.length) unmount(mounted.pop()!);
        dir.remove();
      }
    },
    240_000,
  );
});
