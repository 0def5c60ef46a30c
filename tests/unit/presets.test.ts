// Training presets (shared/training/presets.ts): the guide's tiers by VRAM refined by the memory estimate, on the
// catalog's real 7B and 8B shapes; the remedies for a configuration that does not fit; the CPU preset; bad input.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../../shared/contract/models';
import { estimateTrainingMemory } from '../../shared/training/memory';
import {
  checkFits,
  choosePreset,
  GPU_TIERS,
  MARGIN,
  pickBase,
  presetTiers,
  refuse,
  tierFor,
  trainingTime,
  usableBytes,
} from '../../shared/training/presets';
import type { BaseFile, Preset, PresetInput } from '../../shared/training/presets';

const GB = 1e9;
const catalog = (JSON.parse(readFileSync(fileURLToPath(new URL('../../resources/models.json', import.meta.url)), 'utf8')) as { models: CatalogEntry[] }).models;
const entry = (id: string) => catalog.find((m) => m.id === id)!;
const filesOf = (e: CatalogEntry): BaseFile[] => e.files.map((f) => ({ bits: f.bits, bytes: f.sizeBytes, quant: f.quant }));
const codellama = entry('codellama-7b-instruct');
const llama3 = entry('llama-3-8b-instruct');
/** A 16-bit file the catalog does not list (imported, say): 2 bytes per weight. */
const f16Of = (e: CatalogEntry): BaseFile => ({ bits: 16, bytes: Math.round((e.files.find((f) => f.bits === 8)!.sizeBytes / 1.0625) * 2), quant: 'F16' });

const gpu = (e: CatalogEntry, gb: number, extra: Partial<PresetInput> = {}): Preset =>
  choosePreset({ shape: e.shape, baseFiles: filesOf(e), memoryBytes: gb * GB, device: 'gpu', ...extra });

const MEMORIES = [6, 8, 12, 16, 24, 48, 80];

