// Notifications through the real core: jobs that succeed and fail in real trainer child processes, versions the
// registry's gate activates or rejects, downloads from a local HTTP server that finish or fail. Each reaches the
// page (`app.notification`, `app.notifications`) and a stand-in notifier (the desktop's native notifications).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadNotice, gateNotice, jobNotice, NotificationCenter } from '../../electron/core/app/notifications';
import type { Notifier } from '../../electron/core/app/notifications';
import { createCore } from '../../electron/core/services';
import type { AppNotification } from '../../shared/contract/app';
import type { GateMetrics } from '../../shared/contract/versions';
import { datasetWorker } from '../helpers/datasets';
import { startModelServer, writeServedModel } from '../helpers/modelServer';
import type { ModelServer } from '../helpers/modelServer';
import { ended, importDataset, requireTrainer, TRAINER_ENTRY, untilJob } from '../helpers/supervisorCore';
import { makeTempDir } from '../helpers/tempDir';
import { MEMORISE } from '../helpers/training';

/** A stand-in notifier: records what it was asked to show. */
class StandInNotifier implements Notifier {
  readonly shown: AppNotification[] = [];
  show(notification: Omit<AppNotification, 'native'>): boolean {
    this.shown.push({ ...notification, native: true });
    return true;
  }
}

let fixtures: ReturnType<typeof makeTempDir>;
let modelPath: string;
let server: ModelServer;

beforeAll(async () => {
  fixtures = makeTempDir('architect-app-notify-fixtures-');
  modelPath = writeServedModel(fixtures.path, 'tiny.gguf').path;
  server = await startModelServer({ 'small.gguf': writeServedModel(fixtures.path, 'small.gguf', { nEmbd: 16, nFf: 32, tiedOutput: true }).path });
});
afterAll(async () => {
  await server?.close();
  fixtures?.remove();
});

/** A core with a stand-in notifier, and what reached the page through the contract. */
async function startCore(dataDir: string, runJobs: boolean) {
  const notifier = new StandInNotifier();
  const core = await createCore({ dataDir, runJobs, notifier, datasetWorkerFile: await datasetWorker(), supervisor: { pollMs: 50, jobDefaults: { threads: 1 }, trainerEntry: TRAINER_ENTRY } });
  const client = core.connect();
  const page: AppNotification[] = [];
  client.on('app.notification', (n) => page.push(n));
  await client.api.app.notifications({}); // subscribed once a later call is answered
  return { core, notifier, page, api: client.api };
}

