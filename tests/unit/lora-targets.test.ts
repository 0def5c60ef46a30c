// The LoRA modules are one list (shared/training/config.ts): the config, the CLI, the native wrapper and the
// addon agree on which modules there are and which are adapted by default.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finetuneCommand } from '../../bin/cli/finetune';
import { Trainer } from '../../native/index';
import type { TrainerModel } from '../../native/index';
import { DEFAULT_TARGETS, LoraTarget, TrainingConfig } from '../../shared/training/config';
import { REPO } from '../helpers/cli';
import { FIXTURES, fixtureFolder } from '../helpers/fixtures';
import { testLlama } from '../helpers/llamaReference';
import { ALL_TARGETS, tinyConfig } from '../helpers/training';

describe('the list', () => {
  it('is the one the config, the CLI help and the test helpers use', () => {
    expect(LoraTarget.options).toEqual(['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down']);
    expect(ALL_TARGETS).toEqual(LoraTarget.options);
    expect(tinyConfig().targets).toEqual(LoraTarget.options);
    for (const target of DEFAULT_TARGETS) expect(LoraTarget.options).toContain(target);
    expect(TrainingConfig.parse({}).targets).toEqual(DEFAULT_TARGETS);
    // A parsed config gets a copy: changing it leaves the default alone.
    TrainingConfig.parse({}).targets.push('ffn_up');
    expect(TrainingConfig.parse({}).targets).toEqual(DEFAULT_TARGETS);
    const help = finetuneCommand.options.targets.description;
    for (const target of LoraTarget.options) expect(help).toContain(target);
    expect(help).toContain(`default ${DEFAULT_TARGETS.join(',')}`);
  });

  it("is the addon's source list (lora_modules() in native/src/model_file.cpp)", () => {
    const source = readFileSync(`${REPO}native/src/model_file.cpp`, 'utf8');
    const body = /lora_modules\(\)\s*\{[^}]*?=\s*\{([^}]*)\}/.exec(source)?.[1];
    expect(body, 'lora_modules() not found in model_file.cpp').toBeDefined();
    expect([...body!.matchAll(/"([^"]+)"/g)].map((m) => m[1])).toEqual(LoraTarget.options);
  });
});

describe('the addon', () => {
  let trainer: Trainer;
  let fixtures: ReturnType<typeof fixtureFolder>;
  let model: TrainerModel;

  beforeAll(async () => {
    trainer = Trainer.forLlama(await testLlama());
    fixtures = fixtureFolder((type, data, row) => trainer.quantize(type, data, row));
    model = await trainer.loadModel(fixtures.model('f32', FIXTURES.f32).path, { threads: 1 });
  });
  afterAll(() => {
    model?.dispose();
    fixtures?.remove();
  });

  it('accepts every listed target, alone and all together', () => {
    for (const target of LoraTarget.options) {
      const adapter = model.createAdapter({ rank: 1, targets: [target] });
      expect(adapter.info.targets).toEqual([target]);
      expect(adapter.tensorNames().length).toBeGreaterThan(0);
      expect(adapter.tensorNames().every((name) => name.includes(`.${target}.`))).toBe(true);
      adapter.dispose();
    }
    const all = model.createAdapter({ rank: 1, targets: LoraTarget.options });
    expect(all.info.targets).toEqual(LoraTarget.options);
    all.dispose();
  });

  it("adapts the config's default targets when none are given", () => {
    const adapter = model.createAdapter({ rank: 1 });
    expect(adapter.info.targets).toEqual(DEFAULT_TARGETS);
    adapter.dispose();
  });

  it('refuses an unknown target, naming the modules it knows: the same list', () => {
    let message = '';
    try {
      model.createAdapter({ rank: 1, targets: ['attn_qkv' as LoraTarget] }).dispose();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/unknown target module 'attn_qkv' \(known: [^)]+\)/);
    const known = /\(known: ([^)]+)\)/.exec(message)![1]!.split(', ');
    expect(known).toEqual(LoraTarget.options);
    expect(() => model.createAdapter({ rank: 1, targets: ['attn_q', 'attn_q'] })).toThrow(/target module 'attn_q' is listed twice/);
    expect(() => model.createAdapter({ rank: 1, targets: [] })).toThrow(/choose at least one target module/);
  });
});
