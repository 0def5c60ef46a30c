import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Trainer } from '../../native/index';
import { REPO, runCli } from '../helpers/cli';
import { FIXTURES, fixtureFolder } from '../helpers/fixtures';
import { testLlama } from '../helpers/llamaReference';
import { MEMORISE } from '../helpers/training';

let fixtures: ReturnType<typeof fixtureFolder>;
let model: string;
let data: string;
const fast = ['--threads', '1', '--targets', 'attn_q,attn_v', '--val-split', '0'];

beforeAll(async () => {
  const trainer = Trainer.forLlama(await testLlama());
  fixtures = fixtureFolder((type, values, row) => trainer.quantize(type, values, row));
  model = fixtures.model('f32', FIXTURES.f32).path;
  data = join(fixtures.dir, 'train.jsonl');
  writeFileSync(data, MEMORISE.map((e) => JSON.stringify(e)).join('\n') + '\n');
});
afterAll(() => fixtures?.remove());

function dataFile(name: string, text: string): string {
  const path = join(fixtures.dir, name);
  writeFileSync(path, text);
  return path;
}

describe('architect finetune', () => {
  it('prints one JSON line per event and writes the adapter and its checkpoints', () => {
    const out = join(fixtures.dir, 'cli.gguf');
    const { status, stdout, stderr } = runCli(['finetune', '--model', model, '--data', data, '--out', out, '--epochs', '2', '--batch-size', '3', '--json', ...fast]);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const events = stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string } & Record<string, unknown>);
    expect(events[0]).toMatchObject({ type: 'prepared', train: 3, totalSteps: 2 });
    const steps = events.filter((e) => e.type === 'step');
    expect(steps).toHaveLength(2);
    for (const key of ['step', 'epoch', 'totalSteps', 'trainLoss', 'learningRate', 'tokensPerSecond', 'elapsedMs', 'etaMs', 'memoryBytes', 'peakMemoryBytes']) {
      expect(steps[0]).toHaveProperty(key);
    }
    expect(events.at(-1)).toMatchObject({ type: 'done', status: 'completed', adapterPath: out });
    expect(existsSync(out)).toBe(true);
    expect(existsSync(join(`${out}.checkpoints`, 'step-000002', 'optimizer.gguf'))).toBe(true);
  });

  it('trains on a stored dataset with its own train/validation split', () => {
    const dataDir = join(fixtures.dir, 'data');
    const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `table ${i}` }, { role: 'assistant', content: `erDiagram T${i}` }] }));
    const imported = runCli(['import', dataFile('chat.jsonl', `${lines.join('\n')}\n`), '--name', 'chat', '--data-dir', dataDir, '--json']);
    expect(imported.status).toBe(0);
    const out = join(fixtures.dir, 'from-dataset.gguf');
    const { status, stdout } = runCli(['finetune', '--model', model, '--dataset', 'chat', '--data-dir', dataDir, '--out', out, '--epochs', '1', '--json', ...fast]);
    expect(status).toBe(0);
    const events = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events[0]).toMatchObject({ type: 'prepared', examples: 10, train: 9, validation: 1 });
    expect(events.some((e) => e.type === 'validation')).toBe(true);
    expect(runCli(['finetune', '--model', model, '--dataset', 'nope', '--data-dir', dataDir, '--out', out])).toMatchObject({ status: 1, stderr: expect.stringContaining('nope') });
    expect(runCli(['finetune', '--model', model, '--data', data, '--dataset', 'chat', '--out', out])).toMatchObject({ status: 2, stderr: expect.stringContaining('--data FILE or --dataset NAME') });
  });

  it('Ctrl-C writes a checkpoint and stops; --resume finishes the run', async () => {
    const out = join(fixtures.dir, 'interrupted.gguf');
    const child = spawn(process.execPath, [`${REPO}bin/architect.js`, 'finetune', '--model', model, '--data', data, '--out', out, '--epochs', '100', '--json', ...fast], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    let interrupted = false;
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (!interrupted && text.includes('"type":"step"')) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(130);
    const done = JSON.parse(text.trim().split('\n').at(-1)!) as { status: string; lastCheckpoint: string; steps: number };
    expect(done.status).toBe('cancelled');
    expect(done.steps).toBeLessThan(300);
    expect(existsSync(join(done.lastCheckpoint, 'adapter.gguf'))).toBe(true);
    expect(existsSync(out)).toBe(false);
    const resumed = runCli(['finetune', '--model', model, '--data', data, '--out', out, '--resume', done.lastCheckpoint, '--json']);
    expect(resumed.status).toBe(0);
    expect(JSON.parse(resumed.stdout.trim().split('\n')[0]!)).toMatchObject({ type: 'prepared', startStep: done.steps });
    expect(existsSync(out)).toBe(true);
  }, 120_000);

  it.each([
    ['an empty data file', () => ['--data', dataFile('empty.jsonl', '\n\n')], 1, 'the file has no examples'],
    ['a malformed line', () => ['--data', dataFile('bad.jsonl', `${JSON.stringify(MEMORISE[0])}\n{"prompt": "x",\n`)], 1, 'bad.jsonl:2: invalid JSON'],
    ['a missing field', () => ['--data', dataFile('nofield.jsonl', '{"prompt": "x"}\n')], 1, 'nofield.jsonl:1: "completion" is missing'],
    ['records of two shapes', () => ['--data', dataFile('mixed.jsonl', `${JSON.stringify(MEMORISE[0])}\n{"instruction": "x", "output": "y"}\n`)], 1, 'mixed.jsonl:2: mixed shapes'],
    ['every example longer than max length', () => ['--max-length', '8'], 1, 'every example is longer than max length 8'],
    ['a NaN learning rate', () => ['--lr', 'NaN'], 2, "--lr must be a number, got 'NaN'"],
    ['a negative learning rate', () => ['--lr=-0.001'], 2, '--lr: Too small'],
    ['rank 0', () => ['--rank', '0'], 2, '--rank: Too small'],
    ['an unknown target module', () => ['--targets', 'attn_q,attn_z'], 2, '--targets (item 2): Invalid option'],
    ['a checkpoint made with another model', () => ['--model', fixtures.model('q8_0', FIXTURES.q8_0).path, '--resume', join(fixtures.dir, 'cli.gguf.checkpoints')], 1, 'made with another model'],
    ['an unwritable output folder', () => ['--out', join(dataFile('a-file', 'x'), 'adapter.gguf')], 1, 'cannot write to the output folder'],
  ])('refuses %s with a clear error and writes nothing', (_name, args, code, message) => {
    const out = join(fixtures.dir, 'refused.gguf');
    const argv = ['finetune', '--model', model, '--data', data, '--out', out, ...fast, ...args()];
    const { status, stderr } = runCli(argv);
    expect(stderr).toContain(message);
    expect(status).toBe(code);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.checkpoints`)).toBe(false);
  });
});
