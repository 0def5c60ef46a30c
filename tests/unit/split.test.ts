// One validation-split rule (shared/training/split.ts) for stored datasets and `finetune --data`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Llama } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readExamplesFile } from '../../electron/core/datasets/readFile';
import { trainingExamples } from '../../electron/core/datasets/training';
import { createCore } from '../../electron/core/services';
import type { Core } from '../../electron/core/services';
import { finetune } from '../../electron/trainer/engine';
import type { FinetuneRequest, PreparedInfo } from '../../electron/trainer/engine';
import { Trainer } from '../../native/index';
import { seededRandom } from '../../shared/training/random';
import { validationCount, validationQuotas } from '../../shared/training/split';
import type { Stratum } from '../../shared/training/split';
import { datasetWorker } from '../helpers/datasets';
import { FIXTURES, fixtureFolder } from '../helpers/fixtures';
import { testLlama } from '../helpers/llamaReference';
import { makeTempDir } from '../helpers/tempDir';
import { tinyConfig } from '../helpers/training';

describe('validationCount', () => {
  it('rounds n × share, holds out at least one of two or more when a share is asked for, and never all', () => {
    const cases: [number, number, number][] = [
      [0, 0.1, 0],
      [1, 0.1, 0],
      [1, 0.5, 0],
      [2, 0.1, 1],
      [2, 0.5, 1],
      [3, 0.5, 2],
      [4, 0.1, 1],
      [6, 0.1, 1],
      [15, 0.1, 2],
      [20, 0.1, 2],
      [100, 0.1, 10],
      [100, 0.5, 50],
      [10, 0, 0],
    ];
    for (const [n, share, expected] of cases) expect(validationCount(n, share), `${n} × ${share}`).toBe(expected);
  });
});

describe('validationQuotas', () => {
  const strata = (...sizes: number[]): Stratum[] => sizes.map((size, i) => ({ size, first: i }));

  it('shares the total out in proportion to the strata', () => {
    expect(validationQuotas(strata(20, 20), 0.1)).toEqual([2, 2]);
    expect(validationQuotas(strata(30, 30, 30), 0.1)).toEqual([3, 3, 3]);
    expect(validationQuotas(strata(30, 30, 30), 0.2)).toEqual([6, 6, 6]);
    expect(validationQuotas(strata(80, 20), 0.1)).toEqual([8, 2]);
    expect(validationQuotas(strata(10, 10, 5), 0.1)).toEqual([1, 1, 1]); // 3 = round(2.5); the remainders 0.2, 0.2, 0.6 break it
    expect(validationQuotas(strata(6), 0.1)).toEqual([1]);
    expect(validationQuotas(strata(1), 0.5)).toEqual([0]);
    expect(validationQuotas([], 0.1)).toEqual([]);
  });

  it('holds one out of six examples in two kinds, as the trainer does, where rounding each kind held none', () => {
    expect(validationQuotas(strata(3, 3), 0.1)).toEqual([1, 0]); // ties go to the kind whose first example comes first
    expect(validationQuotas([{ size: 3, first: 9 }, { size: 3, first: 4 }], 0.1)).toEqual([0, 1]);
    expect(validationQuotas(strata(4, 2), 0.1)).toEqual([1, 0]);
  });

  it('keeps a stratum\'s last example for training unless the total needs it', () => {
    expect(validationQuotas(strata(1, 5), 0.1)).toEqual([0, 1]);
    expect(validationQuotas(strata(2, 2), 0.5)).toEqual([1, 1]);
    expect(validationQuotas(strata(1, 1, 2), 0.5)).toEqual([1, 0, 1]); // 2 of 4: the 2-stratum keeps one, so a single goes
    expect(validationQuotas([{ size: 1, first: 5 }, { size: 1, first: 2 }, { size: 1, first: 7 }], 0.1)).toEqual([0, 1, 0]);
  });

  it('sums to validationCount of all the examples, within each stratum\'s size, whatever the order the strata come in', () => {
    const random = seededRandom(3);
    for (let round = 0; round < 500; round++) {
      const list = Array.from({ length: 1 + Math.floor(random() * 6) }, (_, i) => ({ size: 1 + Math.floor(random() * (random() < 0.5 ? 4 : 60)), first: i * 1000 + Math.floor(random() * 1000) }));
      const share = [0, 0.05, 0.1, 0.2, 0.33, 0.5][round % 6]!;
      const counts = validationQuotas(list, share);
      const n = list.reduce((sum, s) => sum + s.size, 0);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(validationCount(n, share));
      list.forEach((s, i) => {
        expect(counts[i]).toBeGreaterThanOrEqual(0);
        expect(counts[i]).toBeLessThanOrEqual(s.size);
      });
      if (list.every((s) => s.size >= 2)) list.forEach((s, i) => expect(counts[i]).toBeLessThan(s.size));
      const reversed = validationQuotas([...list].reverse(), share).reverse();
      expect(reversed).toEqual(counts);
    }
  });
});

