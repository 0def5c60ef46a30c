// The tray and the background learner through the real core (createCore, real trainer child processes on a tiny
// generated model), with Electron stand-ins: a stand-in tray that records what it was given, a stand-in notifier.
// Plus the Electron side (electron/main/tray.ts) drawn on a stand-in of Electron's Tray and Menu.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { quitCore } from '../../electron/core/app/lifecycle';
import type { Notifier } from '../../electron/core/app/notifications';
import { closePolicy, formatEta, trayModel } from '../../electron/core/app/tray';
import type { TrayHost, TrayModel, TrayState } from '../../electron/core/app/tray';
import { resourcesDir } from '../../electron/core/resources';
import { createCore } from '../../electron/core/services';
import type { Core } from '../../electron/core/services';
import type { AppNotification } from '../../shared/contract/app';
import type { LearningStatus } from '../../shared/contract/learning';
import type { JobProgress } from '../../shared/contract/training';
import { datasetWorker } from '../helpers/datasets';
import { writeServedModel } from '../helpers/modelServer';
import { importDataset, requireTrainer, TRAINER_ENTRY, untilJob } from '../helpers/supervisorCore';
import { makeTempDir } from '../helpers/tempDir';
import { MEMORISE } from '../helpers/training';

// A stand-in for Electron's Tray, Menu and nativeImage: records what electron/main/tray.ts gives them.
const electronStandIn = vi.hoisted(() => {
  class StandInElectronTray {
    static last: StandInElectronTray | undefined;
    tooltip = '';
    title = '';
    menu: { label?: string; enabled?: boolean; type?: string; click?: () => void }[] = [];
    destroyed = false;
    readonly listeners = new Map<string, () => void>();
    constructor(readonly icon: { path: string; template: boolean }) {
      StandInElectronTray.last = this;
    }
    setToolTip(text: string) {
      this.tooltip = text;
    }
    setTitle(text: string) {
      this.title = text;
    }
    setContextMenu(menu: StandInElectronTray['menu']) {
      this.menu = menu;
    }
    on(event: string, listener: () => void) {
      this.listeners.set(event, listener);
    }
    destroy() {
      this.destroyed = true;
    }
  }
  return {
    Tray: StandInElectronTray,
    Menu: { buildFromTemplate: (template: unknown[]) => template },
    nativeImage: {
      createFromPath: (path: string) => {
        const image = { path, template: false, setTemplateImage: (on: boolean) => void (image.template = on) };
        return image;
      },
    },
  };
});
vi.mock('electron', () => electronStandIn);
const { createTray } = await import('../../electron/main/tray');

/** A stand-in tray: records every model it is given. */
class StandInTray implements TrayHost {
  readonly renders: TrayModel[] = [];
  destroyed = false;
  render(model: TrayModel): void {
    this.renders.push(model);
  }
  destroy(): void {
    this.destroyed = true;
  }
  get last(): TrayModel {
    return this.renders.at(-1)!;
  }
}

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

beforeAll(() => {
  requireTrainer();
  fixtures = makeTempDir('architect-app-tray-fixtures-');
  modelPath = writeServedModel(fixtures.path, 'tiny.gguf').path;
});
afterAll(() => fixtures?.remove());

async function startCore(dataDir: string, notifier?: Notifier): Promise<Core> {
  return createCore({ dataDir, runJobs: true, datasetWorkerFile: await datasetWorker(), notifier, supervisor: { pollMs: 50, jobDefaults: { threads: 1 }, trainerEntry: TRAINER_ENTRY } });
}

