import { resolve } from 'node:path';
import { statSync } from 'node:fs';
import type { CatalogItem, InstalledModel, ModelShape } from '../../shared/contract/models';
import type { HardwareInfo } from '../../shared/contract/system';
import { availableFrom, formatGB, RAM_RESERVE_BYTES } from '../../shared/models/memory';
import { choosePreset, CPU_TIER, GPU_TIERS, presetTiers } from '../../shared/training/presets';
import type { BaseFile, Preset, TierReport, TrainingChoice } from '../../shared/training/presets';
import type { Core } from '../../electron/core/services';
import { defineCommand, UsageError } from './command';
import { printJson, withCore } from './withCore';

const VRAM_RANGE = { min: 1, max: 1024 } as const;

/** A model to plan for: its shape and the files it comes in (installed or in the catalog). */
interface PlannedModel {
  readonly name: string;
  /** "installed model 3", "catalog llama-3-8b-instruct", … */
  readonly source: string;
  readonly shape: ModelShape;
  readonly files: readonly (BaseFile & { installed: boolean })[];
  readonly catalogId: string | null;
}

/**
 * `architect presets --model ID|FILE [--vram GB] [--max-length N] [--json]`: the guide's training presets for a
 * model on this machine (free VRAM on a GPU backend, else RAM) or on a stated VRAM; every tier with fits or not, and why.
 */
export const presetsCommand = defineCommand({
  name: 'presets',
  summary: 'Which training settings fit this machine (or a stated VRAM) for a model: every tier of the guide, with fits or not and why.',
  options: {
    model: { type: 'string', placeholder: 'ID|FILE', description: 'an installed model id, a catalog id (e.g. llama-3-8b-instruct), or a GGUF file (imported in place)' },
    vram: { type: 'string', placeholder: 'GB', description: `judge for this much free VRAM in GB (10⁹ bytes, a decimal number from ${VRAM_RANGE.min} to ${VRAM_RANGE.max}) instead of this machine` },
    'max-length': { type: 'string', placeholder: 'N', description: "tokens per example (a whole number from 8 to the model's context; default 512)" },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(values) {
    if (values.model === undefined) throw new UsageError('give --model ID|FILE: an installed model id, a catalog id or a GGUF file');
    const vram = values.vram === undefined ? undefined : decimalGB(values.vram);
    const maxLengthText = values['max-length'];
    if (maxLengthText !== undefined && !/^\d+$/.test(maxLengthText)) {
      throw new UsageError(`--max-length must be a whole number from 8 to the model's context (e.g. 512), got '${maxLengthText}'`);
    }
    const json = values.json === true;
    const model = values.model;
    return withCore(values['data-dir'], async (core) => {
      const planned = await resolveModel(core, model);
      const maxLength = maxLengthText === undefined ? Math.min(512, planned.shape.contextLength) : Number(maxLengthText);
      if (maxLength < 8 || maxLength > planned.shape.contextLength) {
        throw new UsageError(`--max-length must be a whole number from 8 to ${planned.shape.contextLength} (the model's context), got '${maxLengthText}'`);
      }
      const where = vram !== undefined ? statedVram(vram) : machineMemory(await core.connect().api.system.hardware({}));
      const input = { shape: planned.shape, baseFiles: planned.files, memoryBytes: where.memoryBytes, device: where.device, maxLength };
      const preset = choosePreset(input);
      const tiers = presetTiers(input);
      if (json) {
        printJson({ model: planned, device: where.device, memoryBytes: where.memoryBytes, memorySource: where.source, maxLength, preset, tiers });
      } else {
        console.log(describe(planned, where, maxLength, preset, tiers));
      }
      return 0;
    });
  },
});

/** --vram: decimal digits only (no units, exponents or hex), within the range. */
function decimalGB(text: string): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || value < VRAM_RANGE.min || value > VRAM_RANGE.max) {
    throw new UsageError(`--vram must be a decimal number of GB from ${VRAM_RANGE.min} to ${VRAM_RANGE.max}, such as 12 or 11.5, got '${text}'`);
  }
  return value;
}

interface Where {
  readonly device: 'gpu' | 'cpu';
  readonly memoryBytes: number;
  readonly source: 'vram-option' | 'gpu-free' | 'ram';
  /** How the figure was found, in words. */
  readonly text: string;
}

function statedVram(gb: number): Where {
  return { device: 'gpu', memoryBytes: gb * 1e9, source: 'vram-option', text: `${formatGB(gb * 1e9)} of VRAM (--vram)` };
}

/** Free VRAM when node-llama-cpp runs on a GPU backend; else total RAM less what the system keeps. */
function machineMemory(hardware: HardwareInfo): Where {
  const { gpuFreeBytes, ramTotalBytes } = availableFrom(hardware);
  if (gpuFreeBytes !== null) {
    const names = hardware.compute.deviceNames.join(', ');
    return { device: 'gpu', memoryBytes: gpuFreeBytes, source: 'gpu-free', text: `${formatGB(gpuFreeBytes)} free VRAM on ${hardware.compute.backend}${names ? ` (${names})` : ''}` };
  }
  const usable = ramTotalBytes - RAM_RESERVE_BYTES;
  if (usable <= 0) throw new Error(`this machine reports ${formatGB(ramTotalBytes)} of RAM, less than the ${formatGB(RAM_RESERVE_BYTES)} the system keeps`);
  const why = hardware.compute.backend === null ? `no compute backend (${hardware.compute.error ?? 'unknown reason'})` : 'no GPU backend';
  return {
    device: 'cpu',
    memoryBytes: usable,
    source: 'ram',
    text: `${formatGB(usable)} of RAM (${formatGB(ramTotalBytes)} less ${formatGB(RAM_RESERVE_BYTES)} kept for the system); ${why}, so training runs on the CPU`,
  };
}

