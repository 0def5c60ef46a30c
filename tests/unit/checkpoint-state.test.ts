// What comes back from a checkpoint is checked against what the run can be: a state.json edited (or damaged) to
// a step past the run, counts that disagree, a data order that is not the run's, is refused naming the file and
// the field, and nothing is trained or written.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Llama } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Trainer } from '../../native/index';
import { readCheckpointState } from '../../electron/trainer/checkpoint';
import { finetune } from '../../electron/trainer/engine';
import { readGguf, writeGgufContent } from '../../native/fuzz/gguf-edit';
import type { CheckpointState } from '../../shared/training/checkpoint';
import { runCli } from '../helpers/cli';
import { FIXTURES, fixtureFolder } from '../helpers/fixtures';
import { testLlama } from '../helpers/llamaReference';
import { MEMORISE, tinyConfig } from '../helpers/training';

let llama: Llama;
let fixtures: ReturnType<typeof fixtureFolder>;
let model: string;
let checkpoints: string;
// 3 examples, one a step: 3 steps an epoch, 6 in all; checkpoints at steps 2, 4 and 6.
const config = tinyConfig({ epochs: 2, batchSize: 1, checkpointEvery: 2, targets: ['attn_q'] });

beforeAll(async () => {
  llama = await testLlama();
  const trainer = Trainer.forLlama(llama);
  fixtures = fixtureFolder((type, data, row) => trainer.quantize(type, data, row));
  model = fixtures.model('f32', FIXTURES.f32).path;
  const out = join(fixtures.dir, 'run.gguf');
  const run = await finetune(llama, { modelPath: model, examples: MEMORISE, outPath: out, config });
  expect(run).toMatchObject({ status: 'completed', steps: 6 });
  checkpoints = `${out}.checkpoints`;
}, 120_000);
afterAll(() => fixtures?.remove());

/** A copy of checkpoint step-<from> whose state.json `edit` changed; returns its folder. */
function edited(name: string, edit: (state: CheckpointState) => void, from = 4): string {
  const dir = join(fixtures.dir, 'edited', name);
  rmSync(dir, { recursive: true, force: true });
  cpSync(join(checkpoints, `step-${String(from).padStart(6, '0')}`), dir, { recursive: true });
  const file = join(dir, 'state.json');
  const state = JSON.parse(readFileSync(file, 'utf8')) as CheckpointState;
  edit(state);
  writeFileSync(file, JSON.stringify(state));
  return dir;
}

function resume(dir: string, outName: string) {
  const outPath = join(fixtures.dir, `${outName}.gguf`);
  return { outPath, run: finetune(llama, { modelPath: model, examples: MEMORISE, outPath, config, resumeFrom: dir }) };
}

describe('state.json is checked on its own', () => {
  const cases: [string, (s: CheckpointState) => void, string][] = [
    ['step 10^9', (s) => void (s.step = 1e9), "step is 1000000000, past the run's 6 steps (totalSteps)"],
    ['step negative', (s) => void (s.step = -1), 'step: Too small'],
    ['step not whole', (s) => void (s.step = 2.5), 'step: Invalid input: expected int'],
    ['step past 2^53', (s) => void (s.step = 2 ** 60), 'step: Too big'],
    ['rng.step', (s) => void (s.rng.step = 3), 'rng.step is 3, but step is 4'],
    ['rng.seed', (s) => void (s.rng.seed = 7), 'rng.seed is 7, but config.seed is 42'],
    ['rng.epoch past the epochs', (s) => void (s.rng.epoch = 2), 'rng.epoch is 2, but the run has 2 epochs (config.epochs)'],
    ['history too short', (s) => void s.history.pop(), 'history has 3 entries, but step is 4 (one entry per step done)'],
    ['history out of order', (s) => void (s.history[1]!.step = 5), 'history.1.step is 5, expected 2'],
    ['validation past the step', (s) => void s.validation.push({ step: 9, loss: 1 }), 'validation.0.step is 9: validation steps increase, from 1 to step (4)'],
    ['dataOrder repeating', (s) => void (s.dataOrder = [0, 1, 1]), 'dataOrder.2 repeats example 1: the order is a permutation of the training examples'],
    ['totalSteps 0', (s) => void (s.totalSteps = 0), 'totalSteps: Too small'],
  ];
  it.each(cases)('%s: refused naming state.json and the field', (name, edit, expected) => {
    const dir = edited(name.replace(/\W+/g, '-'), edit);
    const file = join(dir, 'state.json');
    expect(() => readCheckpointState(dir)).toThrow(expect.objectContaining({ field: 'resume', message: expect.stringContaining(`${file}: not a checkpoint state this run can resume: ${expected}`) }));
  });

  it('the unedited checkpoint reads back', () => {
    expect(readCheckpointState(join(checkpoints, 'step-000004'))).toMatchObject({ step: 4, totalSteps: 6, rng: { step: 4, epoch: 1 } });
  });

  it('a FIFO in place of state.json is refused, not waited on', () => {
    const dir = edited('fifo', () => {});
    rmSync(join(dir, 'state.json'));
    execFileSync('mkfifo', [join(dir, 'state.json')]);
    expect(() => readCheckpointState(dir)).toThrow(/The checkpoint state .*state\.json is a named pipe \(FIFO\), not a regular file/);
  });
});

