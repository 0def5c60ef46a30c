import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startCheckpointer } from './walCheckpointer';
import { openDatabase } from '../../db/connection';
import { createStore } from '../../db/store';
import type { Store } from '../../db/store';
import { contract } from '../../shared/contract';
import type { HardwareInfo } from '../../shared/contract/system';
import type { Contract } from '../../shared/contract';
import { connectInProcess } from '../../shared/rpc/loopback';
import type { RpcClient } from '../../shared/rpc/client';
import { RpcServer } from '../../shared/rpc/server';
import type { RewardPolicy } from '../../shared/reward';
import { notHeld } from './app/coreHolder';
import { openDataFolder } from './app/dataFolder';
import type { Notifier } from './app/notifications';
import { AppService } from './app/service';
import { backendSetting } from './app/settings';
import type { LoginItems } from './app/settings';
import { ArtifactService } from './artifacts';
import { systemClock } from './clock';
import { DatasetService } from './datasets/service';
import type { Clock } from './clock';
import { FeedbackService } from './feedback';
import { GenerationService } from './generation/service';
import { gpuMemory, probeHardware } from './hardware';
import { LearningLoop } from './learning';
import { LlamaRuntime } from './llama';
import { ModelService } from './models/service';
import { OllamaProvider } from './ollama';
import { forkSpawner } from './childHost';
import type { Spawner } from './childHost';
import { TrainingPlanner } from './training/plan';
import { Supervisor } from './training/supervisor';
import type { SupervisorDeps } from './training/supervisor';
import { readStats } from './stats';
import { ValidationService } from './validation';
import { VersionOperations } from './versions/operations';
import { VersionRegistry } from './versions/registry';
import type { ParserHostOptions } from './validation/parserHost';

export interface CoreOptions {
  /** The per-user data folder; created if missing. The store is `<dataDir>/architect.db`. */
  readonly dataDir: string;
  /** Default: the system clock. */
  readonly clock?: Clock;
  /** Default: the guide's reward table. */
  readonly rewardPolicy?: RewardPolicy;
  /** Limits of the validation worker. */
  readonly validation?: ParserHostOptions;
  /** The dataset worker's built file (tests build their own); default out/workers/datasetImport.js. */
  readonly datasetWorkerFile?: string;
  /** Run the training supervisor (the app, the headless host, `architect worker`); CLI commands that only read leave it off. */
  readonly runJobs?: boolean;
  /** How trainer child processes start: forked Node by default, Electron's utilityProcess in the app. */
  readonly spawner?: Spawner;
  /** Supervisor settings tests shrink (adaptive preset, thread counts, poll interval). */
  readonly supervisor?: Pick<SupervisorDeps, 'adaptiveConfig' | 'jobDefaults' | 'pollMs' | 'trainerEntry' | 'gate'>;
  /** The export worker's built file (tests build their own); default out/workers/export.js. */
  readonly exportEntry?: string;
  /** What the machine has (default: the real probe); tests stand in a smaller or larger machine. */
  readonly hardware?: () => Promise<HardwareInfo>;
  /** Shows notifications natively (the desktop app); without one they reach the page only. */
  readonly notifier?: Notifier;
  /** Sets start at login (the desktop app on Windows and macOS); without one the setting cannot be turned on. */
  readonly loginItems?: LoginItems;
}

/** The services behind the contract, for in-process callers that need more than the contract (exports). */
export interface CoreServices {
  readonly store: Store;
  readonly artifacts: ArtifactService;
  readonly feedback: FeedbackService;
  readonly learning: LearningLoop;
  readonly validation: ValidationService;
  readonly datasets: DatasetService;
  readonly models: ModelService;
  readonly generation: GenerationService;
  readonly supervisor: Supervisor;
  readonly registry: VersionRegistry;
  readonly operations: VersionOperations;
  readonly app: AppService;
}

/** The app's core services behind the contract; Electron, the headless host and tests all start it the same way. */
export interface Core {
  readonly rpc: RpcServer<Contract>;
  readonly dataDir: string;
  readonly services: CoreServices;
  /** A client in this process, through the same contract and validation as the UI's. */
  connect(): RpcClient<Contract>;
  dispose(): Promise<void>;
}