describe.each([
  ['CodeLlama 7B', codellama],
  ['Llama 3 8B', llama3],
])('presets for %s', (_name, model) => {
  const presets = MEMORIES.map((gb) => [gb, gpu(model, gb)] as const);

  it('pick the guide’s tier for the memory and stay within it with the stated margin', () => {
    for (const [gb, p] of presets) {
      expect(p.tier).toBe(gb >= 24 ? '24gb' : gb >= 16 ? '16gb' : gb >= 12 ? '12gb' : '8gb');
      expect(p.usableBytes).toBeCloseTo(gb * GB * (1 - MARGIN.share) - MARGIN.bytes, -3);
      if (p.fits) {
        expect(p.estimate.totalBytes).toBeLessThanOrEqual(p.usableBytes);
        const tier = GPU_TIERS.find((t) => t.name === p.name)!;
        expect(tier.batchSizes).toContain(p.config.batchSize);
        expect(tier.ranks).toContain(p.config.rank);
        // The guide's base for the tier: 4-bit up to 16 GB; from 24 GB the 16-bit one, or the closest (Q8_0).
        expect(p.config.base.quant).toBe(tier.baseBits === 4 ? 'Q4_K_M' : 'Q8_0');
        expect(p.remedies).toEqual([]);
        // Explained in numbers: "7.9 GB of 12: weights 3.8, activations 2.6, …".
        expect(p.summary).toMatch(new RegExp(`^\\d+\\.\\d GB of ${gb}: weights \\d+\\.\\d, activations \\d+\\.\\d, optimizer [\\d.]+, LoRA [\\d.]+, gradients [\\d.]+, backend 0\\.5; [\\d.]+ kept free \\(10% \\+ 512 MiB\\)$`));
      } else {
        expect(p.estimate.totalBytes).toBeGreaterThan(p.usableBytes);
        expect(p.remedies.map((r) => r.kind)).toEqual(['base-4bit', 'batch-1', 'shorter-max-length', 'gradient-checkpointing', 'smaller-rank']);
      }
    }
  });

  it('never give more memory a smaller rank or base, or checkpointing where less went without; fit from 16 GB up', () => {
    const fitting = presets.filter(([, p]) => p.fits);
    for (let i = 1; i < fitting.length; i++) {
      const [a, b] = [fitting[i - 1]![1].config, fitting[i]![1].config];
      expect(b.rank).toBeGreaterThanOrEqual(a.rank);
      expect(b.base.bits).toBeGreaterThanOrEqual(a.base.bits);
      if (!a.gradientCheckpointing) expect(b.gradientCheckpointing).toBe(false);
      // A smaller batch only where it buys no checkpointing (the guide gives up batch before it turns that on).
      if (b.batchSize < a.batchSize) expect([a.gradientCheckpointing, b.gradientCheckpointing]).toEqual([true, false]);
    }
    for (const [gb, p] of presets) if (gb >= 16) expect(p.fits).toBe(true);
    // 6 GB holds neither: a 4-bit 7B/8B base and its backward pass need more.
    expect(presets[0]![1].fits).toBe(false);
    // 80 GB trains the 24gb tier's largest configuration without checkpointing.
    expect(presets.at(-1)![1].config).toMatchObject({ batchSize: 8, rank: 32, gradientCheckpointing: false });
  });

  it('reports every tier for a memory, each with fits or not and why', () => {
    const tiers = presetTiers({ shape: model.shape, baseFiles: filesOf(model), memoryBytes: 16 * GB, device: 'gpu' });
    expect(tiers.map((t) => t.tier.name)).toEqual(['8gb', '12gb', '16gb', '24gb']);
    for (const t of tiers) expect(t.why).toMatch(t.fits ? /^fits: batch \d/ : /^does not fit: its smallest \(batch \d.*\) needs \d+\.\d GB, \d+\.\d usable of 16$/);
    // The 24gb tier wants a 16-bit base; the catalog has none, so it says which file stands in.
    expect(tiers[3]!.notes.join(' ')).toMatch(/no 16-bit file of this model: Q8_0 \(8-bit\) is the closest/);
  });
});

describe('presets on the catalog’s CodeLlama 7B', () => {
  it('follow the guide’s table on 8, 12, 16 and 24 GB, with checkpointing where the batch would not fit without', () => {
    expect(gpu(codellama, 8).config).toMatchObject({ batchSize: 1, rank: 8, gradientCheckpointing: true, base: { quant: 'Q4_K_M' } });
    expect(gpu(codellama, 8).notes.join(' ')).toMatch(/gradient checkpointing: without it, batch 1, rank 8, .* needs \d+\.\d GB/);
    expect(gpu(codellama, 12).config).toMatchObject({ batchSize: 2, rank: 8, base: { quant: 'Q4_K_M' } });
    expect(gpu(codellama, 16).config).toMatchObject({ batchSize: 4, rank: 16, base: { quant: 'Q4_K_M' } });
    expect(gpu(codellama, 24).config).toMatchObject({ batchSize: 8, rank: 32, base: { quant: 'Q8_0' } });
    // With a 16-bit file on hand, 24 GB trains on it.
    const withF16 = gpu(codellama, 24, { baseFiles: [...filesOf(codellama), f16Of(codellama)] });
    expect(withF16).toMatchObject({ name: '24gb', fits: true, config: { base: { quant: 'F16', bits: 16 } } });
    expect(withF16.notes.join(' ')).not.toMatch(/closest/);
  });

  it('falls back a tier when the guide’s does not fit this model, and says so', () => {
    // Llama 3's 128k vocabulary makes the head large: on 24 GB its 16-bit base does not fit the 24gb tier.
    const p = gpu(llama3, 24, { baseFiles: [...filesOf(llama3), f16Of(llama3)] });
    expect(p).toMatchObject({ tier: '24gb', name: '16gb', fits: true, config: { base: { quant: 'Q4_K_M' } } });
    expect(p.notes[0]).toMatch(/^the 24gb tier \(batch 4–8, 16-bit base, rank 16–32\) does not fit: its smallest, batch 4, rank 16, F16 .* needs \d+\.\d GB$/);
  });

  it('counts a longer max length', () => {
    const short = gpu(codellama, 16, { maxLength: 256 });
    const long = gpu(codellama, 16, { maxLength: 2048 });
    expect(long.estimate.parts.activations).toBeGreaterThan(short.estimate.parts.activations);
    expect(long.config.maxLength).toBe(2048);
  });
});

