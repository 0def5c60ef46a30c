// `architect train --preset auto|NAME` through the real CLI and trainer: the planner's preset for the model on this
// machine (as `architect presets` reports it), the flags given winning over it, the reasoning printed before it
// starts, a measured time estimate on a CPU once a job has run, and a configuration that does not fit refused (exit 2).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job, PresetsResult } from '../../shared/contract/training';
import { runCli } from '../helpers/cli';
import { writeServedModel } from '../helpers/modelServer';
import { makeTempDir } from '../helpers/tempDir';
import { MEMORISE } from '../helpers/training';

let files: ReturnType<typeof makeTempDir>;
let dir: ReturnType<typeof makeTempDir>;
let plan: PresetsResult;
const data = () => ['--data-dir', dir.path];
// Small and quick: one thread (CI has two cores), two modules; rank is given, so it wins over the preset's.
const fast = ['--epochs', '1', '--threads', '1', '--rank', '4', '--alpha', '8', '--targets', 'attn_q,attn_v', '--val-split', '0'];

beforeAll(() => {
  files = makeTempDir('architect-train-preset-files-');
  dir = makeTempDir('architect-train-preset-');
  // A 4096-token context, so a max length no memory holds can be asked for.
  const model = writeServedModel(files.path, 'tiny-4k.gguf', { contextLength: 4096 });
  const dataFile = join(files.path, 'memorise.jsonl');
  writeFileSync(dataFile, MEMORISE.map((e) => JSON.stringify(e)).join('\n') + '\n');
  expect(runCli(['models', 'import', model.path, ...data()]).status).toBe(0);
  expect(runCli(['import', dataFile, '--name', 'memorise', '--validation-share', '0', ...data()]).status).toBe(0);
  const presets = runCli(['presets', '--model', '1', '--json', ...data()]);
  expect(presets.status, presets.stderr).toBe(0);
  plan = JSON.parse(presets.stdout) as PresetsResult;
}, 60_000);
afterAll(() => {
  dir?.remove();
  files?.remove();
});

function train(args: string[]): { status: number | null; stderr: string; job: Job | undefined } {
  const run = runCli(['train', '--model', '1', '--dataset', '1', ...args, '--json', ...data()]);
  const lines = run.stdout.trim().split('\n');
  const start = lines.findIndex((l) => !l.startsWith('{"type":"progress"'));
  const job = run.status === 0 ? (JSON.parse(lines.slice(start).join('\n')) as Job) : undefined;
  return { status: run.status, stderr: run.stderr, job };
}

describe('architect train --preset', () => {
  it('auto: the preset `architect presets` chose, the flags given winning, and why before it starts', () => {
    const { config, name } = plan.preset;
    const first = train(['--preset', 'auto', ...fast]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/^Memory: /m);
    expect(first.stderr).toContain(`Preset ${name}`);
    expect(first.stderr).toMatch(new RegExp(`^Preset ${name}.*: batch ${config.batchSize}, rank ${config.rank}, ${config.base.quant} base`, 'm'));
    expect(first.stderr).toMatch(/^ {2}\d+\.\d+ GB of [\d.]+: weights /m);
    expect(first.stderr).toMatch(/^ {2}flags given win over the preset: --rank 4$/m);
    expect(first.job!.status).toBe('succeeded');
    expect(first.job!.config).toMatchObject({ rank: 4, batchSize: config.batchSize, maxLength: config.maxLength, gradientCheckpointing: config.gradientCheckpointing });
    if (plan.device === 'cpu') {
      // No job had run on this model: no time estimate, and the page says when it comes.
      expect(first.stderr).toMatch(/^ {2}time: The time estimate appears after the first training job on this model/m);
      // Now one has: the estimate from its measured tokens/s.
      const second = train(['--preset', 'auto', ...fast, '--batch-size', '2']);
      expect(second.status, second.stderr).toBe(0);
      expect(second.stderr).toMatch(/^ {2}time: about \d+ (s|min|h \d+ min): 50 examples × 3 epochs × at most \d+ tokens at [\d.]+ tokens\/s$/m);
      expect(second.stderr).toMatch(/flags given win over the preset: --batch-size 2, --rank 4|flags given win over the preset: --rank 4, --batch-size 2/);
      expect(second.job!.config).toMatchObject({ batchSize: 2, rank: 4 });
    }
  }, 180_000);

  it('a tier by name: one that does not fit is refused with the remedies (exit 2); a tier this machine has not, or no tier, is a usage error', () => {
    const here = plan.tiers[0]!.tier.name;
    const before = (JSON.parse(runCli(['jobs', '--json', ...data()]).stdout) as Job[]).length;
    const huge = train(['--preset', here, '--batch-size', '512', '--max-length', '4096']);
    expect(huge.status).toBe(2);
    expect(huge.stderr).toMatch(/batch 512, rank \d+, .* max length 4096.* does not fit (system memory|the GPU): [\d.]+ GB of [\d.]+: weights /);
    expect(huge.stderr).toMatch(/What would make it fit, in this order: 1\. 4-bit base[^;]*; 2\. batch 1 \(batch 512 → 1\): saves [\d.]+ GB/);
    const other = plan.device === 'cpu' ? '16gb' : 'cpu';
    const absent = train(['--preset', other]);
    expect(absent.status).toBe(2);
    expect(absent.stderr).toMatch(new RegExp(`the ${other} tier is for (a GPU|a machine without a GPU backend); this machine has .*: give --preset auto or ${here}`));
    const unknown = train(['--preset', 'huge']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/--preset must be auto or one of 8gb, 12gb, 16gb, 24gb, cpu, got 'huge'/);
    const long = train(['--preset', 'auto', '--max-length', '5000']);
    expect(long.status).toBe(2);
    expect(long.stderr).toMatch(/--max-length: must be a whole number from 8 to 4096 \(the model's context\), got 5000/);
    // Nothing was queued by the refused ones.
    expect((JSON.parse(runCli(['jobs', '--json', ...data()]).stdout) as Job[]).length).toBe(before);
  }, 120_000);
});