describe('a stored dataset and finetune --data on the same file', () => {
  let llama: Llama;
  let fixtures: ReturnType<typeof fixtureFolder>;
  let model: string;
  let core: Core;
  const dataDir = makeTempDir('architect-split-');

  beforeAll(async () => {
    llama = await testLlama();
    const trainer = Trainer.forLlama(llama);
    fixtures = fixtureFolder((type, data, row) => trainer.quantize(type, data, row));
    model = fixtures.model('f32', FIXTURES.f32).path;
    core = await createCore({ dataDir: dataDir.path, datasetWorkerFile: await datasetWorker() });
  });
  afterAll(async () => {
    await core?.dispose();
    dataDir.remove();
    fixtures?.remove();
  });

  /** What the trainer says it holds out (one epoch, then done). */
  async function heldOut(name: string, request: Pick<FinetuneRequest, 'examples' | 'validationExamples'>, valSplit: number): Promise<PreparedInfo> {
    let info: PreparedInfo | undefined;
    const config = tinyConfig({ epochs: 1, rank: 1, targets: ['attn_q'], valSplit });
    await finetune(llama, { modelPath: model, outPath: join(fixtures.dir, `${name}.gguf`), config, ...request }, { onPrepared: (i) => (info = i) });
    return info!;
  }

  const line = (i: number, kind?: string) => JSON.stringify({ prompt: `Draw table ${i}`, completion: `erDiagram T${i}`, ...(kind ? { kind } : {}) });

  it.each([
    ['six examples of two kinds', Array.from({ length: 6 }, (_, i) => line(i, i % 2 ? 'erd' : 'code')), 0.1, 1],
    ['six examples without a kind', Array.from({ length: 6 }, (_, i) => line(100 + i)), 0.1, 1],
    ['25 examples of three kinds', Array.from({ length: 25 }, (_, i) => line(200 + i, ['erd', 'code', 'flowchart'][i % 5 === 4 ? 2 : i % 2])), 0.1, 3],
    ['ten examples at a share of 0.2', Array.from({ length: 10 }, (_, i) => line(300 + i, i < 3 ? 'sequence' : 'erd')), 0.2, 2],
  ] as [string, string[], number, number][])('hold out the same number: %s', async (name, lines, share, expected) => {
    const path = join(fixtures.dir, `${name.replace(/\W+/g, '-')}.jsonl`);
    writeFileSync(path, `${lines.join('\n')}\n`);
    const outcome = await core.services.datasets.importFile(path, { validationShare: share });
    if (outcome.status !== 'imported') throw new Error(`expected an import, got ${outcome.status}`);
    expect(outcome.dataset).toMatchObject({ examples: lines.length, validation: expected });

    const { examples, errors } = readExamplesFile(path);
    expect(errors).toEqual([]);
    const fromFile = await heldOut(`${name}-data`, { examples }, share);
    expect(fromFile).toMatchObject({ examples: lines.length, validation: expected, train: lines.length - expected });

    const { train, validation } = trainingExamples(core.services.store, outcome.dataset.id);
    const fromDataset = await heldOut(`${name}-dataset`, { examples: train, validationExamples: validation }, share);
    expect(fromDataset).toMatchObject({ examples: lines.length, validation: expected, train: lines.length - expected });
  });
});