describe('refusing a configuration that does not fit', () => {
  const files = filesOf(codellama);
  const q8 = files.find((f) => f.bits === 8)!;
  const input = { shape: codellama.shape, base: q8, baseFiles: files, memoryBytes: 12 * GB, device: 'gpu' as const, batchSize: 4, rank: 16, maxLength: 512, gradientCheckpointing: false };

  it('lists the guide’s remedies in its order, each with its saving, until it fits', () => {
    const check = checkFits(input);
    expect(check.fits).toBe(false);
    expect(check.remedies.map((r) => r.title)).toEqual(['4-bit base', 'batch 1', 'shorter max length', 'gradient checkpointing', 'smaller rank']);
    expect(check.remedies.map((r) => r.change)).toEqual(['Q8_0 → Q4_K_M', 'batch 4 → 1', 'max length 512 → 256', 'on (about 1.45× the step time)', 'rank 16 → 8']);
    let total = check.estimate.totalBytes;
    for (const r of check.remedies) {
      expect(r.applies).toBe(true);
      expect(r.savingBytes).toBeGreaterThan(0);
      expect(r.totalBytes).toBeCloseTo(total - r.savingBytes, -3);
      expect(r.fits).toBe(r.totalBytes <= check.usableBytes);
      total = r.totalBytes;
    }
    // The 4-bit base saves about the difference of the files.
    expect(check.remedies[0]!.savingBytes / GB).toBeGreaterThan(((q8.bytes - files[0]!.bytes) / GB) * 0.9);
    expect(check.remedies.at(-1)!.fits).toBe(true);
    const message = refuse(input)!;
    expect(message).toMatch(/^batch 4, rank 16, Q8_0 \(8-bit\) base, max length 512 does not fit the GPU: \d+\.\d GB of 12: weights 7\.2, /);
    expect(message).toMatch(/1\. 4-bit base \(Q8_0 → Q4_K_M\): saves \d+\.\d GB, \d+\.\d GB; 2\. batch 1 \(batch 4 → 1\): saves \d+\.\d GB/);
    expect(message.indexOf('4-bit base')).toBeLessThan(message.indexOf('batch 1'));
    expect(message.indexOf('batch 1')).toBeLessThan(message.indexOf('shorter max length'));
    expect(message.indexOf('shorter max length')).toBeLessThan(message.indexOf('gradient checkpointing'));
    expect(message.indexOf('gradient checkpointing')).toBeLessThan(message.indexOf('smaller rank'));
  });

  it('says which remedies are already taken, and nothing for a configuration that fits', () => {
    const small = checkFits({ ...input, base: files[0]!, batchSize: 1, gradientCheckpointing: true, memoryBytes: 6 * GB });
    expect(small.fits).toBe(false);
    expect(small.remedies.map((r) => [r.kind, r.applies])).toEqual([
      ['base-4bit', false],
      ['batch-1', false],
      ['shorter-max-length', true],
      ['gradient-checkpointing', false],
      ['smaller-rank', true],
    ]);
    expect(small.remedies[0]!.change).toBe('already Q4_K_M (4-bit)');
    expect(small.remedies[0]!.savingBytes).toBe(0);
    expect(checkFits({ ...input, memoryBytes: 80 * GB })).toMatchObject({ fits: true, remedies: [] });
    expect(refuse({ ...input, memoryBytes: 80 * GB })).toBeNull();
    // With no 4-bit file at hand the first remedy says so.
    expect(checkFits({ ...input, baseFiles: [q8] }).remedies[0]).toMatchObject({ applies: false, change: 'no 4-bit file of this model is known' });
  });

  it('is what choosePreset returns when nothing fits (6 GB)', () => {
    const p = gpu(codellama, 6);
    expect(p).toMatchObject({ fits: false, name: '8gb', config: { batchSize: 1, rank: 8, gradientCheckpointing: true, base: { quant: 'Q4_K_M' } } });
    expect(p.remedies.map((r) => r.kind)).toEqual(['base-4bit', 'batch-1', 'shorter-max-length', 'gradient-checkpointing', 'smaller-rank']);
    expect(p.notes[0]).toMatch(/the 8gb tier .* does not fit/);
  });
});

