// The version registry with real trainer child processes on a tiny generated model: versions the supervisor
// wrote, activation used by the very next generation, rollback and undo, damaged adapters, and the gate.
import { appendFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Trainer } from '../../native/index';
import { createCore } from '../../electron/core/services';
import type { Core, CoreOptions } from '../../electron/core/services';
import type { GeneratedKind } from '../../shared/contract/generation';
import { datasetWorker } from '../helpers/datasets';
import { FIXTURES, fixtureFolder } from '../helpers/fixtures';
import { testLlama } from '../helpers/llamaReference';
import { makeTempDir } from '../helpers/tempDir';
import { ALL_TARGETS } from '../helpers/training';
import { runCli } from '../helpers/cli';
import { ended, importDataset, untilJob } from '../helpers/supervisorCore';

const TRAINER = fileURLToPath(new URL('../../out/workers/trainer.js', import.meta.url));
let fixtures: ReturnType<typeof fixtureFolder>;
let modelPath: string;

beforeAll(async () => {
  const trainer = Trainer.forLlama(await testLlama());
  fixtures = fixtureFolder((type, values, row) => trainer.quantize(type, values, row));
  modelPath = fixtures.model('f32', FIXTURES.f32).path;
  if (!existsSync(TRAINER)) throw new Error('The trainer is not built: run `npm run build` (npm test does).');
});
afterAll(() => fixtures?.remove());

const BLOG = { prompt: 'ERD for a blog', completion: 'erDiagram\n  POST ||--o{ COMMENT : has', kind: 'erd' };

async function startCore(dataDir: string, supervisor: CoreOptions['supervisor'] = {}): Promise<Core> {
  const core = await createCore({
    dataDir,
    runJobs: true,
    datasetWorkerFile: await datasetWorker(),
    supervisor: { pollMs: 50, jobDefaults: { threads: 1 }, trainerEntry: TRAINER, gate: { prompts: 2, maxTokens: 24 }, ...supervisor },
  });
  core.services.generation.setSettings({ threads: 1 });
  return core;
}

const until = (core: Core, id: number) => untilJob(core, id, ended, 180_000);

let generations = 0;
async function generate(core: Core, kind: GeneratedKind = 'erd', requirements = BLOG.prompt) {
  return core.connect().api.generation.generate({
    generationId: `versions-${++generations}-test`,
    kind,
    requirements,
    model: { provider: 'active' },
    sampling: { temperature: 0, maxTokens: 24, seed: 1 },
  });
}

/** The base imported and the blog example memorised by a manual job, run to its end (v1, if it succeeded). */
async function trainV1(core: Core) {
  const api = core.connect().api;
  const modelId = (await core.services.models.import({ path: modelPath })).id;
  const datasetId = await importDataset(core, 'blog', [BLOG]);
  const job = await api.training.start({ modelId, datasetId, config: { epochs: 40, batchSize: 1, rank: 8, alpha: 16, learningRate: 1e-2, schedule: 'constant', targets: [...ALL_TARGETS], valSplit: 0, dropout: 0 } });
  return { api, modelId, done: await until(core, job.id) };
}

const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (e: { code: string; field?: string; message: string }) => e);

