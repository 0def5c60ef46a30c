// The built trainer child (out/workers/trainer.js) through ChildHost and forked Node: the native trainer in
// a process of its own, its protocol, stop and resume, a kill mid-run, a bad examples file.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Llama } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildHost, forkSpawner } from '../../electron/core/childHost';
import type { CrashInfo } from '../../electron/core/childHost';
import { Trainer } from '../../native/index';
import { TrainerMessage } from '../../shared/training/protocol';
import type { TrainerJob, TrainerRequest, TrainerResult } from '../../shared/training/protocol';
import type { TrainingConfig } from '../../shared/training/config';
import { REPO } from '../helpers/cli';
import { FIXTURES, fixtureFolder } from '../helpers/fixtures';
import { testLlama } from '../helpers/llamaReference';
import { makeTempDir } from '../helpers/tempDir';
import { adapterTensors, MEMORISE, maxTensorDiff, tinyConfig } from '../helpers/training';

const ENTRY = `${REPO}out/workers/trainer.js`;
const TIMEOUT = 120_000;

let llama: Llama;
let trainer: Trainer;
let fixtures: ReturnType<typeof fixtureFolder>;
let work: ReturnType<typeof makeTempDir>;
let modelPath: string;
let examplesFile: string;
let straight: string;
// 3 examples, one per step: 3 steps per epoch, 30 in all; a checkpoint every 3.
const config: TrainingConfig = tinyConfig({ epochs: 10, batchSize: 1, checkpointEvery: 3 });

