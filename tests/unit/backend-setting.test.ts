// The app's backend setting applied (electron/core/llama.ts, generation/, training/): generation on the real
// node-llama-cpp runtime with a tiny generated model, switched at run time; CUDA chosen on this machine, which has
// none; training jobs left at auto in real trainer child processes; the planner on a stand-in GPU machine (there is
// no GPU here, and the planner only reads the probe).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildHost, forkSpawner } from '../../electron/core/childHost';
import type { ChildHandle, Spawner } from '../../electron/core/childHost';
import { LlamaRuntime } from '../../electron/core/llama';
import { createCore } from '../../electron/core/services';
import type { Core } from '../../electron/core/services';
import { jobBackend } from '../../electron/core/training/plan';
import { Trainer } from '../../native/index';
import type { BackendChoice } from '../../shared/contract/app';
import type { GenerateArgs } from '../../shared/contract/generation';
import { HardwareInfo } from '../../shared/contract/system';
import { TrainerMessage } from '../../shared/training/protocol';
import type { TrainerRequest } from '../../shared/training/protocol';
import { datasetWorker } from '../helpers/datasets';
import { FIXTURES, fixtureFolder } from '../helpers/fixtures';
import { testLlama } from '../helpers/llamaReference';
import { importDataset, requireTrainer, TRAINER_ENTRY, untilJob, ended } from '../helpers/supervisorCore';
import { makeTempDir } from '../helpers/tempDir';
import { MEMORISE } from '../helpers/training';

let fixtures: ReturnType<typeof fixtureFolder>;
let modelPath: string;
const temp = makeTempDir('architect-backend-');

beforeAll(async () => {
  requireTrainer();
  const trainer = Trainer.forLlama(await testLlama());
  fixtures = fixtureFolder((type, values, row) => trainer.quantize(type, values, row));
  modelPath = fixtures.model('f32', FIXTURES.f32).path;
}, 60_000);

afterAll(() => {
  fixtures?.remove();
  temp.remove();
});

type Failure = { code: string; field?: string; message: string };
const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (e: Failure) => e);

/** Polls `read` until `done` says so; fails with the last value after `timeoutMs`. */
async function until<T>(read: () => T | Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the runtime across a change of the setting', () => {
  it('loads anew for the new setting while the old one serves what is loaded on it, until release() disposes it', async () => {
    let setting: BackendChoice = 'auto';
    const runtime = new LlamaRuntime(() => setting);
    try {
      const first = await runtime.get();
      expect(runtime.loadedFor).toBe('auto');
      const model = await first.loadModel({ modelPath });
      const context = await model.createContext({ contextSize: 64, threads: 1 });

      setting = 'cpu';
      const second = await runtime.get();
      expect(second).not.toBe(first);
      expect(second.gpu).toBe(false);
      expect(runtime.loadedFor).toBe('cpu');
      // The old runtime's model still evaluates: the two are loaded side by side.
      await context.getSequence().evaluateWithoutGeneratingNewTokens(model.tokenize('An order has line items'));
      expect(first.disposed).toBe(false);

      await runtime.release();
      expect(first.disposed).toBe(true);
      expect(model.disposed).toBe(true);
      expect(second.disposed).toBe(false);
      const again = await second.loadModel({ modelPath });
      expect(again.tokenize('An order').length).toBeGreaterThan(0);
      expect(await runtime.get()).toBe(second);
    } finally {
      await runtime.dispose();
    }
  }, 60_000);
});