describe('the CPU preset', () => {
  const cpu = (e: CatalogEntry, gb: number, extra: Partial<PresetInput> = {}) =>
    choosePreset({ shape: e.shape, baseFiles: filesOf(e), memoryBytes: gb * GB, device: 'cpu', tokensPerSecond: 40, ...extra });

  it('is batch 1, rank 8, 4-bit, with checkpointing only when RAM is tight', () => {
    for (const e of [codellama, llama3]) {
      const roomy = cpu(e, 32);
      expect(roomy).toMatchObject({ name: 'cpu', tier: 'cpu', fits: true, config: { batchSize: 1, rank: 8, gradientCheckpointing: false, base: { bits: 4 } } });
      const tight = cpu(e, 8);
      expect(tight).toMatchObject({ name: 'cpu', fits: true, config: { batchSize: 1, rank: 8, gradientCheckpointing: true, base: { bits: 4 } } });
      expect(tight.notes.join(' ')).toMatch(/gradient checkpointing: without it, .* needs \d+\.\d GB/);
      expect(tight.estimate.parts.backend).toBeLessThan(roomy.estimate.parts.backend + 1);
      expect(cpu(e, 4).fits).toBe(false);
    }
    expect(presetTiers({ shape: codellama.shape, baseFiles: filesOf(codellama), memoryBytes: 16 * GB, device: 'cpu' }).map((t) => t.tier.name)).toEqual(['cpu']);
  });

  it('gives an honest time from the measured tokens/s × examples × epochs × tokens', () => {
    const p = cpu(codellama, 32, { examples: 200, epochs: 3, tokensPerSecond: 50 });
    expect(p.time!.tokens).toBe(200 * 3 * 512);
    expect(p.time!.seconds).toBeCloseTo((200 * 3 * 512) / 50, 6);
    expect(p.time!.summary).toBe('about 1 h 42 min: 200 examples × 3 epochs × at most 512 tokens at 50 tokens/s');
    // Checkpointing costs about 1.45× the step time, and says so.
    const tight = cpu(codellama, 8, { examples: 200, epochs: 3, tokensPerSecond: 50 });
    expect(tight.time!.seconds).toBeCloseTo(((200 * 3 * 512) / 50) * 1.45, 6);
    expect(tight.time!.summary).toMatch(/\(× 1\.45 for gradient checkpointing\)$/);
    // Without a measured rate there is no guess.
    expect(cpu(codellama, 32, { tokensPerSecond: undefined }).time).toBeNull();
    expect(trainingTime(1000, { examples: 1, epochs: 1, tokensPerExample: 512, gradientCheckpointing: false }).summary).toMatch(/^about 1 s:/);
  });
});

