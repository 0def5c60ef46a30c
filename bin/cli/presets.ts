import { resolve } from 'node:path';
import { statSync } from 'node:fs';
import type { PlannedModel, PresetChoice, PresetPlan, PresetsResult } from '../../shared/contract/training';
import { formatGB } from '../../shared/models/memory';
import { CPU_TIER, GPU_TIERS } from '../../shared/training/presets';
import type { Core } from '../../electron/core/services';
import { fromCatalog, TrainingPlanner } from '../../electron/core/training/plan';
import { defineCommand, UsageError } from './command';
import { printJson, withCore } from './withCore';

export { bitsOf } from '../../electron/core/training/plan';

const VRAM_RANGE = { min: 1, max: 1024 } as const;

/** The planner over a core's services, with the hardware probe through the contract. */
export function plannerOf(core: Core): TrainingPlanner {
  const { models, store } = core.services;
  const client = core.connect();
  return new TrainingPlanner({ models, store, hardware: () => client.api.system.hardware({}) });
}

/**
 * `architect presets --model ID|FILE [--vram GB] [--max-length N] [--json]`: the guide's training presets for a
 * model on this machine (free VRAM on a GPU backend, else RAM) or on a stated VRAM; every tier with fits or not, and why.
 */
export const presetsCommand = defineCommand({
  name: 'presets',
  summary: 'Which training settings fit this machine (or a stated VRAM) for a model: every memory tier (8, 12, 16, 24 GB and CPU), with fits or not and why.',
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
      const planner = plannerOf(core);
      const planned = await resolveModel(core, planner, model);
      const maxLength = maxLengthText === undefined ? Math.min(512, planned.shape.contextLength) : Number(maxLengthText);
      if (maxLength < 8 || maxLength > planned.shape.contextLength) {
        throw new UsageError(`--max-length must be a whole number from 8 to ${planned.shape.contextLength} (the model's context), got '${maxLengthText}'`);
      }
      const plan = await planner.plan(planned, { maxLength, vramGB: vram });
      if (json) {
        const { device, memoryBytes, memorySource, preset, tiers } = plan;
        const files = plan.model.files.map((f) => ({ ...f, installed: f.installedModelId !== null }));
        printJson({ model: { ...plan.model, files }, device, memoryBytes, memorySource, maxLength, preset, tiers });
      } else {
        console.log(describe(plan));
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

/** --model: an installed model id, a catalog id, or a GGUF file (imported in place). */
async function resolveModel(core: Core, planner: TrainingPlanner, given: string): Promise<PlannedModel> {
  const { models } = core.services;
  const catalog = (await models.catalog()).items;
  if (/^[1-9]\d*$/.test(given)) {
    const { models: installed } = await models.list();
    if (!installed.some((m) => m.id === Number(given))) throw new UsageError(`there is no installed model ${given}; \`architect models\` lists them`);
    return planner.model(Number(given), '--model');
  }
  const entry = catalog.find((item) => item.id === given);
  if (entry) return fromCatalog(entry);
  const path = resolve(given);
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) {
    throw new UsageError(`--model ${given}: no installed model id, catalog id (${catalog.map((i) => i.id).join(', ')}) or file of that name`);
  }
  const known = (await models.list()).models.find((m) => m.path === path);
  return planner.model((known ?? (await models.import({ path }))).id, '--model');
}

function choiceText(c: PresetChoice, planned: PlannedModel): string {
  const file = planned.files.find((f) => f.quant === c.base.quant);
  const download = file && file.installedModelId === null && planned.catalogId ? ` (not installed: \`architect models download ${planned.catalogId} --quant ${c.base.quant}\`)` : '';
  return `batch ${c.batchSize}, rank ${c.rank}, ${c.base.quant} base${download}, max length ${c.maxLength}, gradient checkpointing ${c.gradientCheckpointing ? 'on' : 'off'}`;
}

/** The preset line and its estimate (or, when nothing fits, the remedies), then the notes; `architect train --preset` prints these too. */
export function presetLines(preset: PresetPlan, planned: PlannedModel): string[] {
  const lines: string[] = [];
  if (preset.fits) {
    lines.push(`Preset ${preset.name}${preset.name !== preset.tier ? ` (the tier for this memory is ${preset.tier}; it does not fit this model)` : ''}: ${choiceText(preset.config, planned)}`);
    lines.push(`  ${preset.summary}`);
  } else {
    lines.push(`Nothing fits: even ${choiceText(preset.config, planned)} needs ${preset.summary}; ${formatGB(preset.usableBytes)} usable.`);
    lines.push("  What would make it fit, in this order (each after the ones above):");
    preset.remedies.forEach((r, i) => {
      lines.push(
        r.applies
          ? `  ${i + 1}. ${r.title} (${r.change}): saves ${formatGB(r.savingBytes)}, then ${formatGB(r.totalBytes)}${r.fits ? ' — fits' : ''}`
          : `  ${i + 1}. ${r.title}: ${r.change}`,
      );
    });
  }
  for (const note of preset.notes) lines.push(`  note: ${note}`);
  return lines;
}

/** How the memory figure was found; a stated VRAM is the --vram flag here. */
function memoryLine(plan: PresetsResult): string {
  return plan.memorySource === 'vram-option' ? `${formatGB(plan.memoryBytes)} of VRAM (--vram)` : plan.memoryText;
}

function describe(plan: PresetsResult): string {
  const { model: planned, maxLength, preset, tiers } = plan;
  const s = planned.shape;
  const lines = [
    `Presets for ${planned.name} (${planned.source}): ${s.layers} layers, width ${s.width}, vocabulary ${s.vocabulary}; files ${planned.files.map((f) => `${f.quant} ${formatGB(f.bytes)}`).join(', ')}`,
    `Memory: ${memoryLine(plan)}; max length ${maxLength} tokens; LoRA on attn_q, attn_k, attn_v, attn_output`,
    '',
    ...presetLines(preset, planned),
  ];
  lines.push('', 'Tiers:');
  for (const t of tiers) {
    lines.push(`  ${t.tier.name.padEnd(5)} ${t.tier.guide}`);
    lines.push(`        ${t.why}`);
    for (const note of t.notes) lines.push(`        note: ${note}`);
  }
  if (plan.device === 'cpu') {
    lines.push(`  (the GPU tiers ${GPU_TIERS.map((t) => t.name).join(', ')} need a GPU; --vram GB judges one)`);
  } else if (!tiers.some((t) => t.tier.name === CPU_TIER.name)) {
    lines.push('  (on a machine without a GPU backend the cpu tier applies: batch 1, rank 8, 4-bit, checkpointing when RAM is tight)');
  }
  return lines.join('\n');
}