describe('generation follows the backend setting', () => {
  let core: Core;
  let modelId: number;
  let counter = 0;
  const request = (overrides: Partial<GenerateArgs> = {}): GenerateArgs => ({
    generationId: `backend-${++counter}`,
    kind: 'code',
    requirements: 'A function that adds two numbers',
    model: { provider: 'local', modelId },
    sampling: { temperature: 0, maxTokens: 8, seed: 1 },
    ...overrides,
  });

  beforeAll(async () => {
    core = await createCore({ dataDir: join(temp.path, 'generation') });
    modelId = (await core.services.models.import({ path: modelPath })).id;
    core.services.generation.setSettings({ threads: 1 }); // CI has two cores and runs test files side by side
  }, 60_000);
  afterAll(async () => {
    await core?.dispose();
  });

  it('cpu: the model is unloaded at the change and loads again on a CPU-only runtime, and generation works', async () => {
    const api = core.connect().api;
    const host = core.services.generation.host;
    await api.generation.generate(request());
    expect(host.runtime?.backend).toBe('auto');
    const loads = host.loads;

    expect((await api.app.setSettings({ backend: 'cpu' })).settings.backend).toBe('cpu');
    await until(() => host.runtime, (r) => r === undefined); // unloaded at once, not at the next generation
    const result = await api.generation.generate(request());
    expect(result.artifact.output.length).toBeGreaterThan(0);
    expect(host.runtime).toEqual({ backend: 'cpu', gpu: false });
    expect(host.loads).toBe(loads + 1);
    const { compute } = await until(() => api.system.hardware({}), (h) => h.compute.backend === 'cpu');
    expect(compute).toMatchObject({ backend: 'cpu', vram: null });
    expect(compute.error).toBeUndefined();
  }, 60_000);

  it('cuda on this machine (no NVIDIA driver): generation fails saying CUDA and what to change, the app answers, auto works again', async () => {
    const api = core.connect().api;
    await api.app.setSettings({ backend: 'cuda' });
    const error = await failure(api.generation.generate(request()));
    expect(error).toMatchObject({ code: 'unavailable' });
    expect(error!.message).toMatch(/^CUDA is chosen as the backend, but node-llama-cpp finds no NVIDIA driver with the CUDA runtime on this machine\. Choose Automatic or CPU only under Settings → Backend and GPU\.$/);
    // The app keeps answering, and the probe says why nothing runs.
    expect((await api.app.settings({})).settings.backend).toBe('cuda');
    const { compute } = await until(() => api.system.hardware({}), (h) => h.compute.backend === null);
    expect(compute.error).toContain('CUDA is chosen as the backend');

    await api.app.setSettings({ backend: 'auto' });
    const result = await api.generation.generate(request());
    expect(result.generation.outputTokens).toBeGreaterThan(0);
    expect(core.services.generation.host.runtime?.backend).toBe('auto');
  }, 60_000);

  it('refuses a change while a generation runs, saying to stop it first; the generation is not disturbed and the change works after it', async () => {
    const client = core.connect();
    const api = client.api;
    const before = (await api.app.settings({})).settings.backend;
    const args = request({ sampling: { temperature: 1, maxTokens: 400, seed: 3 } });
    let attempt: Promise<Failure | undefined> | undefined;
    const off = client.on('generation.chunk', (c) => {
      if (c.generationId !== args.generationId || attempt) return;
      attempt = failure(api.app.setSettings({ backend: before === 'cpu' ? 'auto' : 'cpu' }));
      // Stopped only once the change was answered: it is answered while the generation runs.
      void attempt.finally(() => api.generation.stop({ generationId: args.generationId }));
    });
    const loads = core.services.generation.host.loads;
    const result = await api.generation.generate(args);
    off();
    expect(await attempt).toMatchObject({ code: 'conflict', field: 'args.backend', message: 'A generation is running: stop it on the Generate page (or let it finish), then change the backend.' });
    expect(result.generation.finish).toBe('stopped');
    expect(core.services.generation.host.loads, 'the model stayed loaded').toBe(loads);
    expect((await api.app.settings({})).settings.backend).toBe(before);

    // Other settings still change while it runs; and the backend once it is over.
    expect((await api.app.setSettings({ backend: 'cpu' })).settings.backend).toBe('cpu');
    expect((await api.generation.generate(request())).generation.outputTokens).toBeGreaterThan(0);
    expect(core.services.generation.host.runtime).toEqual({ backend: 'cpu', gpu: false });
  }, 60_000);
});

interface Recorded {
  readonly args: string[];
  readonly sent: unknown[];
  readonly received: unknown[];
}