export async function createCore(options: CoreOptions): Promise<Core> {
  // A folder the app cannot write (or on a full disk) is refused here, naming it, before anything in it is opened.
  await openDataFolder(options.dataDir);
  await mkdir(options.dataDir, { recursive: true });
  const clock = options.clock ?? systemClock;
  const db = openDatabase(join(options.dataDir, 'architect.db'));
  const checkpointer = startCheckpointer(db);
  const store = createStore(db);
  // Generation follows the backend setting, read at each use: a change switches the runtime (app.setSettings below).
  const llama = new LlamaRuntime(() => backendSetting(store));
  const validation = new ValidationService(options.validation);
  // Services report changes through the server below; they only do so once it exists.
  const learning = new LearningLoop(store, clock, (status) => rpc.emit('learning.changed', status));
  const feedback = new FeedbackService({
    store,
    clock,
    learning,
    policy: options.rewardPolicy,
    onRecorded: (result, status) => {
      rpc.emit('feedback.recorded', result);
      rpc.emit('learning.changed', status);
    },
  });
  const artifacts = new ArtifactService({ store, clock, feedback, learning, validation });
  const datasets = new DatasetService({
    store,
    clock,
    learning,
    dataDir: options.dataDir,
    workerFile: options.datasetWorkerFile,
    onProgress: (progress) => rpc.emit('datasets.progress', progress),
    onChanged: (list) => rpc.emit('datasets.changed', { datasets: list }),
  });
  const probe = options.hardware ?? (() => probeHardware(options.dataDir, llama));
  // Fits are asked for on every list, plan and generation; a probe a few seconds old is current enough.
  const hardware = memoize(probe, 5000);
  const models = new ModelService({
    store,
    clock,
    dataDir: options.dataDir,
    hardware,
    onDownload: (download) => rpc.emit('models.download', download),
    onChanged: (list) => rpc.emit('models.changed', { models: list }),
  });
  const planner = new TrainingPlanner({ models, hardware, store });
  const registry = new VersionRegistry({
    store,
    clock,
    dataDir: options.dataDir,
    models,
    onChanged: (reason) => rpc.emit('versions.changed', { reason }),
    onGated: (event) => rpc.emit('versions.gated', event),
  });
  // The host is read on every call: the setting may change between calls.
  const ollama: OllamaProvider = new OllamaProvider(() => generation.settings().ollamaHost);
  const generation: GenerationService = new GenerationService({
    store,
    dataDir: options.dataDir,
    llama,
    models,
    ollama,
    artifacts,
    validation,
    registry,
    onYield: (event) => rpc.emit('generation.yielded', event),
    onChunk: (event) => rpc.emit('generation.chunk', event),
    onStatus: (event) => rpc.emit('generation.status', event),
  });
  const supervisor: Supervisor = new Supervisor({
    store,
    clock,
    dataDir: options.dataDir,
    models,
    spawner: options.spawner ?? forkSpawner,
    registry,
    onChanged: (job) => rpc.emit('training.changed', job),
    onProgress: (jobId, progress) => rpc.emit('training.progress', { jobId, progress }),
    gpuMemory,
    isGenerating: () => generation.busy,
    // One GPU, two users: the generation model gives its memory up while a job trains on the GPU.
    // One GPU, two users: a configuration is refused only if it would not fit with the generation model unloaded,
    // and that model is unloaded for a job only when the estimate says both do not fit.
    refuse: async (model, config) => planner.refusal(model.id, config, loadedGeneration()),
    beforeJob: async (job) => {
      const share = await planner.gpuShare(job.model.id, job.config, loadedGeneration(), job.id);
      if (share.unload && share.message) await generation.yieldFor(job.id, share.message);
    },
    afterJob: () => generation.reclaim(),
    ...options.supervisor,
  });
  function loadedGeneration() {
    const path = generation.host.loadedPath;
    const row = path ? store.models.list().find((m) => m.path === path) : undefined;
    return row ? models.get(row.id) : null;
  }
  const operations = new VersionOperations({
    registry,
    llama,
    generation,
    spawner: options.spawner ?? forkSpawner,
    dataDir: options.dataDir,
    models,
    ollamaHost: () => generation.settings().ollamaHost,
    onProgress: (progress) => rpc.emit('versions.progress', progress),
    ...(options.exportEntry ? { exportEntry: options.exportEntry } : {}),
  });
  const app = new AppService({
    store,
    clock,
    dataDir: options.dataDir,
    learning,
    supervisor,
    notifier: options.notifier,
    loginItems: options.loginItems,
    emitNotification: (notification) => rpc.emit('app.notification', notification),
    emitSettings: (view) => rpc.emit('app.settingsChanged', view),
    backend: { refusal: () => generation.backendRefusal(), changed: () => generation.switchBackend() },
  });
  const rpc: RpcServer<Contract> = new RpcServer(contract, {
    system: {
      hardware,
    },
    generation: {
      generate: (args, { signal }) => generation.generate(args, signal),
      yielded: () => generation.yielded(),
      stop: ({ generationId }) => generation.stop(generationId),
      templates: () => generation.templates(),
      settings: () => generation.settings(),
      setSettings: (args) => generation.setSettings(args),
    },
    models: {
      catalog: () => models.catalog(),
      list: () => models.list(),
      import: (args) => models.import(args),
      delete: (args) => models.delete(args),
      download: (args) => models.download(args),
      downloads: () => models.downloads(),
      cancelDownload: (args) => models.cancelDownload(args),
      resumeDownload: (args) => models.resumeDownload(args),
      ollama: () => ollama.status(),
    },
    artifacts: {
      add: (args) => artifacts.add(args),
      get: ({ id }) => artifacts.get(id),
      list: (args) => artifacts.list(args),
    },
    feedback: {
      record: (args) => feedback.record(args),
      validate: ({ artifactId }) => artifacts.validate(artifactId),
      rewardSettings: () => feedback.rewardSettings(),
      setRewardSettings: (args) => feedback.setRewardSettings(args),
    },
    validation: {
      check: (args) => validation.check(args),
    },
    learning: {
      status: () => learning.status(),
      pause: () => learning.pause(),
      resume: () => learning.resume(),
      updateSettings: (args) => learning.updateSettings(args),
      createBatch: () => learning.createBatch(),
      stats: () => readStats(store, learning),
    },
    training: {
      start: (args) => supervisor.enqueue(args),
      jobs: ({ limit }) => supervisor.list(limit),
      job: ({ id }) => supervisor.get(id),
      cancel: ({ id }) => supervisor.cancel(id),
      pause: ({ id }) => supervisor.pause(id),
      resume: ({ id }) => supervisor.resume(id),
      presets: (args) => planner.presets(args),
    },
    versions: {
      list: ({ modelId }) => registry.list(modelId),
      activate: (args) => registry.activate(args),
      rollback: ({ kind, to }) => registry.rollback(kind, to),
      undo: ({ kind }) => registry.undo(kind),
      delete: ({ versionId }) => registry.delete(versionId),
      export: (args, { signal }) => operations.export(args, signal),
      publish: (args, { signal }) => operations.publish(args, signal),
      compare: (args) => operations.compare(args),
    },
    datasets: {
      list: () => datasets.list(),
      get: ({ id }) => datasets.get(id),
      examples: (args) => datasets.examples(args),
      rename: ({ id, name }) => datasets.rename(id, name),
      delete: ({ id }) => datasets.delete(id),
      beginUpload: ({ fileName, size }, { connection }) => datasets.beginUpload(fileName, size, connection),
      uploadChunk: ({ uploadId, offset, data }) => datasets.uploadChunk(uploadId, offset, data),
      discardUpload: ({ uploadId }) => datasets.discardUpload(uploadId),
      importUpload: (args, { signal }) => datasets.importUpload(args, { signal }),
      buildFromFeedback: (args, { signal }) => datasets.buildFromFeedback(args, { signal }),
      exportPage: ({ id, format, after, maxBytes }, { signal }) => datasets.exportPage(id, format, after, maxBytes, signal),
      settings: () => datasets.settings(),
      setSettings: (args) => datasets.setSettings(args),
    },
    app: {
      settings: () => app.settings(),
      setSettings: (args) => app.setSettings(args),
      dataFolder: () => app.dataFolder(),
      notifications: ({ limit }) => app.recentNotifications(limit),
      // Moving the folder stops this core: the host's CoreHolder answers these itself (electron/core/app/coreHolder.ts).
      planDataFolderMove: () => notHeld(),
      moveDataFolder: () => notHeld(),
    },
  });
  // The tray and the notifications hear the services' events from the first one on (the supervisor's recovery).
  app.start(rpc, { resumeJobs: Boolean(options.runJobs) });
  if (options.runJobs) supervisor.start();
  return {
    rpc,
    dataDir: options.dataDir,
    services: { store, artifacts, feedback, learning, validation, datasets, models, generation, supervisor, registry, operations, app },
    connect: () => connectInProcess(contract, rpc),
    dispose: async () => {
      // A running job is paused (checkpointed) first; generation frees its model before the runtime goes.
      await supervisor.dispose();
      app.dispose();
      await Promise.all([generation.dispose(), models.dispose()]);
      await Promise.all([datasets.dispose(), validation.dispose(), llama.dispose(), checkpointer.stop()]);
      db.close();
    },
  };
}

/** `probe`'s last answer while it is younger than `ttlMs`; a failed probe is not kept. */
function memoize<T>(probe: () => Promise<T>, ttlMs: number): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!last || performance.now() - last.at > ttlMs) {
      const value = probe();
      const entry = { at: performance.now(), value };
      last = entry;
      value.catch(() => {
        if (last === entry) last = undefined;
      });
    }
    return last.value;
  };
}