/** Bits per weight from a quantization or file-type name: Q4_K_M → 4, Q8_0 → 8, MOSTLY_F16 → 16, ALL_F32 → 32. */
export function bitsOf(type: string): number | null {
  const t = type.toUpperCase().replace(/^(MOSTLY|ALL)_/, '');
  if (t === 'F32') return 32;
  if (t === 'F16' || t === 'BF16') return 16;
  const digits = /^I?Q(\d)/.exec(t);
  return digits ? Number(digits[1]) : null;
}

async function resolveModel(core: Core, given: string): Promise<PlannedModel> {
  const { models } = core.services;
  const catalog = (await models.catalog()).items;
  if (/^[1-9]\d*$/.test(given)) {
    const { models: installed } = await models.list();
    if (!installed.some((m) => m.id === Number(given))) throw new UsageError(`there is no installed model ${given}; \`architect models\` lists them`);
    return fromInstalled(models.get(Number(given)), catalog);
  }
  const entry = catalog.find((item) => item.id === given);
  if (entry) {
    return {
      name: entry.name,
      source: `catalog ${entry.id}`,
      shape: entry.shape,
      files: entry.files.map((f) => ({ bits: f.bits, bytes: f.sizeBytes, quant: f.quant, installed: f.installedModelId !== null })),
      catalogId: entry.id,
    };
  }
  const path = resolve(given);
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) {
    throw new UsageError(`--model ${given}: no installed model id, catalog id (${catalog.map((i) => i.id).join(', ')}) or file of that name`);
  }
  const known = (await models.list()).models.find((m) => m.path === path);
  return fromInstalled(known ?? (await models.import({ path })), catalog);
}

function fromInstalled(model: InstalledModel, catalog: readonly CatalogItem[]): PlannedModel {
  if (!model.trainable || model.shape === null) {
    throw new Error(`model ${model.id} (${model.name}) cannot be trained: ${model.trainReason ?? 'its shape is unknown'}`);
  }
  const quant = model.quant ?? model.fileType.replace(/^(MOSTLY|ALL)_/, '');
  const bits = bitsOf(quant);
  if (bits === null) throw new Error(`model ${model.id} (${model.name}): cannot tell the bits per weight of its type ${model.fileType}`);
  const files: (BaseFile & { installed: boolean })[] = [{ bits, bytes: model.sizeBytes, quant, installed: true }];
  // A catalog model may come in other files: the 4-bit one for QLoRA, a larger one for the 24gb tier.
  const entry = model.catalogId ? catalog.find((item) => item.id === model.catalogId) : undefined;
  for (const f of entry?.files ?? []) {
    if (f.quant !== quant) files.push({ bits: f.bits, bytes: f.sizeBytes, quant: f.quant, installed: f.installedModelId !== null });
  }
  return { name: model.name, source: `installed model ${model.id} (${model.path})`, shape: model.shape, files, catalogId: model.catalogId };
}

function choiceText(c: TrainingChoice, planned: PlannedModel): string {
  const file = planned.files.find((f) => f.quant === c.base.quant);
  const download = file && !file.installed && planned.catalogId ? ` (not installed: \`architect models download ${planned.catalogId} --quant ${c.base.quant}\`)` : '';
  return `batch ${c.batchSize}, rank ${c.rank}, ${c.base.quant} base${download}, max length ${c.maxLength}, gradient checkpointing ${c.gradientCheckpointing ? 'on' : 'off'}`;
}

function describe(planned: PlannedModel, where: Where, maxLength: number, preset: Preset, tiers: readonly TierReport[]): string {
  const s = planned.shape;
  const lines = [
    `Presets for ${planned.name} (${planned.source}): ${s.layers} layers, width ${s.width}, vocabulary ${s.vocabulary}; files ${planned.files.map((f) => `${f.quant} ${formatGB(f.bytes)}`).join(', ')}`,
    `Memory: ${where.text}; max length ${maxLength} tokens; LoRA on attn_q, attn_k, attn_v, attn_output`,
    '',
  ];
  if (preset.fits) {
    lines.push(`Preset ${preset.name}${preset.name !== preset.tier ? ` (the guide's tier for this memory is ${preset.tier}; it does not fit this model)` : ''}: ${choiceText(preset.config, planned)}`);
    lines.push(`  ${preset.summary}`);
  } else {
    lines.push(`Nothing fits: even ${choiceText(preset.config, planned)} needs ${preset.summary}; ${formatGB(preset.usableBytes)} usable.`);
    lines.push("  The guide's remedies, in its order (each after the ones above):");
    preset.remedies.forEach((r, i) => {
      lines.push(
        r.applies
          ? `  ${i + 1}. ${r.title} (${r.change}): saves ${formatGB(r.savingBytes)}, then ${formatGB(r.totalBytes)}${r.fits ? ' — fits' : ''}`
          : `  ${i + 1}. ${r.title}: ${r.change}`,
      );
    });
  }
  for (const note of preset.notes) lines.push(`  note: ${note}`);
  lines.push('', 'Tiers:');
  for (const t of tiers) {
    lines.push(`  ${t.tier.name.padEnd(5)} ${t.tier.guide}`);
    lines.push(`        ${t.why}`);
    for (const note of t.notes) lines.push(`        note: ${note}`);
  }
  if (where.device === 'cpu') {
    lines.push(`  (the GPU tiers ${GPU_TIERS.map((t) => t.name).join(', ')} need a GPU; --vram GB judges one)`);
  } else if (!tiers.some((t) => t.tier.name === CPU_TIER.name)) {
    lines.push('  (on a machine without a GPU backend the cpu tier applies: batch 1, rank 8, 4-bit, checkpointing when RAM is tight)');
  }
  return lines.join('\n');
}