describe('a resume refuses a state its run cannot be in, before training a step', () => {
  const cases: [string, (s: CheckpointState) => void, string][] = [
    ['totalSteps', (s) => void (s.totalSteps = 7), 'totalSteps is 7, but the same data and settings now give 6 steps'],
    ['rng.epoch', (s) => void (s.rng.epoch = 0), 'rng.epoch is 0, but step 4 falls in epoch 1'],
    ['dataOrder of other examples', (s) => void (s.dataOrder = [0, 1, 99]), "dataOrder holds example 99, which is not one of this run's 3 training examples"],
    ['dataOrder short', (s) => void (s.dataOrder = [0, 2]), 'dataOrder has 2 examples, but this run trains on 3'],
  ];
  it.each(cases)('%s', async (name, edit, expected) => {
    const dir = edited(`run-${name.replace(/\W+/g, '-')}`, edit);
    const { outPath, run } = resume(dir, `never-${name.replace(/\W+/g, '-')}`);
    await expect(run).rejects.toMatchObject({ code: 'conflict', field: 'resume', message: `${join(dir, 'state.json')}: ${expected}; resume needs the run it was written by` });
    expect(existsSync(outPath)).toBe(false);
  });

  it('state.json and optimizer.gguf from different steps', async () => {
    const two = JSON.parse(readFileSync(join(checkpoints, 'step-000002', 'state.json'), 'utf8')) as CheckpointState;
    // Step 4's files with step 2's state: every count in state.json agrees with itself, not with the optimizer.
    const dir = edited('mixed', (s) => Object.assign(s, { step: 2, rng: two.rng, history: two.history, validation: two.validation, dataOrder: two.dataOrder }));
    const { outPath, run } = resume(dir, 'never-mixed');
    await expect(run).rejects.toMatchObject({
      code: 'conflict',
      message: `${join(dir, 'optimizer.gguf')}: architect.optimizer.steps is 4, but state.json's step is 2: the checkpoint's files are from different steps`,
    });
    expect(existsSync(outPath)).toBe(false);
  });

  it('an optimizer state holding NaN moments', async () => {
    const dir = edited('nan-moments', () => {});
    const optimizer = join(dir, 'optimizer.gguf');
    const content = readGguf(optimizer);
    const v = content.tensors.find((t) => t.name.endsWith('.adam_v'))!;
    v.data = new Uint8Array(new Float32Array(v.data.length / 4).fill(NaN).buffer);
    writeGgufContent(optimizer, content);
    const { outPath, run } = resume(dir, 'never-nan');
    await expect(run).rejects.toThrow(`${optimizer}: tensor '${v.name}' holds NaN or infinite values (a damaged optimizer state)`);
    expect(existsSync(outPath)).toBe(false);
  });

  it('the unedited checkpoint still resumes and finishes the run', async () => {
    const { run } = resume(join(checkpoints, 'step-000004'), 'resumed');
    await expect(run).resolves.toMatchObject({ status: 'completed', steps: 6 });
  });
});

describe('architect finetune --resume', () => {
  it('a step edited to 10^9 is refused naming state.json and step; no adapter is written', () => {
    const dir = edited('cli-step', (s) => void (s.step = 1e9));
    const data = join(fixtures.dir, 'train.jsonl');
    writeFileSync(data, MEMORISE.map((e) => JSON.stringify(e)).join('\n'));
    const out = join(fixtures.dir, 'cli-resumed.gguf');
    const result = runCli(['finetune', '--model', model, '--data', data, '--out', out, '--resume', dir, '--threads', '1', '--epochs', '2', '--batch-size', '1', '--targets', 'attn_q', '--val-split', '0']);
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain(`${join(dir, 'state.json')}: not a checkpoint state this run can resume: step is 1000000000, past the run's 6 steps (totalSteps)`);
    expect(result.stdout).not.toMatch(/Adapter written/);
    expect(existsSync(out)).toBe(false);
  });
});
