// What this machine can do, in words, for first-run setup: from the hardware probe, the catalog's fits (for
// generation) and the guide's training presets (shared/training/presets.ts, the same estimate the Training page uses).
import type { CatalogItem } from '../../../../shared/contract/models';
import type { HardwareInfo } from '../../../../shared/contract/system';
import { availableFrom, formatGB, RAM_RESERVE_BYTES } from '../../../../shared/models/memory';
import { parameterCount } from '../../../../shared/training/memory';
import { choosePreset } from '../../../../shared/training/presets';
import type { Preset } from '../../../../shared/training/presets';

type CatalogFileItem = CatalogItem['files'][number];

/** A catalog file this machine can use, with how it trains here. */
export interface Suggestion {
  readonly item: CatalogItem;
  readonly file: CatalogFileItem;
  /** The guide's preset for it on this machine; null when the estimate could not be made. */
  readonly preset: Preset | null;
}

export interface MachineSummary {
  /** One line, e.g. "NVIDIA GeForce RTX 4070, 12.0 GB: models up to 8B train in 4-bit". */
  readonly headline: string;
  /** What that rests on, a sentence each. */
  readonly details: readonly string[];
  /** The device training and generation run on. */
  readonly device: 'gpu' | 'cpu';
  /** The catalog's best model for this machine; undefined when none fits or the catalog is empty. */
  readonly suggestion: Suggestion | undefined;
}

/** "8B", "6.7B": the size in the model's name, as people know it; else counted from its shape. */
export function sizeWords(item: CatalogItem): string {
  const named = /(\d+(?:\.\d+)?)B\b/.exec(item.name)?.[1];
  if (named) return `${named}B`;
  const billions = parameterCount(item.shape) / 1e9;
  return billions >= 3 ? `${Math.round(billions)}B` : `${billions.toFixed(1)}B`;
}

/** The file a first run downloads: the 4-bit Q4_K_M (QLoRA), else the smallest 4-bit, else the smallest. */
export function preferredFile(item: CatalogItem): CatalogFileItem | undefined {
  const bySize = [...item.files].sort((a, b) => a.sizeBytes - b.sizeBytes);
  return item.files.find((f) => f.quant === 'Q4_K_M') ?? bySize.find((f) => f.bits === 4) ?? bySize[0];
}

/** Free VRAM on a GPU backend, else total RAM less what the system keeps (as the Training page's planner counts). */
function trainingMemory(info: HardwareInfo): { device: 'gpu' | 'cpu'; bytes: number } {
  const { gpuFreeBytes } = availableFrom(info);
  if (gpuFreeBytes !== null) return { device: 'gpu', bytes: gpuFreeBytes };
  return { device: 'cpu', bytes: Math.max(0, info.memory.totalBytes - RAM_RESERVE_BYTES) };
}

function presetFor(item: CatalogItem, memory: { device: 'gpu' | 'cpu'; bytes: number }): Preset | null {
  if (memory.bytes <= 0) return null;
  try {
    return choosePreset({
      shape: item.shape,
      baseFiles: item.files.map((f) => ({ bits: f.bits, bytes: f.sizeBytes, quant: f.quant })),
      memoryBytes: memory.bytes,
      device: memory.device,
    });
  } catch {
    return null; // a catalog entry the estimate cannot take (its shape): judged by its fit alone
  }
}

/**
 * The machine in words, and the catalog model to suggest: on a GPU the largest whose 4-bit file generates on the
 * GPU and trains there by the guide's presets; on a CPU the catalog's default (the small model meant for any
 * laptop) when it fits in RAM, else the smallest that does.
 */
export function summarizeMachine(info: HardwareInfo, catalog: readonly CatalogItem[]): MachineSummary {
  const memory = trainingMemory(info);
  const ram = `${formatGB(info.memory.totalBytes)} of RAM`;
  const cores = `${info.cpu.physicalCores} CPU cores`;
  const candidates = catalog
    .map((item) => ({ item, file: preferredFile(item) }))
    .filter((c): c is { item: CatalogItem; file: CatalogFileItem } => c.file !== undefined)
    .map((c) => ({ ...c, preset: presetFor(c.item, memory) }))
    .sort((a, b) => parameterCount(b.item.shape) - parameterCount(a.item.shape));
  const details: string[] = [];

  if (memory.device === 'gpu') {
    const vram = info.compute.vram!;
    const name = info.compute.deviceNames[0] ?? info.gpus[0]?.model ?? 'GPU';
    const onGpu = candidates.filter((c) => c.file.fit.where === 'gpu' && c.preset?.fits);
    const best = onGpu[0];
    const head = `${name}, ${formatGB(vram.totalBytes)}`;
    details.push(`${info.compute.backend?.toUpperCase()} backend, ${formatGB(vram.freeBytes)} of its memory free; ${cores}, ${ram}.`);
    if (best) {
      const c = best.preset!.config;
      details.push(`${best.item.name} (${best.file.quant}) trains on it with batch ${c.batchSize}, rank ${c.rank}${c.gradientCheckpointing ? ', gradient checkpointing' : ''}: ${best.preset!.summary}.`);
      details.push(`For generation: ${best.file.fit.summary}.`);
      return { headline: `${head}: models up to ${sizeWords(best.item)} train in ${c.base.bits}-bit`, details, device: 'gpu', suggestion: best };
    }
    const generates = candidates.find((c) => c.file.fit.where === 'gpu');
    details.push(generates ? `${generates.item.name} generates on it, but no catalog model trains in its free memory by the training presets.` : 'No catalog model fits in its free memory: generation and training run on the CPU.');
    const fallback = generates ?? cpuChoice(candidates);
    return { headline: `${head}: too little free memory to train the catalog's models on the GPU`, details, device: 'gpu', suggestion: fallback };
  }

  const why = info.compute.backend === null ? `the compute backend did not load (${info.compute.error ?? 'no reason given'})` : info.gpus.length > 0 ? 'no GPU backend runs on this machine’s GPU' : 'no GPU was found';
  details.push(`${info.cpu.model}: ${cores}, ${ram}; ${why}.`);
  if (info.compute.warning) details.push(info.compute.warning);
  const choice = cpuChoice(candidates);
  if (choice) {
    details.push(`${choice.item.name} (${choice.file.quant}) ${choice.file.fit.where === 'cpu' ? 'fits in RAM' : 'runs here'}: ${choice.file.fit.summary}.`);
    details.push('Training works on the CPU, about 10–20× slower than on a GPU: small models and short runs suit it.');
  } else {
    details.push('No catalog model fits in this machine’s memory; a smaller local GGUF file or an Ollama server may.');
  }
  const headline = choice ? `No GPU: everything runs on the CPU (${ram}); ${sizeWords(choice.item)} models suit it` : `No GPU, and too little memory for the catalog's models (${ram})`;
  return { headline, details, device: 'cpu', suggestion: choice };
}

/** The catalog's default when it fits in RAM, else the smallest model that does. */
function cpuChoice(candidates: readonly Suggestion[]): Suggestion | undefined {
  const fitting = candidates.filter((c) => c.file.fit.where !== 'none');
  return fitting.find((c) => c.item.default) ?? fitting.at(-1);
}