async function until(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`still waiting for ${what} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function thumbsUp(core: Core, count: number): Promise<void> {
  const api = core.connect().api;
  for (let i = 0; i < count; i++) {
    const { artifact } = await api.artifacts.add({ kind: 'erd', prompt: `Entities for shop ${i}`, output: `erDiagram\n  SHOP${i} ||--o{ ORDER : takes`, validate: false });
    await api.feedback.record({ artifactId: artifact.id, type: 'explicit_positive' });
  }
}

/** A job long enough to be stopped in its middle: 3 examples × 200 epochs, one per step. */
const LONG = { epochs: 200, batchSize: 1, rank: 4, alpha: 8, valSplit: 0, checkpointEvery: 5 };

const learning = (patch: Partial<LearningStatus> = {}): LearningStatus => ({
  settings: { batchSize: 50, minRewardThreshold: 0.3, autoTrigger: true },
  paused: false,
  pending: 0,
  untilNextBatch: 50,
  batches: 0,
  lastBatchAt: null,
  jobs: { queued: 0, running: 0, paused: 0, succeeded: 0, failed: 0, cancelled: 0 },
  recentBatches: [],
  ...patch,
});
const progress = (step: number, totalSteps: number, etaMs: number) => ({ step, totalSteps, etaMs }) as JobProgress;

describe('the tray model (pure)', () => {
  it('says the learning state, the running job with its step and ETA, the queue; the menu follows', () => {
    const idle: TrayState = { learning: learning({ pending: 38, untilNextBatch: 12 }), job: null, queued: 0, quitting: null };
    expect(trayModel(idle)).toEqual({
      tooltip: 'Architect.AI Studio\n12 examples until the next batch',
      title: '',
      lines: ['12 examples until the next batch'],
      items: [
        { id: 'open', label: 'Open Architect.AI Studio', enabled: true },
        { id: 'toggle-learning', label: 'Pause learning', enabled: true },
        { id: 'quit', label: 'Quit', enabled: true },
      ],
    });
    const training = trayModel({ ...idle, job: { id: 4, type: 'adaptive', progress: progress(12, 40, 170_000) }, queued: 2 });
    expect(training.lines).toEqual(['12 examples until the next batch', 'Training job 4: step 12/40, ETA 3 min', '2 training jobs queued']);
    expect(training.title).toBe('12/40');
    expect(trayModel({ ...idle, job: { id: 5, type: 'manual', progress: null } }).lines[1]).toBe('Training job 5: starting');
    const paused = trayModel({ ...idle, learning: learning({ paused: true, pending: 1, untilNextBatch: 49 }) });
    expect(paused.lines).toEqual(['Learning paused: 1 example waiting']);
    expect(paused.items[1]).toEqual({ id: 'toggle-learning', label: 'Resume learning', enabled: true });
    expect(trayModel({ ...idle, learning: learning({ settings: { batchSize: 50, minRewardThreshold: 0.3, autoTrigger: false }, pending: 60, untilNextBatch: 0 }) }).lines).toEqual(['Automatic training off: 60 examples waiting']);
    // Before the loop's status is read there is nothing to pause; while quitting nothing is offered.
    expect(trayModel({ ...idle, learning: null }).items[1]!.enabled).toBe(false);
    const quitting = trayModel({ ...idle, quitting: 'Pausing training job 4 at its next step; it resumes from its checkpoint when you start the app again.' });
    expect(quitting.lines[0]).toMatch(/^Pausing training job 4/);
    expect(quitting.items.map((i) => [i.label, i.enabled])).toEqual([['Open Architect.AI Studio', false], ['Pause learning', false], ['Quitting…', false]]);
  });

  it('ETA in words; the close policy: hide with the setting and a tray (the notice once), else quit', () => {
    expect([0, 59_000, 60_000, 170_000, 3_540_000, 3_600_000, 3_900_000, Infinity].map(formatEta)).toEqual([
      'ETA under 1 min', 'ETA under 1 min', 'ETA 1 min', 'ETA 3 min', 'ETA 59 min', 'ETA 1 h', 'ETA 1 h 5 min', 'ETA under 1 min',
    ]);
    const on = { closeToTray: true, closeNoticeShown: false };
    expect(closePolicy(on, { quitting: false, trayShown: true })).toEqual({ action: 'hide', notice: true });
    expect(closePolicy({ ...on, closeNoticeShown: true }, { quitting: false, trayShown: true })).toEqual({ action: 'hide', notice: false });
    expect(closePolicy({ ...on, closeToTray: false }, { quitting: false, trayShown: true })).toEqual({ action: 'quit', notice: false });
    expect(closePolicy(on, { quitting: true, trayShown: true })).toEqual({ action: 'quit', notice: false });
    expect(closePolicy(on, { quitting: false, trayShown: false })).toEqual({ action: 'quit', notice: false });
  });
});

describe('the tray through the core (stand-in tray)', () => {
  it('follows the learning loop and a running job; Pause/Resume learning from the menu pauses the loop; Open and Quit reach the app', async () => {
    const dir = makeTempDir('architect-app-tray-');
    const core = await startCore(dir.path);
    const tray = new StandInTray();
    const calls: string[] = [];
    try {
      const handle = core.services.app.attachTray(tray, { open: () => calls.push('open'), quit: () => calls.push('quit') });
      expect(tray.last.lines).toEqual(['50 examples until the next batch']);
      expect(tray.last.tooltip).toBe('Architect.AI Studio\n50 examples until the next batch');

      await thumbsUp(core, 3);
      expect(tray.last.lines).toEqual(['47 examples until the next batch']);

      handle.select('toggle-learning');
      expect(core.services.learning.status().paused).toBe(true);
      expect(tray.last.lines).toEqual(['Learning paused: 3 examples waiting']);
      expect(tray.last.items[1]).toEqual({ id: 'toggle-learning', label: 'Resume learning', enabled: true });
      // The loop itself is paused: feedback still counts, no batch is made.
      await thumbsUp(core, 1);
      expect(tray.last.lines).toEqual(['Learning paused: 4 examples waiting']);
      handle.select('toggle-learning');
      expect(core.services.learning.status().paused).toBe(false);
      expect(tray.last.lines).toEqual(['46 examples until the next batch']);
      expect(tray.last.items[1]!.label).toBe('Pause learning');

      handle.select('open');
      handle.select('quit');
      expect(calls).toEqual(['open', 'quit']);

      // A running job, step by step.
      const api = core.connect().api;
      const modelId = (await core.services.models.import({ path: modelPath })).id;
      const datasetId = await importDataset(core, 'memorise', MEMORISE);
      const job = await api.training.start({ modelId, datasetId, config: LONG });
      const stepLine = new RegExp(`^Training job ${job.id}: step (\\d+)/600, ETA (under 1 min|\\d+ min)$`);
      await until(() => tray.renders.some((r) => r.lines.some((l) => stepLine.test(l)) && /^\d+\/600$/.test(r.title)), 'a step in the tray');
      const steps = tray.renders.flatMap((r) => r.lines.map((l) => Number(stepLine.exec(l)?.[1] ?? 0))).filter((s) => s > 0);
      expect(steps).toEqual([...steps].sort((a, b) => a - b));
      await api.training.pause({ id: job.id });
      expect(tray.last.lines.some((l) => l.startsWith('Training job'))).toBe(false);
      expect(tray.last.title).toBe('');
      handle.detach();
      expect(tray.destroyed).toBe(true);
    } finally {
      await core.dispose();
      dir.remove();
    }
  }, 120_000);

  it('closing the window hides it when the setting is on (the notice once, remembered) and quits when it is off', async () => {
    const dir = makeTempDir('architect-app-close-');
    const notifier = new StandInNotifier();
    let core = await createCore({ dataDir: dir.path, notifier });
    try {
      // Without a tray there is nothing to hide to.
      expect(core.services.app.windowClosing({ quitting: false })).toEqual({ action: 'quit', notice: false });
      core.services.app.attachTray(new StandInTray(), { open: () => undefined, quit: () => undefined });
      const changed: boolean[] = [];
      const client = core.connect();
      client.on('app.settingsChanged', (view) => changed.push(view.settings.closeNoticeShown));
      await client.api.app.settings({}); // the subscription is in place once a later call is answered
      expect(core.services.app.windowClosing({ quitting: false })).toEqual({ action: 'hide', notice: true });
      expect(notifier.shown).toEqual([expect.objectContaining({ level: 'info', title: 'Architect.AI Studio is still running', body: expect.stringMatching(/keeps it in the tray, where it goes on learning/) })]);
      expect(core.services.app.settings().settings.closeNoticeShown).toBe(true);
      expect(core.services.app.windowClosing({ quitting: false })).toEqual({ action: 'hide', notice: false });
      expect(core.services.app.windowClosing({ quitting: true })).toEqual({ action: 'quit', notice: false });
      await until(() => changed.length > 0, 'app.settingsChanged');
      expect(changed).toEqual([true]);
    } finally {
      await core.dispose();
    }
    // It said so once: a later start remembers.
    core = await createCore({ dataDir: dir.path, notifier });
    try {
      core.services.app.attachTray(new StandInTray(), { open: () => undefined, quit: () => undefined });
      expect(core.services.app.windowClosing({ quitting: false })).toEqual({ action: 'hide', notice: false });
      await core.connect().api.app.setSettings({ closeToTray: false });
      expect(core.services.app.windowClosing({ quitting: false })).toEqual({ action: 'quit', notice: false });
      expect(notifier.shown).toHaveLength(1);
    } finally {
      await core.dispose();
      dir.remove();
    }
  });

  it('quit with a running job pauses it with a checkpoint and says so; the next start resumes it from there', async () => {
    const dir = makeTempDir('architect-app-quit-');
    const notifier = new StandInNotifier();
    let core = await startCore(dir.path, notifier);
    const tray = new StandInTray();
    let jobId: number;
    try {
      core.services.app.attachTray(tray, { open: () => undefined, quit: () => undefined });
      const modelId = (await core.services.models.import({ path: modelPath })).id;
      const datasetId = await importDataset(core, 'memorise', MEMORISE);
      jobId = (await core.connect().api.training.start({ modelId, datasetId, config: LONG })).id;
      await untilJob(core, jobId, (j) => (j.progress?.step ?? 0) >= 7 && j.checkpoint !== null);
    } catch (error) {
      await core.dispose();
      throw error;
    }
    const said = await quitCore(core);
    const expected = `Pausing training job ${jobId} at its next step; it resumes from its checkpoint when you start the app again.`;
    expect(said).toBe(expected);
    expect(notifier.shown.at(-1)).toMatchObject({ level: 'info', title: 'Architect.AI Studio is quitting', body: expected, subject: { kind: 'job', id: jobId } });
    expect(tray.renders.some((r) => r.lines[0] === expected && r.items.every((i) => !i.enabled))).toBe(true);

    core = await createCore({ dataDir: dir.path });
    let pausedAt: number;
    try {
      // Paused, not failed, with the checkpoint of the step it stopped at.
      const paused = core.services.supervisor.get(jobId);
      expect(paused).toMatchObject({ status: 'paused', message: expect.stringMatching(/^Paused at step \d+; resume continues from there\.$/) });
      pausedAt = Number(/step (\d+)/.exec(paused.message!)![1]);
      expect(paused.checkpoint).toMatch(new RegExp(`step-0*${pausedAt}$`));
      expect(existsSync(join(paused.checkpoint!, 'state.json'))).toBe(true);
    } finally {
      // A core that does not serve jobs (a CLI command) leaves it for the app.
      await core.dispose();
    }

    core = await startCore(dir.path, notifier);
    try {
      expect(notifier.shown.at(-1)).toMatchObject({ title: `Training job ${jobId} resumes`, body: expect.stringMatching(/continues from the checkpoint/) });
      await untilJob(core, jobId, (j) => j.status === 'running' && (j.progress?.step ?? 0) > pausedAt);
      // It continued: no step before the checkpoint was trained again.
      expect(core.services.supervisor.get(jobId).history.map((p) => p.step).filter((s) => s > pausedAt)[0]).toBe(pausedAt + 1);
      await core.connect().api.training.cancel({ id: jobId });
    } finally {
      // With no job running, quitting waits for none.
      expect(await quitCore(core)).toBeNull();
      dir.remove();
    }
  }, 180_000);
});

describe('the Electron tray (electron/main/tray.ts on a stand-in of Electron)', () => {
  it('draws the model as tooltip and menu, state lines disabled above the items; a click selects the item', () => {
    const selected: string[] = [];
    const host = createTray((id) => selected.push(id));
    const tray = electronStandIn.Tray.last!;
    expect(tray.icon.path).toBe(join(resourcesDir(), process.platform === 'darwin' ? 'trayTemplate.png' : 'tray.png'));
    // The icon is a real PNG in resources/.
    expect(readFileSync(tray.icon.path).subarray(1, 4).toString()).toBe('PNG');
    const model = trayModel({ learning: learning({ untilNextBatch: 12 }), job: { id: 4, type: 'manual', progress: progress(12, 40, 170_000) }, queued: 0, quitting: null });
    host.render(model);
    expect(tray.tooltip).toBe('Architect.AI Studio\n12 examples until the next batch\nTraining job 4: step 12/40, ETA 3 min');
    expect(tray.menu.map((m) => [m.type ?? m.label, m.enabled])).toEqual([
      ['12 examples until the next batch', false],
      ['Training job 4: step 12/40, ETA 3 min', false],
      ['separator', undefined],
      ['Open Architect.AI Studio', true],
      ['Pause learning', true],
      ['Quit', true],
    ]);
    tray.menu[4]!.click!();
    tray.menu[5]!.click!();
    expect(selected).toEqual(['toggle-learning', 'quit']);
    host.destroy();
    expect(tray.destroyed).toBe(true);
  });
});