/** forkSpawner, recording each child's arguments and the messages both ways: real processes, nothing stood in. */
function recordingSpawner(): { spawner: Spawner; children: Recorded[] } {
  const children: Recorded[] = [];
  const spawner: Spawner = {
    spawn(entry, options) {
      const handle = forkSpawner.spawn(entry, options);
      const child: Recorded = { args: options.args ?? [], sent: [], received: [] };
      children.push(child);
      handle.onMessage((message) => child.received.push(message));
      const recorded: ChildHandle = {
        get pid() {
          return handle.pid;
        },
        send: (message) => {
          child.sent.push(message);
          handle.send(message);
        },
        onMessage: (listener) => handle.onMessage(listener),
        onExit: (listener) => handle.onExit(listener),
        onOutput: (listener) => handle.onOutput(listener),
        kill: (signal) => handle.kill(signal),
      };
      return recorded;
    },
  };
  return { spawner, children };
}

describe('training jobs left at auto take the backend setting', () => {
  it('with the setting cpu, a job with the default backend trains in a CPU-only trainer, and the job and its version say so', async () => {
    const { spawner, children } = recordingSpawner();
    const core = await createCore({
      dataDir: join(temp.path, 'training'),
      runJobs: true,
      spawner,
      datasetWorkerFile: await datasetWorker(),
      supervisor: { pollMs: 50, jobDefaults: { threads: 1 }, trainerEntry: TRAINER_ENTRY },
    });
    try {
      const client = core.connect();
      const api = client.api;
      await api.app.setSettings({ backend: 'cpu' });
      const modelId = (await core.services.models.import({ path: modelPath })).id;
      const datasetId = await importDataset(core, 'memorise', MEMORISE);
      const messages: string[] = [];
      client.on('training.changed', (job) => job.message && messages.push(job.message));
      const queued = await api.training.start({ modelId, datasetId, config: { epochs: 1, batchSize: 3, rank: 4, alpha: 8, valSplit: 0 } });
      expect(queued.config?.backend).toBe('auto');
      const done = await untilJob(core, queued.id, ended);
      expect(done.status, `${done.message ?? ''}\n${done.logTail.join('\n')}`).toBe('succeeded');

      // What the trainer child got: --backend cpu, a job whose backend is cpu, and it ran on the CPU.
      const trainer = children.find((c) => c.received.some((m) => (m as { type?: string }).type === 'ready'))!;
      expect(trainer.args).toEqual(['--backend', 'cpu']);
      const start = trainer.sent.find((m) => (m as { type?: string }).type === 'start') as { job: { config: { backend: string } } };
      expect(start.job.config.backend).toBe('cpu');
      const prepared = trainer.received.find((m) => (m as { type?: string }).type === 'prepared') as { info: { device: string } };
      expect(prepared.info.device).toBe('CPU'); // ggml's device name

      // The job keeps its own 'auto' (a resume takes the setting of then); its messages and its version say what ran.
      expect(done.config?.backend).toBe('auto');
      expect(messages).toContain("Trains on the CPU: the app's backend setting, as this job leaves its own at auto.");
      expect(done.message).toMatch(/ Trained on the CPU, by the app's backend setting\.$/);
      const manifest = JSON.parse(readFileSync(join(done.version!.dir, 'manifest.json'), 'utf8')) as { config: { backend: string } };
      expect(manifest.config.backend).toBe('cpu');
    } finally {
      await core.dispose();
    }
  }, 180_000);

  it('the trainer child asked for CUDA here fails before ready, naming CUDA and what to change', async () => {
    const error = await ChildHost.start<TrainerRequest, TrainerMessage>({
      name: 'trainer',
      entry: TRAINER_ENTRY,
      spawner: forkSpawner,
      messages: TrainerMessage,
      isReady: (m) => m.type === 'ready',
      args: ['--backend', 'cuda'],
    }).then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).toContain('CUDA is chosen as the backend, but node-llama-cpp finds no NVIDIA driver with the CUDA runtime on this machine.');
  }, 60_000);

  it('a job’s own backend wins; auto takes the setting; the trainer loads strictly CUDA only when the setting asks for it', () => {
    expect(jobBackend('auto', 'cpu')).toEqual({ backend: 'cpu', runtime: 'cpu', fromSetting: true });
    expect(jobBackend('auto', 'cuda')).toEqual({ backend: 'cuda', runtime: 'cuda', fromSetting: true });
    expect(jobBackend('auto', 'auto')).toEqual({ backend: 'auto', runtime: 'auto', fromSetting: true });
    expect(jobBackend('cpu', 'cuda')).toEqual({ backend: 'cpu', runtime: 'cpu', fromSetting: false });
    // A job's cuda is any GPU backend: with the setting at cpu or auto the trainer lets node-llama-cpp find one.
    expect(jobBackend('cuda', 'cpu')).toEqual({ backend: 'cuda', runtime: 'auto', fromSetting: false });
    expect(jobBackend('cuda', 'auto')).toEqual({ backend: 'cuda', runtime: 'auto', fromSetting: false });
    expect(jobBackend('cuda', 'cuda')).toEqual({ backend: 'cuda', runtime: 'cuda', fromSetting: false });
  });
});