async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`still waiting for ${what} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const titles = (list: readonly AppNotification[]) => list.map((n) => n.title);

describe('notifications of training jobs', () => {
  it('a job that succeeded and one that failed, once each, to the page and the notifier', async () => {
    requireTrainer();
    const dir = makeTempDir('architect-app-notify-jobs-');
    const { core, notifier, page, api } = await startCore(dir.path, true);
    try {
      const modelId = (await core.services.models.import({ path: modelPath })).id;
      const datasetId = await importDataset(core, 'memorise', MEMORISE);
      const good = await api.training.start({ modelId, datasetId, config: { epochs: 2, batchSize: 3, rank: 4, alpha: 8, valSplit: 0 } });
      expect((await untilJob(core, good.id, ended)).status).toBe('succeeded');
      await until(() => page.length >= 1, 'the success notification');
      expect(notifier.shown).toEqual([
        expect.objectContaining({ level: 'success', title: `Training job ${good.id} finished`, body: expect.stringMatching(/^Wrote v1 \(train loss [\d.]+, validation —\)\. v1 was not evaluated/), subject: { kind: 'job', id: good.id } }),
      ]);

      const bad = await api.training.start({ modelId, datasetId, config: { epochs: 200, batchSize: 1, rank: 4, alpha: 8, valSplit: 0 } });
      await untilJob(core, bad.id, (j) => (j.progress?.step ?? 0) >= 2);
      process.kill(core.services.supervisor.trainerPid!, 'SIGKILL');
      expect((await untilJob(core, bad.id, ended)).status).toBe('failed');
      await until(() => page.length >= 2, 'the failure notification');
      expect(notifier.shown[1]).toMatchObject({ level: 'error', title: `Training job ${bad.id} failed`, body: expect.stringMatching(/The trainer stopped unexpectedly \(.*SIGKILL/), subject: { kind: 'job', id: bad.id } });
      // Running, progress, queued: no notification; each end once. The page got the same, in order.
      expect(titles(notifier.shown)).toEqual([`Training job ${good.id} finished`, `Training job ${bad.id} failed`]);
      expect(page).toEqual(notifier.shown);
      expect((await api.app.notifications({})).notifications).toEqual([...notifier.shown].reverse());
      expect((await api.app.notifications({ limit: 1 })).notifications.map((n) => n.title)).toEqual([`Training job ${bad.id} failed`]);
      expect(new Set(notifier.shown.map((n) => n.id)).size).toBe(2);
    } finally {
      await core.dispose();
      dir.remove();
    }
  }, 120_000);
});

describe('notifications of the evaluation gate', () => {
  const metrics = (validationLoss: number): GateMetrics => ({ validationLoss, examples: 4, prompts: 2, validShare: 1, meanScore: 90 });

  it('a version the gate activated and one it rejected, with the gate’s numbers', async () => {
    const dir = makeTempDir('architect-app-notify-gate-');
    const { core, notifier, page, api } = await startCore(dir.path, false);
    try {
      const model = await core.services.models.import({ path: modelPath });
      // Two batches of the learning loop, two adaptive jobs (queued: this core serves no jobs).
      await api.learning.updateSettings({ batchSize: 1 });
      for (let i = 0; i < 2; i++) {
        const { artifact } = await api.artifacts.add({ kind: 'erd', prompt: `ERD for shop ${i}`, output: 'erDiagram\n  SHOP ||--o{ ORDER : takes', validate: false });
        await api.feedback.record({ artifactId: artifact.id, type: 'explicit_positive' });
      }
      const jobs = core.services.supervisor.list().jobs.filter((j) => j.type === 'adaptive').map((j) => j.id).sort((a, b) => a - b);
      expect(jobs).toHaveLength(2);
      // Versions as a finished job registers them, then the gate's verdict on each.
      const { registry } = core.services;
      const register = (number: number, parent: number | null, jobId: number) => {
        const versionDir = join(dir.path, 'finetuned_models', 'tiny', `v${number}`);
        mkdirSync(versionDir, { recursive: true });
        const adapterPath = join(versionDir, 'adapter.gguf');
        writeFileSync(adapterPath, `adapter ${number}`);
        return registry.register({
          model, number, parent, jobId, jobType: 'adaptive', dir: versionDir, adapterPath,
          adapterSha256: createHash('sha256').update(`adapter ${number}`).digest('hex'),
          kinds: ['erd'], dataset: { examples: 1, validation: 1 }, metrics: { trainLoss: 1, validationLoss: 1, steps: 1 },
        });
      };
      const v1 = register(1, null, jobs[0]!);
      expect(registry.decide(v1.id, { candidate: metrics(1.2), against: metrics(1.5) }, null).activated).toBe(true);
      const v2 = register(2, 1, jobs[1]!);
      expect(registry.decide(v2.id, { candidate: metrics(1.4), against: metrics(1.2) }, 1).activated).toBe(false);
      await until(() => page.length >= 2, 'two notifications on the page');
      expect(notifier.shown).toEqual([
        expect.objectContaining({
          level: 'success',
          title: `v1 of ${model.name} is active`,
          body: 'v1 is better than the plain base: held-out loss 1.200 vs 1.500 (−20.0%) on 4 examples; valid Mermaid 2/2 vs 2/2; mean score 90 vs 90. It serves new generations of its kinds now.',
          subject: { kind: 'version', id: v1.id },
        }),
        expect.objectContaining({
          level: 'info',
          title: `v2 of ${model.name} was rejected`,
          body: expect.stringMatching(/^v2 is not better than v1: held-out loss 1\.400 vs 1\.200 \(\+16\.7%\).*\(the loss is not 0\.5% lower\)\. What served before still does\.$/),
          subject: { kind: 'version', id: v2.id },
        }),
      ]);
      expect(page).toEqual(notifier.shown);
      expect((await api.versions.list({})).versions.map((v) => [v.number, v.status])).toEqual([[1, 'active'], [2, 'rejected']]);
    } finally {
      await core.dispose();
      dir.remove();
    }
  });

  it('in words: a manual version stays a candidate to compare', () => {
    const gate = { candidate: metrics(1), against: { version: null, metrics: metrics(2) }, passed: true, rule: 'r', summary: 'v3 is better than the plain base: held-out loss 1.000 vs 2.000.', evaluatedAt: new Date(0).toISOString() };
    expect(gateNotice({ versionId: 7, number: 3, baseName: 'Tiny', jobType: 'manual', activated: false, gate })).toEqual({
      level: 'info',
      title: 'v3 of Tiny is ready to compare',
      body: 'v3 is better than the plain base: held-out loss 1.000 vs 2.000. It is a candidate: activate it on the Models page to use it.',
      subject: { kind: 'version', id: 7 },
    });
    // Only an end is told of.
    expect(jobNotice({ id: 1, type: 'manual', status: 'running' } as never)).toBeNull();
    expect(downloadNotice({ id: 1, state: 'downloading' } as never)).toBeNull();
  });
});

describe('notifications of downloads', () => {
  it('a download that finished and one that failed, once each', async () => {
    const dir = makeTempDir('architect-app-notify-downloads-');
    const { core, notifier, page, api } = await startCore(dir.path, false);
    try {
      const done = await core.services.models.waitForDownload((await api.models.download({ uri: `${server.url}/files/small.gguf` })).id);
      expect(done.state).toBe('done');
      const failed = await core.services.models.waitForDownload((await api.models.download({ uri: `${server.url}/gone/model.gguf` })).id);
      expect(failed.state).toBe('failed');
      await until(() => page.length >= 2, 'two notifications on the page');
      expect(notifier.shown).toEqual([
        expect.objectContaining({ level: 'success', title: 'Downloaded small.gguf', body: expect.stringMatching(new RegExp(`^It is installed as model ${done.modelId} \\([\\d.]+ GB\\): choose it on the Models page\\.$`)), subject: { kind: 'download', id: done.id } }),
        expect.objectContaining({ level: 'error', title: 'The download of model.gguf failed', body: failed.error, subject: { kind: 'download', id: failed.id } }),
      ]);
      expect(failed.error).toMatch(/HTTP 404/);
      expect(page).toEqual(notifier.shown);
    } finally {
      await core.dispose();
      dir.remove();
    }
  });
});

describe('one notice, shown once', () => {
  const input = { level: 'info' as const, title: 'Hello', body: 'World', subject: { kind: 'app' as const, id: null } };
  const centre = (notifier?: Notifier) => {
    const page: AppNotification[] = [];
    return { page, centre: new NotificationCenter({ clock: () => new Date('2026-01-01T00:00:00Z'), emit: (n) => page.push(n), notifier }) };
  };

  it('shown natively, the page lists it without a toast; not shown (the window in front, or no notifier), the page toasts it', () => {
    let inFront = false;
    // A stand-in for Electron's notifier: it shows nothing while the window has the focus.
    const desktop: Notifier = { show: () => !inFront };
    const { page, centre: withDesktop } = centre(desktop);
    withDesktop.push(input);
    inFront = true;
    withDesktop.push(input);
    expect(page.map((n) => n.native)).toEqual([true, false]);
    const headless = centre();
    headless.centre.push(input);
    expect(headless.page.map((n) => n.native)).toEqual([false]);
  });

  it('a notifier that throws leaves the notice to the page', () => {
    const { page, centre: broken } = centre({
      show: () => {
        throw new Error('no notification daemon');
      },
    });
    expect(broken.push(input).native).toBe(false);
    expect(page).toHaveLength(1);
  });
});