beforeAll(async () => {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run npm run build`);
  llama = await testLlama();
  trainer = Trainer.forLlama(llama);
  fixtures = fixtureFolder((type, data, row) => trainer.quantize(type, data, row));
  work = makeTempDir('architect-trainer-worker-');
  modelPath = fixtures.model('f32', FIXTURES.f32).path;
  examplesFile = join(work.path, 'examples.jsonl');
  writeFileSync(examplesFile, MEMORISE.map((e) => JSON.stringify(e)).join('\n') + '\n');
}, TIMEOUT);
afterAll(() => {
  fixtures?.remove();
  work?.remove();
});

function job(name: string, overrides: Partial<TrainerJob> = {}): TrainerJob {
  return {
    jobId: 1,
    modelPath,
    examplesFile,
    dataDir: work.path,
    config,
    outPath: join(work.path, `${name}.gguf`),
    checkpointDir: join(work.path, `${name}.checkpoints`),
    ...overrides,
  };
}

interface Run {
  readonly host: ChildHost<TrainerRequest, TrainerMessage>;
  readonly messages: TrainerMessage[];
  /** The first of: done, error, a crash. */
  readonly end: Promise<{ done?: TrainerResult; error?: string; crash?: CrashInfo }>;
}

/** Starts a trainer child and hands it `job`; `onMessage` sees every message as it arrives. */
async function run(jobToRun: TrainerJob, onMessage?: (message: TrainerMessage, host: ChildHost<TrainerRequest, TrainerMessage>) => void): Promise<Run> {
  const host = await ChildHost.start<TrainerRequest, TrainerMessage>({
    name: 'trainer',
    entry: ENTRY,
    spawner: forkSpawner,
    messages: TrainerMessage,
    isReady: (m) => m.type === 'ready',
  });
  const messages: TrainerMessage[] = [];
  const end = new Promise<{ done?: TrainerResult; error?: string; crash?: CrashInfo }>((resolve) => {
    host.onMessage((message) => {
      messages.push(message);
      onMessage?.(message, host);
      if (message.type === 'done') resolve({ done: message.result });
      if (message.type === 'error') resolve({ error: message.error.message });
    });
    host.onCrash((crash) => resolve({ crash }));
  });
  host.send({ type: 'start', job: jobToRun });
  return { host, messages, end };
}

const tensors = (adapter: string) => adapterTensors(trainer, modelPath, adapter);

describe('the trainer child process', () => {
  it('says ready with its pid and device, trains to done with a progress message per step, writes the adapter and exits 0', async () => {
    const spec = job('straight');
    const { host, messages, end } = await run(spec);
    expect(host.readyMessage).toMatchObject({ type: 'ready', pid: host.pid });
    expect(['cpu', 'cuda', 'vulkan', 'metal']).toContain((host.readyMessage as { device: string }).device);
    const exited = new Promise((resolve) => host.onExit(resolve));
    const { done, error, crash } = await end;
    expect(error ?? crash?.reason).toBeUndefined();
    expect(done).toMatchObject({ status: 'completed', adapterPath: spec.outPath, steps: 30 });
    expect(existsSync(spec.outPath)).toBe(true);
    expect(messages.find((m) => m.type !== 'log')).toMatchObject({ type: 'prepared', info: { examples: 3, train: 3, totalSteps: 30, startStep: 0 } });
    const steps = messages.flatMap((m) => (m.type === 'progress' ? [m.progress.step] : []));
    expect(steps).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(messages.filter((m) => m.type === 'checkpoint').map((m) => (m as { step: number }).step)).toEqual([3, 6, 9, 12, 15, 18, 21, 24, 27, 30]);
    expect(messages.at(-1)?.type).toBe('done');
    expect(await exited).toEqual({ code: 0, signal: null });
    straight = spec.outPath;
  }, TIMEOUT);

  it('stop mid-run gives done/cancelled with a checkpoint; a second child resumed from it ends with the uninterrupted adapter', async () => {
    expect(straight).toBeDefined();
    const spec = job('stopped');
    let stopped = false;
    const first = await run(spec, (message, host) => {
      if (message.type === 'progress' && message.progress.step >= 4 && !stopped) {
        stopped = true;
        host.send({ type: 'stop' });
      }
    });
    const { done } = await first.end;
    expect(done).toMatchObject({ status: 'cancelled', adapterPath: null });
    expect(done!.steps).toBeGreaterThanOrEqual(4);
    expect(done!.steps).toBeLessThan(30);
    expect(done!.lastCheckpoint).toMatch(new RegExp(`step-0*${done!.steps}$`));
    expect(await first.host.waitForExit(10_000)).toBe('exited');

    const second = await run({ ...spec, resumeFrom: done!.lastCheckpoint! });
    const resumed = await second.end;
    expect(resumed.done).toMatchObject({ status: 'completed', steps: 30 });
    expect(second.messages.find((m) => m.type === 'prepared')).toMatchObject({ info: { startStep: done!.steps } });
    expect(maxTensorDiff(await tensors(straight), await tensors(spec.outPath))).toBeLessThan(1e-5);
  }, TIMEOUT);

  it('a SIGKILL mid-run is a crash; resuming from the last checkpoint finishes the same run', async () => {
    expect(straight).toBeDefined();
    const spec = job('killed');
    let killedAfter = 0;
    const first = await run(spec, (message, host) => {
      if (message.type === 'checkpoint' && message.step >= 6 && !killedAfter) {
        killedAfter = message.step;
        process.kill(host.pid!, 'SIGKILL');
      }
    });
    const { crash, done } = await first.end;
    expect(done).toBeUndefined();
    expect(crash).toMatchObject({ signal: 'SIGKILL', reason: 'trainer was killed by SIGKILL' });
    expect(killedAfter).toBeGreaterThanOrEqual(6);

    // The checkpoint folder: the newest complete checkpoint in it is used.
    const second = await run({ ...spec, resumeFrom: spec.checkpointDir });
    const resumed = await second.end;
    expect(resumed.done).toMatchObject({ status: 'completed', steps: 30 });
    const startStep = (second.messages.find((m) => m.type === 'prepared') as { info: { startStep: number } }).info.startStep;
    expect(startStep).toBeGreaterThanOrEqual(killedAfter);
    expect(maxTensorDiff(await tensors(straight), await tensors(spec.outPath))).toBeLessThan(1e-5);
  }, TIMEOUT);

  it('a trainer that cannot load fails start() with the reason in the log tail', async () => {
    const error = await ChildHost.start<TrainerRequest, TrainerMessage>({
      name: 'trainer',
      entry: ENTRY,
      spawner: forkSpawner,
      messages: TrainerMessage,
      isReady: (m) => m.type === 'ready',
      args: ['--backend', 'quantum'],
    }).then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).toMatch(/^The trainer process could not start: it exited with code 1\./);
    expect(error?.message).toContain("--backend must be auto, cuda or cpu, got 'quantum'");
  }, TIMEOUT);

  it('a bad examples line ends in error naming file:line, then a clean exit', async () => {
    const bad = join(work.path, 'bad.jsonl');
    writeFileSync(bad, `${JSON.stringify(MEMORISE[0])}\n{"prompt": "no completion"\n${JSON.stringify(MEMORISE[1])}\n`);
    const spec = job('bad', { examplesFile: bad });
    const { host, end } = await run(spec);
    const exited = new Promise((resolve) => host.onExit(resolve));
    const { error, crash } = await end;
    expect(crash).toBeUndefined();
    expect(error).toContain(`${bad}:2: `);
    expect(error).toMatch(/1 bad line; nothing was trained/);
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(existsSync(spec.outPath)).toBe(false);
  }, TIMEOUT);
});