describe('the planner judges jobs left at auto on the backend setting', () => {
  /** A stand-in GPU machine (there is none here): 16 GB of RAM, a GPU with 1 MB of its memory free. */
  const gpuMachine = HardwareInfo.parse({
    cpu: { model: 'Test CPU', physicalCores: 2, logicalCores: 2 },
    memory: { totalBytes: 16e9, freeBytes: 8e9 },
    disk: { path: temp.path, totalBytes: 1e12, freeBytes: 5e11 },
    gpus: [{ vendor: 'NVIDIA', model: 'Stand-in GPU', vramTotalBytes: 8e9 + 1e6, vramUsedBytes: 8e9, driver: null }],
    compute: { backend: 'cuda', deviceNames: ['Stand-in GPU'], vram: { totalBytes: 8e9 + 1e6, usedBytes: 8e9, freeBytes: 1e6 } },
    os: { platform: 'linux', release: 'test', arch: 'x64' },
    probedAt: new Date().toISOString(),
  });

  it('presets and the fit check: VRAM with auto, RAM with cpu; a job asking for the GPU is judged on the GPU either way', async () => {
    let machine = gpuMachine;
    const core = await createCore({ dataDir: join(temp.path, 'plan'), hardware: async () => machine, datasetWorkerFile: await datasetWorker() });
    try {
      const api = core.connect().api;
      const modelId = (await core.services.models.import({ path: modelPath })).id;
      const datasetId = await importDataset(core, 'memorise', MEMORISE);
      const small = { epochs: 1, batchSize: 1, rank: 4, alpha: 8, valSplit: 0 };

      expect(await api.training.presets({ modelId })).toMatchObject({ device: 'gpu', memorySource: 'gpu-free' });
      expect(await failure(api.training.start({ modelId, datasetId, config: small })), '1 MB of VRAM is too little').toMatchObject({ code: 'invalid_arguments', field: 'args.config' });

      await api.app.setSettings({ backend: 'cpu' });
      // The probe as it reads once the runtime switched: generation runs on the CPU; the system still sees the GPU.
      machine = { ...gpuMachine, compute: { backend: 'cpu', deviceNames: [], vram: null } };
      const presets = await api.training.presets({ modelId });
      expect(presets).toMatchObject({ device: 'cpu', memorySource: 'ram' });
      expect(presets.memoryText).toContain("the app's backend setting is CPU only");
      // Even a probe from before the switch: the setting decides.
      machine = gpuMachine;
      expect(await api.training.presets({ modelId })).toMatchObject({ device: 'cpu', memorySource: 'ram' });
      machine = { ...gpuMachine, compute: { backend: 'cpu', deviceNames: [], vram: null } };
      const job = await api.training.start({ modelId, datasetId, config: small });
      expect(job.status).toBe('queued');
      // Its own GPU backend wins, and is judged on the GPU's free memory as the system reports it.
      expect(await failure(api.training.start({ modelId, datasetId, config: { ...small, backend: 'cuda' } }))).toMatchObject({ code: 'invalid_arguments', field: 'args.config' });
    } finally {
      await core.dispose();
    }
  }, 60_000);
});
