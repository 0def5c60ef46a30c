// The learning bench's set-up: the tiny base, the adaptive loop's settings, and a core that runs the real loop
// (feedback → batches → adaptive jobs in trainer child processes → the gate → activation).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Trainer } from '../../../native/index';
import { createCore } from '../../../electron/core/services';
import type { Core } from '../../../electron/core/services';
import type { Contract } from '../../../shared/contract';
import type { Job } from '../../../shared/contract/training';
import type { Version } from '../../../shared/contract/versions';
import type { RpcClient } from '../../../shared/rpc/client';
import { LoraTarget } from '../../../shared/training/config';
import { GATE_PROMPTS } from '../../../shared/versions/gate';
import type { TrainingConfigInput } from '../../../shared/training/config';
import { writeTinyModel } from '../../helpers/tinyModel';
import type { TinyModelSpec } from '../../helpers/tinyModel';
import type { Api } from './user';

/**
 * The base: random weights, 128 wide, 2 layers (~9M parameters, most of them the 32000-token head and
 * embeddings). In direct-engine trials of the loop (finetune + greedy generation), 64 wide reached only ~0.56
 * valid after 8 cycles where 128 wide passed 0.8.
 */
export const MODEL: TinyModelSpec = { type: 'f32', nEmbd: 128, nLayer: 2, nHead: 4, nHeadKv: 2, nFf: 256, contextLength: 512, seed: 3 };

/**
 * Each adaptive job: 8 epochs over its batch, 4 examples a step, LoRA rank 16 on every module, lr 1e-2 with a
 * cosine decay inside the job, so each version ends on a settled step (in the direct-engine trials 2e-2
 * diverged and a constant 1e-2 swung from cycle to cycle). valSplit 0.1: the share of each batch the supervisor holds out for the gate.
 */
export const ADAPTIVE: TrainingConfigInput = {
  epochs: 8,
  learningRate: 1e-2,
  batchSize: 4,
  rank: 16,
  alpha: 32,
  dropout: 0,
  targets: [...LoraTarget.options],
  schedule: 'cosine',
  valSplit: 0.1,
  maxLength: 512,
};

/** Eligible examples per batch: 29 trained on, 3 held out for the gate. Batches of 16 or 24 took more cycles (trials). */
export const BATCH_SIZE = 32;
/** A correction that rewrites everything earns +0.2 (the reward table's weak end); it must still be trained on. */
export const MIN_REWARD = 0.2;
/** Reference ERDs take 36–93 tokens; an unfinished diagram runs to the limit. */
export const MAX_TOKENS = 160;

export interface LoopCore {
  readonly core: Core;
  readonly client: RpcClient<Contract>;
  readonly api: Api;
  /** The gate's verdicts so far (`versions.gated`): version id → activated. */
  readonly gated: Map<number, boolean>;
}

/**
 * Writes the base into `dir`, starts a core serving jobs on `dir/data`, imports the base, and sets the loop up:
 * greedy generation and jobs on the given threads, batches of BATCH_SIZE at MIN_REWARD.
 */
export async function startLoop(dir: string, trainer: Trainer, threads: { generation: number; train: number }): Promise<LoopCore> {
  const modelPath = join(dir, 'tiny-erd-base.gguf');
  writeTinyModel(modelPath, MODEL, (type, values, row) => trainer.quantize(type, values, row));
  const core = await createCore({
    dataDir: join(dir, 'data'),
    runJobs: true,
    // The gate's generations get the same token limit as the user's questions (the app's default is 256).
    supervisor: { adaptiveConfig: ADAPTIVE, jobDefaults: { threads: threads.train, backend: 'cpu' }, pollMs: 200, gate: { prompts: GATE_PROMPTS, maxTokens: MAX_TOKENS } },
  });
  const client = core.connect();
  const api = client.api;
  await core.services.models.import({ path: modelPath });
  // Greedy everywhere: the user's questions pass their own sampling, the held-out drafts take the settings'.
  await api.generation.setSettings({ threads: threads.generation, sampling: { temperature: 0 } });
  await api.learning.updateSettings({ batchSize: BATCH_SIZE, minRewardThreshold: MIN_REWARD });
  const gated = new Map<number, boolean>();
  client.on('versions.gated', (event) => gated.set(event.versionId, event.activated));
  return { core, client, api, gated };
}

/** The version id serving ERDs now; null: the plain base. */
export async function servingErd(api: Api): Promise<number | null> {
  return (await api.versions.list({})).active.find((a) => a.kind === 'erd')?.version?.id ?? null;
}

/** Waits for a batch's adaptive job; returns it with the version it wrote (and the gate judged). */
export async function finishedJob(api: Api, jobId: number, timeoutMs = 10 * 60_000): Promise<{ job: Job; version: Version }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await api.training.job({ id: jobId });
    if (job.status === 'succeeded') {
      const version = (await api.versions.list({})).versions.find((v) => v.jobId === jobId);
      if (!version) throw new Error(`job ${jobId} succeeded but registered no version: ${job.message ?? ''}`);
      return { job, version };
    }
    if (job.status === 'failed' || job.status === 'cancelled') {
      throw new Error(`adaptive job ${jobId} ${job.status}: ${job.message ?? ''}\n${job.logTail.slice(-20).join('\n')}`);
    }
    if (Date.now() > deadline) throw new Error(`adaptive job ${jobId} is still ${job.status} after ${timeoutMs / 1000} s: ${job.message ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * CPU seconds of this process and of its children that have ended (the trainers), from /proc (Linux); null
 * elsewhere. Beside the wall time it tells a slow machine from a busy one.
 */
export function cpuSeconds(): number | null {
  try {
    // Fields after the command name: utime, stime, cutime, cstime are the 12th–15th.
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
    return ticks / 100;
  } catch {
    return null;
  }
}