describe('the version registry', () => {
  it('activation serves the next generation; rollback to the base and its undo; the active version cannot be deleted; a changed adapter is damaged', async () => {
    const dir = makeTempDir('architect-versions-');
    const core = await startCore(dir.path);
    try {
      const { api, modelId, done } = await trainV1(core);
      expect(done.status, done.message ?? '').toBe('succeeded');
      // A manual version without held-out examples waits for the user.
      expect(done.message).toMatch(/v1 was not evaluated .* stays a candidate/);
      const listed = await api.versions.list({});
      expect(listed.versions).toHaveLength(1);
      const v1 = listed.versions[0]!;
      expect(v1).toMatchObject({ number: 1, status: 'candidate', modelId, kinds: ['erd'], activeFor: [], jobId: done.id, damaged: null });
      // Nothing chosen: the installed base serves every kind.
      expect(listed.active.find((a) => a.kind === 'erd')).toMatchObject({ modelId, version: null, inherited: true });

      const base = await generate(core);
      expect(base.generation.version).toBeNull();
      expect(base.artifact.output).not.toBe(BLOG.completion);

      await api.versions.activate({ versionId: v1.id });
      const tuned = await generate(core);
      expect(tuned.artifact.output).toBe(BLOG.completion);
      expect(tuned.generation.version).toEqual({ id: v1.id, number: 1 });
      expect(tuned.artifact.modelVersion).toBe('v1');
      expect((await api.artifacts.get({ id: tuned.artifact.id })).generation?.version).toEqual({ id: v1.id, number: 1 });
      expect((await api.versions.list({})).versions[0]).toMatchObject({ status: 'active', activeFor: ['erd'] });
      // Other kinds still follow the default (nothing chosen: the plain base).
      expect((await generate(core, 'flowchart')).generation.version).toBeNull();

      const rolled = await api.versions.rollback({ kind: 'erd' });
      expect(rolled.active.find((a) => a.kind === 'erd')).toMatchObject({ version: null, inherited: false });
      expect((await generate(core)).artifact.output).toBe(base.artifact.output);
      expect((await api.versions.list({})).versions[0]!.status).toBe('archived');

      await api.versions.undo({ kind: 'erd' });
      expect((await generate(core)).artifact.output).toBe(BLOG.completion);
      const history = (await api.versions.list({})).history;
      expect(history.map((h) => h.reason)).toEqual(['undo', 'rollback', 'user']);
      expect(history[1]).toMatchObject({ kind: 'erd', version: null, previous: { version: 1 }, undone: true });

      // The active version cannot be deleted, and nothing is deleted without confirm.
      expect(await failure(api.versions.delete({ versionId: v1.id, confirm: true }))).toMatchObject({ code: 'conflict', message: expect.stringMatching(/serves erd/) });
      expect(await failure(api.versions.delete({ versionId: v1.id } as never))).toMatchObject({ code: 'invalid_arguments', field: 'args.confirm' });
      expect(existsSync(v1.adapterPath)).toBe(true);

      // A changed adapter is refused, listed as damaged, and the registry is unchanged.
      appendFileSync(v1.adapterPath, Buffer.alloc(16));
      expect(await failure(generate(core))).toMatchObject({ code: 'conflict', message: expect.stringMatching(/v1 .* is damaged/) });
      const after = await api.versions.list({});
      expect(after.versions[0]!.damaged).toMatch(/changed/);
      expect(after.active.find((a) => a.kind === 'erd')?.version?.id).toBe(v1.id);
      expect(await failure(api.versions.activate({ versionId: v1.id, kinds: ['code'] }))).toMatchObject({ code: 'conflict', message: expect.stringMatching(/damaged/) });
      await api.versions.rollback({ kind: 'erd', to: 'base' });
      expect((await generate(core)).generation.version).toBeNull();
      expect(await failure(api.versions.activate({ versionId: 999 }))).toMatchObject({ code: 'not_found', field: 'args.versionId' });
      // Another base serves erd only when the user chooses that base, and the registry says so.
      const otherId = (await core.services.models.import({ path: fixtures.model('q8_0', FIXTURES.q8_0).path })).id;
      const before = await api.versions.list({});
      expect(await failure(api.versions.activate({ versionId: null, modelId: otherId, kinds: ['erd'] }))).toMatchObject({
        code: 'conflict',
        field: 'args.switchBase',
        message: expect.stringMatching(/erd \(served by .*\) uses another base model/),
      });
      expect(await failure(api.versions.activate({ versionId: v1.id, modelId: otherId }))).toMatchObject({ code: 'conflict', message: expect.stringMatching(/damaged/) });
      expect((await api.versions.list({})).history).toEqual(before.history);
      await api.versions.activate({ versionId: null, modelId: otherId, kinds: ['erd'], switchBase: true });
      expect((await generate(core)).generation.modelId).toBe(otherId);
    } finally {
      await core.dispose();
      dir.remove();
    }
  }, 300_000);

  it('the gate: a better adaptive version serves at once; a worse one is rejected and the active one stays', async () => {
    const dir = makeTempDir('architect-versions-gate-');
    const quick = { epochs: 2, batchSize: 4, rank: 8, alpha: 16, learningRate: 1e-2, schedule: 'constant' as const, targets: [...ALL_TARGETS], maxLength: 192, dropout: 0, threads: 1 };
    let core = await startCore(dir.path, { adaptiveConfig: quick });
    const gated: { activated: boolean; summary: string }[] = [];
    try {
      const api = core.connect().api;
      const client = core.connect();
      client.on('versions.gated', (e) => gated.push({ activated: e.activated, summary: e.gate.summary }));
      await core.services.models.import({ path: modelPath });
      await api.learning.updateSettings({ batchSize: 20 });
      const good = (i: number) => ({ prompt: `ERD for shop ${i}`, output: `erDiagram\n  SHOP ||--o{ ORDER : takes` });
      for (let i = 0; i < 20; i++) {
        const { artifact } = await api.artifacts.add({ kind: 'erd', ...good(i), validate: false });
        await api.feedback.record({ artifactId: artifact.id, type: 'explicit_positive' });
      }
      const first = core.services.supervisor.list().jobs.find((j) => j.type === 'adaptive')!;
      const v1 = await until(core, first.id);
      expect(v1.status, `${v1.message}\n${v1.logTail.join('\n')}`).toBe('succeeded');
      expect(v1.message).toMatch(/v1 is better than the plain base: held-out loss .* It now serves erd/);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(gated).toEqual([{ activated: true, summary: expect.stringMatching(/held-out loss/) }]);
      const active = (await api.versions.list({})).versions[0]!;
      expect(active).toMatchObject({ number: 1, status: 'active', activeFor: ['erd'] });
      expect(active.gate).toMatchObject({ passed: true, against: { version: null }, candidate: { examples: 2, prompts: 2 } });
    } finally {
      await core.dispose();
    }
    // A harsher run on a batch of noise: it unlearns the held-out ERDs.
    core = await startCore(dir.path, { adaptiveConfig: { ...quick, epochs: 6, learningRate: 3e-2 } });
    try {
      const api = core.connect().api;
      for (let i = 0; i < 20; i++) {
        const { artifact } = await api.artifacts.add({ kind: 'erd', prompt: `ERD for shop ${i + 100}`, output: `zq ${i * 7919} lorem ${i} ipsum ~ ~ ${i * 31}`, validate: false });
        await api.feedback.record({ artifactId: artifact.id, type: 'explicit_positive' });
      }
      const second = core.services.supervisor.list().jobs.find((j) => j.type === 'adaptive' && j.status !== 'succeeded')!;
      const v2 = await until(core, second.id);
      expect(v2.status, v2.message ?? '').toBe('succeeded');
      expect(v2.message).toMatch(/v2 is not better than v1: held-out loss .* It was rejected; what served before still does\./);
      const { versions, active } = await api.versions.list({});
      expect(versions.map((v) => [v.number, v.status])).toEqual([[1, 'active'], [2, 'rejected']]);
      expect(active.find((a) => a.kind === 'erd')?.version?.number).toBe(1);
      expect((await generate(core, 'erd', 'ERD for shop 3')).generation.version?.number).toBe(1);
    } finally {
      await core.dispose();
      dir.remove();
    }
  }, 300_000);

  it('the CLI: versions, activate, generate with what serves the kind, rollback and --undo; bad VERSION arguments', async () => {
    const dir = makeTempDir('architect-versions-cli-');
    const core = await startCore(dir.path);
    try {
      const { done } = await trainV1(core);
      expect(done.status).toBe('succeeded');
    } finally {
      await core.dispose();
    }
    try {
      const cli = (...args: string[]) => runCli([...args, '--data-dir', dir.path]);
      const gen = () => cli('generate', '--kind', 'erd', '--prompt', BLOG.prompt, '--temperature', '0', '--max-tokens', '24', '--threads', '1', '--json');
      const text = (run: ReturnType<typeof runCli>) => (JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { artifact: { output: string }; generation: { version: { number: number } | null } });
      expect(cli('versions').stdout).toMatch(/v1 +candidate .* serves|v1 +candidate/);
      expect(text(gen()).generation.version).toBeNull();
      expect(cli('activate', 'v1')).toMatchObject({ status: 0, stderr: expect.stringContaining('erd: v1 chosen by the user') });
      const tuned = text(gen());
      expect(tuned).toMatchObject({ artifact: { output: BLOG.completion }, generation: { version: { number: 1 } } });
      const listed = JSON.parse(cli('versions', '--json').stdout) as { versions: { status: string; activeFor: string[] }[] };
      expect(listed.versions[0]).toMatchObject({ status: 'active', activeFor: ['erd'] });
      expect(cli('rollback', '--kind', 'erd')).toMatchObject({ status: 0, stderr: expect.stringContaining('rolled back to the plain base') });
      expect(text(gen()).generation.version).toBeNull();
      expect(cli('rollback', '--kind', 'erd', '--undo')).toMatchObject({ status: 0, stderr: expect.stringContaining('undid') });
      expect(text(gen()).generation.version).toEqual({ id: expect.any(Number), number: 1 });
      // Bad input: a clear error, nothing changed.
      expect(cli('activate', 'v9')).toMatchObject({ status: 2, stderr: expect.stringContaining('there is no version v9') });
      expect(cli('activate', 'latest')).toMatchObject({ status: 2, stderr: expect.stringContaining('VERSION must be vN') });
      expect(cli('rollback', '--kind', 'diagram')).toMatchObject({ status: 2, stderr: expect.stringContaining('--kind must be one of') });
      expect(cli('activate', 'base')).toMatchObject({ status: 2, stderr: expect.stringContaining('needs --model ID') });
      expect(cli('export', 'v1')).toMatchObject({ status: 2, stderr: expect.stringContaining('needs --out FILE') });
      expect((JSON.parse(cli('versions', '--json').stdout) as { versions: { status: string }[] }).versions[0]!.status).toBe('active');
    } finally {
      dir.remove();
    }
  }, 300_000);
});