describe('bad input', () => {
  const base = { shape: codellama.shape, baseFiles: filesOf(codellama), device: 'gpu' as const };

  it('refuses NaN, negative, zero and infinite memory with a clear error', () => {
    expect(() => choosePreset({ ...base, memoryBytes: Number.NaN })).toThrow('memoryBytes must be a number of bytes, got NaN');
    expect(() => choosePreset({ ...base, memoryBytes: -8 * GB })).toThrow('memoryBytes must be more than 0 bytes, got -8000000000');
    expect(() => choosePreset({ ...base, memoryBytes: 0 })).toThrow('memoryBytes must be more than 0 bytes, got 0');
    expect(() => choosePreset({ ...base, memoryBytes: Infinity })).toThrow('memoryBytes must be finite, got Infinity');
    expect(() => tierFor(Number.NaN)).toThrow(/memoryBytes/);
    expect(() => checkFits({ shape: codellama.shape, base: filesOf(codellama)[0]!, memoryBytes: 0, device: 'gpu', batchSize: 1, rank: 8, maxLength: 512, gradientCheckpointing: false })).toThrow(/memoryBytes must be more than 0/);
  });

  it('refuses other impossible settings, naming the field and the range', () => {
    const memoryBytes = 12 * GB;
    expect(() => choosePreset({ ...base, memoryBytes, baseFiles: [] })).toThrow('baseFiles must list at least one file of the model');
    expect(() => choosePreset({ ...base, memoryBytes, baseFiles: [{ bits: 4, bytes: Number.NaN, quant: 'Q4_0' }] })).toThrow('baseFiles[0].bytes must be a number of bytes, got NaN');
    expect(() => choosePreset({ ...base, memoryBytes, maxLength: 0 })).toThrow('maxLength must be a whole number from 8 to 16384, got 0');
    expect(() => choosePreset({ ...base, memoryBytes, maxLength: 100_000 })).toThrow('maxLength must be a whole number from 8 to 16384, got 100000');
    expect(() => choosePreset({ ...base, memoryBytes, tokensPerSecond: -1 })).toThrow('tokensPerSecond must be a measured rate above 0, got -1');
    expect(() => choosePreset({ ...base, memoryBytes, device: 'tpu' as 'gpu' })).toThrow("device must be 'gpu' or 'cpu', got tpu");
    expect(() => checkFits({ shape: codellama.shape, base: filesOf(codellama)[0]!, memoryBytes, device: 'gpu', batchSize: 0, rank: 8, maxLength: 512, gradientCheckpointing: false })).toThrow('batchSize must be a whole number from 1 to 512, got 0');
  });
});

describe('the pieces', () => {
  it('tier boundaries sit at 90% of the guide’s sizes', () => {
    expect(tierFor(6 * GB).name).toBe('8gb');
    expect(tierFor(11 * GB).name).toBe('12gb');
    expect(tierFor(10.7 * GB).name).toBe('8gb');
    expect(tierFor(15 * GB).name).toBe('16gb');
    expect(tierFor(22 * GB).name).toBe('24gb');
    expect(tierFor(80 * GB).name).toBe('24gb');
    expect(usableBytes(12 * GB)).toBeCloseTo(12 * GB * 0.9 - 512 * 2 ** 20, -3);
  });

  it('picks the file a tier asks for, or says which stands in', () => {
    const files = filesOf(codellama);
    expect(pickBase(files, 4)).toEqual({ file: files[0], note: null });
    expect(pickBase(files, 16).file.quant).toBe('Q8_0');
    expect(pickBase([files[1]!], 4).note).toMatch(/no 4-bit file of this model: Q8_0 \(8-bit\) is the closest/);
  });

  it('estimates every tier’s configuration with the same arithmetic the estimate uses', () => {
    const p = gpu(codellama, 16);
    const again = estimateTrainingMemory({
      shape: codellama.shape,
      base: { bytes: p.config.base.bytes, type: p.config.base.quant },
      rank: p.config.rank,
      targets: p.config.targets,
      batchSize: p.config.batchSize,
      maxLength: p.config.maxLength,
      gradientCheckpointing: p.config.gradientCheckpointing,
      device: 'gpu',
    });
    expect(again.totalBytes).toBe(p.estimate.totalBytes);
  });
});
