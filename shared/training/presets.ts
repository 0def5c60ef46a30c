// Training presets by memory, from the product guide's table, refined by the trainer's memory estimate
// (./memory.ts): what fits this GPU (or CPU), explained in numbers, and what to change when nothing does.
import type { ModelShape } from '../contract/models';
import type { LoraTarget } from './config';
import { estimateTrainingMemory, gbNumber } from './memory';
import type { TrainingMemoryEstimate } from './memory';

const GB = 1e9;
const MIB = 1024 * 1024;

export type PresetName = '8gb' | '12gb' | '16gb' | '24gb' | 'cpu';

/** One GGUF file of the base model (a catalog file or the installed one). */
export interface BaseFile {
  /** Bits per weight of its quantization as the catalog states it: 4, 8, 16, 32. */
  readonly bits: number;
  readonly bytes: number;
  /** E.g. Q4_K_M, Q8_0, F16. */
  readonly quant: string;
}

/** A row of the guide's table: the configurations a tier may take, most generous first. */
export interface Tier {
  readonly name: PresetName;
  /** The guide's memory for the tier in GB (10⁹ bytes); 0 for the CPU. */
  readonly memoryGB: number;
  readonly batchSizes: readonly number[];
  readonly ranks: readonly number[];
  /** The base the guide names: 4-bit (QLoRA) or 16-bit. */
  readonly baseBits: 4 | 16;
  /** The guide's row in words. */
  readonly guide: string;
}

/** The guide: 8 GB batch 1, 4-bit, rank 8; 12 GB batch 1–2, 4-bit, rank 8; 16 GB batch 2–4, 4-bit, rank 8–16; 24 GB+ batch 4–8, 16-bit, rank 16–32. */
export const GPU_TIERS: readonly Tier[] = [
  { name: '8gb', memoryGB: 8, batchSizes: [1], ranks: [8], baseBits: 4, guide: 'batch 1, 4-bit base, rank 8' },
  { name: '12gb', memoryGB: 12, batchSizes: [2, 1], ranks: [8], baseBits: 4, guide: 'batch 1–2, 4-bit base, rank 8' },
  { name: '16gb', memoryGB: 16, batchSizes: [4, 3, 2], ranks: [16, 8], baseBits: 4, guide: 'batch 2–4, 4-bit base, rank 8–16' },
  { name: '24gb', memoryGB: 24, batchSizes: [8, 6, 4], ranks: [32, 16], baseBits: 16, guide: 'batch 4–8, 16-bit base, rank 16–32' },
];

/** A machine without a GPU backend: the smallest run, checkpointing when RAM is tight. */
export const CPU_TIER: Tier = { name: 'cpu', memoryGB: 0, batchSizes: [1], ranks: [8], baseBits: 4, guide: 'batch 1, 4-bit base, rank 8, checkpointing when RAM is tight' };

/** A tier counts from 90% of its nominal size: a "12 GB" card reports a little less free. */
export const TIER_TOLERANCE = 0.9;

/** What is kept free beside the estimate: 10% of the memory and 512 MiB. */
export const MARGIN = { share: 0.1, bytes: 512 * MIB } as const;

/** Step time with gradient checkpointing against without (README: 1.4–1.5× on the bench model). */
export const CHECKPOINTING_TIME_FACTOR = 1.45;

const DEFAULT_TARGETS: readonly LoraTarget[] = ['attn_q', 'attn_k', 'attn_v', 'attn_output'];
const DEFAULT_MAX_LENGTH = 512;

export interface TrainingChoice {
  readonly batchSize: number;
  readonly rank: number;
  readonly gradientCheckpointing: boolean;
  readonly maxLength: number;
  readonly base: BaseFile;
  readonly targets: readonly LoraTarget[];
}

export interface TimeEstimate {
  readonly seconds: number;
  readonly tokens: number;
  /** E.g. "about 1 h 5 min: 50 examples × 3 epochs × at most 512 tokens at 120 tokens/s". */
  readonly summary: string;
}

export type RemedyKind = 'base-4bit' | 'batch-1' | 'shorter-max-length' | 'gradient-checkpointing' | 'smaller-rank';

/** One of the guide's remedies for out-of-memory, applied after the ones before it. */
export interface Remedy {
  readonly kind: RemedyKind;
  /** The guide's words: "4-bit base", "batch 1", "shorter max length", "gradient checkpointing", "smaller rank". */
  readonly title: string;
  /** False when the configuration already has it (the saving is then 0). */
  readonly applies: boolean;
  /** E.g. "Q8_0 → Q4_K_M", "batch 4 → 1", "already on". */
  readonly change: string;
  readonly savingBytes: number;
  /** The estimate with this remedy and the ones before it. */
  readonly totalBytes: number;
  readonly fits: boolean;
  readonly config: TrainingChoice;
}

export interface FitCheck {
  readonly fits: boolean;
  readonly config: TrainingChoice;
  readonly estimate: TrainingMemoryEstimate;
  readonly memoryBytes: number;
  /** memoryBytes less the margin. */
  readonly usableBytes: number;
  /** E.g. "7.9 GB of 12: weights 3.8, activations 2.6, optimizer 0.02, LoRA 0.01, gradients 0.01, backend 0.5; 1.7 kept free (10% + 512 MiB)". */
  readonly summary: string;
  /** The guide's remedies in its order (empty when it fits). */
  readonly remedies: readonly Remedy[];
}

export interface FitInput {
  readonly shape: ModelShape;
  readonly base: BaseFile;
  /** Other files of the same model, for the "4-bit base" remedy. */
  readonly baseFiles?: readonly BaseFile[];
  readonly memoryBytes: number;
  readonly device: 'gpu' | 'cpu';
  readonly batchSize: number;
  readonly rank: number;
  readonly maxLength: number;
  readonly gradientCheckpointing: boolean;
  readonly targets?: readonly LoraTarget[];
}

export interface PresetInput {
  readonly shape: ModelShape;
  /** The model's files to choose from (a catalog entry's, or the one installed). */
  readonly baseFiles: readonly BaseFile[];
  /** Free VRAM (gpu) or the RAM training may use (cpu), in bytes. */
  readonly memoryBytes: number;
  readonly device: 'gpu' | 'cpu';
  /** Tokens per example; default 512 (the guide's), at most the model's context. */
  readonly maxLength?: number;
  /** Measured training tokens/s on this machine without checkpointing; gives the time estimate. */
  readonly tokensPerSecond?: number;
  /** For the time estimate: default 50 examples (one adaptive-learning batch) and 3 epochs. */
  readonly examples?: number;
  readonly epochs?: number;
  readonly targets?: readonly LoraTarget[];
}

export interface TierReport {
  readonly tier: Tier;
  readonly fits: boolean;
  /** The tier's largest configuration that fits, or its smallest when none does. */
  readonly config: TrainingChoice;
  readonly estimate: TrainingMemoryEstimate;
  /** E.g. "fits: batch 2, rank 8, Q4_K_M, 6.1 GB of 12: …" or "does not fit: its smallest (…) needs 13.2 GB, 10.3 usable". */
  readonly why: string;
  readonly notes: readonly string[];
}

export interface Preset {
  /** The tier whose configuration was chosen (lower than `tier` when the guide's does not fit this model). */
  readonly name: PresetName;
  /** The guide's tier for this memory. */
  readonly tier: PresetName;
  readonly fits: boolean;
  /** The chosen configuration; when nothing fits, the smallest one tried. */
  readonly config: TrainingChoice;
  readonly estimate: TrainingMemoryEstimate;
  readonly memoryBytes: number;
  readonly usableBytes: number;
  /** "7.9 GB of 12: weights 3.8, activations 2.6, …". */
  readonly summary: string;
  /** Why this one: files substituted, tiers that did not fit, checkpointing turned on. */
  readonly notes: readonly string[];
  readonly time: TimeEstimate | null;
  /** When nothing fits: the guide's remedies in its order, each with its saving. */
  readonly remedies: readonly Remedy[];
}

function fail(message: string): never {
  throw new RangeError(message);
}

function checkBytes(value: number, what: string): void {
  if (typeof value !== 'number' || Number.isNaN(value)) fail(`${what} must be a number of bytes, got ${String(value)}`);
  if (!Number.isFinite(value)) fail(`${what} must be finite, got ${value}`);
  if (value <= 0) fail(`${what} must be more than 0 bytes, got ${value}`);
}

function checkWhole(value: number, what: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(`${what} must be a whole number from ${min} to ${max}, got ${String(value)}`);
  }
}

function checkFile(file: BaseFile, what: string): void {
  checkBytes(file.bytes, `${what}.bytes`);
  checkWhole(file.bits, `${what}.bits`, 1, 32);
  if (typeof file.quant !== 'string' || file.quant.length === 0) fail(`${what}.quant must name the quantization, e.g. Q4_K_M`);
}

function checkDevice(device: string): void {
  if (device !== 'gpu' && device !== 'cpu') fail(`device must be 'gpu' or 'cpu', got ${String(device)}`);
}

/** memoryBytes less the margin (10% + 512 MiB), at least 0. */
export function usableBytes(memoryBytes: number): number {
  return Math.max(0, memoryBytes * (1 - MARGIN.share) - MARGIN.bytes);
}

/** The guide's tier for a GPU with this much memory: the largest whose size it reaches (within 10%), at least 8gb. */
export function tierFor(memoryBytes: number): Tier {
  checkBytes(memoryBytes, 'memoryBytes');
  let tier = GPU_TIERS[0]!;
  for (const t of GPU_TIERS) if (memoryBytes >= t.memoryGB * GB * TIER_TOLERANCE) tier = t;
  return tier;
}

/** The file a tier asks for: 4-bit (else the fewest bits), or 16-bit (else the most bits up to 16, else the fewest above). */
export function pickBase(files: readonly BaseFile[], bits: 4 | 16): { file: BaseFile; note: string | null } {
  if (files.length === 0) fail('baseFiles must list at least one file of the model');
  const exact = files.filter((f) => f.bits === bits).sort((a, b) => a.bytes - b.bytes)[0];
  if (exact) return { file: exact, note: null };
  const byBits = [...files].sort((a, b) => a.bits - b.bits || a.bytes - b.bytes);
  const file = bits === 4 ? byBits[0]! : (byBits.filter((f) => f.bits <= 16).at(-1) ?? byBits[0]!);
  return { file, note: `no ${bits}-bit file of this model: ${file.quant} (${file.bits}-bit) is the closest` };
}

function memoryGBText(bytes: number): string {
  const gb = bytes / GB;
  return Number.isInteger(Math.round(gb * 10) / 10) ? String(Math.round(gb)) : (Math.round(gb * 10) / 10).toFixed(1);
}

function describeChoice(c: TrainingChoice): string {
  return `batch ${c.batchSize}, rank ${c.rank}, ${c.base.quant} (${c.base.bits}-bit) base, max length ${c.maxLength}${c.gradientCheckpointing ? ', gradient checkpointing' : ''}`;
}

function estimateFor(shape: ModelShape, c: TrainingChoice, device: 'gpu' | 'cpu', memoryBytes: number): TrainingMemoryEstimate {
  return estimateTrainingMemory({
    shape,
    base: { bytes: c.base.bytes, type: c.base.quant },
    rank: c.rank,
    targets: c.targets,
    batchSize: c.batchSize,
    maxLength: c.maxLength,
    gradientCheckpointing: c.gradientCheckpointing,
    device,
    // The session keeps the weights' transposed copies when 4× the weights fit in a quarter of free memory (native/index.ts).
    cacheWeightCopies: device === 'cpu' && !c.gradientCheckpointing && 16 * c.base.bytes <= memoryBytes,
  });
}

/** "7.9 GB of 12: weights 3.8, activations 2.6, optimizer 0.02, LoRA 0.01, gradients 0.01, backend 0.5; 1.7 kept free (10% + 512 MiB)". */
export function memorySummary(estimate: TrainingMemoryEstimate, memoryBytes: number): string {
  const p = estimate.parts;
  const parts = [
    `weights ${gbNumber(p.weights)}`,
    `activations ${gbNumber(p.activations)}`,
    `optimizer ${gbNumber(p.optimizer)}`,
    `LoRA ${gbNumber(p.lora)}`,
    `gradients ${gbNumber(p.gradients)}`,
    `backend ${gbNumber(p.backend)}`,
  ];
  const margin = memoryBytes - usableBytes(memoryBytes);
  return `${gbNumber(estimate.totalBytes)} GB of ${memoryGBText(memoryBytes)}: ${parts.join(', ')}; ${gbNumber(margin)} kept free (10% + 512 MiB)`;
}

/** The training time for a measured tokens/s: examples × epochs × tokens per example, slower with checkpointing. */
export function trainingTime(
  tokensPerSecond: number,
  options: { examples: number; epochs: number; tokensPerExample: number; gradientCheckpointing: boolean },
): TimeEstimate {
  if (typeof tokensPerSecond !== 'number' || !Number.isFinite(tokensPerSecond) || tokensPerSecond <= 0) {
    fail(`tokensPerSecond must be a measured rate above 0, got ${String(tokensPerSecond)}`);
  }
  checkWhole(options.examples, 'examples', 1);
  checkWhole(options.epochs, 'epochs', 1, 1000);
  const tokens = options.examples * options.epochs * options.tokensPerExample;
  const factor = options.gradientCheckpointing ? CHECKPOINTING_TIME_FACTOR : 1;
  const seconds = (tokens / tokensPerSecond) * factor;
  const minutes = Math.round(seconds / 60);
  const time = seconds < 60 ? `${Math.max(1, Math.round(seconds))} s` : minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  const rate = tokensPerSecond >= 100 ? Math.round(tokensPerSecond).toString() : tokensPerSecond.toPrecision(2);
  return {
    seconds,
    tokens,
    summary:
      `about ${time}: ${options.examples} examples × ${options.epochs} epochs × at most ${options.tokensPerExample} tokens at ${rate} tokens/s` +
      (factor > 1 ? ` (× ${CHECKPOINTING_TIME_FACTOR} for gradient checkpointing)` : ''),
  };
}

function checkFitInput(input: FitInput): void {
  checkBytes(input.memoryBytes, 'memoryBytes');
  checkDevice(input.device);
  checkFile(input.base, 'base');
  input.baseFiles?.forEach((f, i) => checkFile(f, `baseFiles[${i}]`));
  checkWhole(input.batchSize, 'batchSize', 1, 512);
  checkWhole(input.rank, 'rank', 1, 1024);
  checkWhole(input.maxLength, 'maxLength', 8, input.shape.contextLength);
}

/**
 * Whether one configuration fits `memoryBytes` with the margin; when not, the guide's remedies for out-of-memory in
 * its order — 4-bit base, batch 1, shorter max length (half), gradient checkpointing, smaller rank (half) — each
 * applied after the ones before it, with its saving and the total after it.
 */
export function checkFits(input: FitInput): FitCheck {
  checkFitInput(input);
  const { shape, device, memoryBytes } = input;
  const config: TrainingChoice = {
    batchSize: input.batchSize,
    rank: input.rank,
    gradientCheckpointing: input.gradientCheckpointing,
    maxLength: input.maxLength,
    base: input.base,
    targets: input.targets ?? DEFAULT_TARGETS,
  };
  const usable = usableBytes(memoryBytes);
  const estimate = estimateFor(shape, config, device, memoryBytes);
  const fits = estimate.totalBytes <= usable;
  const result = { fits, config, estimate, memoryBytes, usableBytes: usable, summary: memorySummary(estimate, memoryBytes) };
  if (fits) return { ...result, remedies: [] };

  const remedies: Remedy[] = [];
  let current = config;
  let total = estimate.totalBytes;
  const step = (kind: RemedyKind, title: string, next: TrainingChoice | string, change: string) => {
    if (typeof next === 'string') {
      remedies.push({ kind, title, applies: false, change: next, savingBytes: 0, totalBytes: total, fits: total <= usable, config: current });
      return;
    }
    const after = estimateFor(shape, next, device, memoryBytes).totalBytes;
    remedies.push({ kind, title, applies: true, change, savingBytes: total - after, totalBytes: after, fits: after <= usable, config: next });
    current = next;
    total = after;
  };
  const files = [input.base, ...(input.baseFiles ?? [])];
  const fourBit = files.filter((f) => f.bits <= 4).sort((a, b) => a.bytes - b.bytes)[0];
  if (current.base.bits <= 4) step('base-4bit', '4-bit base', `already ${current.base.quant} (${current.base.bits}-bit)`, '');
  else if (!fourBit) step('base-4bit', '4-bit base', 'no 4-bit file of this model is known', '');
  else step('base-4bit', '4-bit base', { ...current, base: fourBit }, `${current.base.quant} → ${fourBit.quant}`);
  if (current.batchSize === 1) step('batch-1', 'batch 1', 'already 1', '');
  else step('batch-1', 'batch 1', { ...current, batchSize: 1 }, `batch ${current.batchSize} → 1`);
  const shorter = Math.max(8, Math.floor(current.maxLength / 2));
  if (current.maxLength <= 64) step('shorter-max-length', 'shorter max length', `already ${current.maxLength} tokens`, '');
  else step('shorter-max-length', 'shorter max length', { ...current, maxLength: shorter }, `max length ${current.maxLength} → ${shorter}`);
  if (current.gradientCheckpointing) step('gradient-checkpointing', 'gradient checkpointing', 'already on', '');
  else step('gradient-checkpointing', 'gradient checkpointing', { ...current, gradientCheckpointing: true }, 'on (about 1.45× the step time)');
  const smaller = Math.max(1, Math.floor(current.rank / 2));
  if (current.rank <= 4) step('smaller-rank', 'smaller rank', `already rank ${current.rank}`, '');
  else step('smaller-rank', 'smaller rank', { ...current, rank: smaller }, `rank ${current.rank} → ${smaller}`);
  return { ...result, remedies };
}

function remedyText(r: Remedy, index: number): string {
  if (!r.applies) return `${index + 1}. ${r.title}: ${r.change}`;
  return `${index + 1}. ${r.title} (${r.change}): saves ${gbNumber(r.savingBytes)} GB, ${gbNumber(r.totalBytes)} GB${r.fits ? ', fits' : ''}`;
}

/** Null when the configuration fits; else why not, with the guide's remedies in its order and what each saves. */
export function refuse(input: FitInput): string | null {
  const check = checkFits(input);
  if (check.fits) return null;
  const where = input.device === 'gpu' ? 'the GPU' : 'system memory';
  return (
    `${describeChoice(check.config)} does not fit ${where}: ${check.summary}, ${gbNumber(check.usableBytes)} usable. ` +
    `What would make it fit, in this order: ${check.remedies.map(remedyText).join('; ')}.`
  );
}

interface Validated {
  shape: ModelShape;
  files: readonly BaseFile[];
  memoryBytes: number;
  device: 'gpu' | 'cpu';
  maxLength: number;
  targets: readonly LoraTarget[];
}

function validate(input: PresetInput): Validated {
  checkBytes(input.memoryBytes, 'memoryBytes');
  checkDevice(input.device);
  if (!Array.isArray(input.baseFiles) || input.baseFiles.length === 0) fail('baseFiles must list at least one file of the model');
  input.baseFiles.forEach((f, i) => checkFile(f, `baseFiles[${i}]`));
  const maxLength = input.maxLength ?? Math.min(DEFAULT_MAX_LENGTH, input.shape.contextLength);
  checkWhole(maxLength, 'maxLength', 8, input.shape.contextLength);
  if (input.tokensPerSecond !== undefined && !(Number.isFinite(input.tokensPerSecond) && input.tokensPerSecond > 0)) {
    fail(`tokensPerSecond must be a measured rate above 0, got ${String(input.tokensPerSecond)}`);
  }
  return { shape: input.shape, files: input.baseFiles, memoryBytes: input.memoryBytes, device: input.device, maxLength, targets: input.targets ?? DEFAULT_TARGETS };
}

interface TierSearch {
  fits: boolean;
  config: TrainingChoice;
  estimate: TrainingMemoryEstimate;
  notes: string[];
}

/**
 * A tier's largest configuration that fits: rank first, then no checkpointing, then batch (the guide's remedies give
 * up batch before turning on checkpointing, and checkpointing before rank); its smallest (with checkpointing) when none fits.
 */
function searchTier(v: Validated, tier: Tier): TierSearch {
  const { file, note } = pickBase(v.files, tier.baseBits);
  const notes = note ? [note] : [];
  const usable = usableBytes(v.memoryBytes);
  let firstMiss: { config: TrainingChoice; estimate: TrainingMemoryEstimate } | undefined;
  let last: { config: TrainingChoice; estimate: TrainingMemoryEstimate } | undefined;
  for (const rank of tier.ranks) {
    for (const gradientCheckpointing of [false, true]) {
      for (const batchSize of tier.batchSizes) {
        const config: TrainingChoice = { batchSize, rank, gradientCheckpointing, maxLength: v.maxLength, base: file, targets: v.targets };
        const estimate = estimateFor(v.shape, config, v.device, v.memoryBytes);
        last = { config, estimate };
        if (estimate.totalBytes <= usable) {
          if (gradientCheckpointing && firstMiss) {
            notes.push(`gradient checkpointing: without it, ${describeChoice(firstMiss.config)} needs ${gbNumber(firstMiss.estimate.totalBytes)} GB`);
          }
          return { fits: true, config, estimate, notes };
        }
        firstMiss ??= { config, estimate };
      }
    }
  }
  return { fits: false, config: last!.config, estimate: last!.estimate, notes };
}

function tierReport(v: Validated, tier: Tier): TierReport {
  const found = searchTier(v, tier);
  const usable = usableBytes(v.memoryBytes);
  const why = found.fits
    ? `fits: ${describeChoice(found.config)}: ${memorySummary(found.estimate, v.memoryBytes)}`
    : `does not fit: its smallest (${describeChoice(found.config)}) needs ${gbNumber(found.estimate.totalBytes)} GB, ${gbNumber(usable)} usable of ${memoryGBText(v.memoryBytes)}`;
  return { tier, fits: found.fits, config: found.config, estimate: found.estimate, why, notes: found.notes };
}

/** Every GPU tier of the guide against this memory (or the CPU tier on a CPU), each with fits or not and why. */
export function presetTiers(input: PresetInput): TierReport[] {
  const v = validate(input);
  return (v.device === 'cpu' ? [CPU_TIER] : GPU_TIERS).map((tier) => tierReport(v, tier));
}

/**
 * The guide's tier for this memory, refined by the estimate: the tier's largest configuration that fits with the
 * margin, else the next tier down's; on a CPU batch 1, rank 8, 4-bit, with checkpointing only when RAM is tight.
 * When nothing fits, `fits` is false and `remedies` says what to change, in the guide's order.
 */
export function choosePreset(input: PresetInput): Preset {
  const v = validate(input);
  const guideTier = v.device === 'cpu' ? CPU_TIER : tierFor(v.memoryBytes);
  const tiers = v.device === 'cpu' ? [CPU_TIER] : GPU_TIERS.slice(0, GPU_TIERS.indexOf(guideTier) + 1).reverse();
  const notes: string[] = [];
  let found: TierSearch | undefined;
  let chosen = guideTier;
  for (const tier of tiers) {
    const search = searchTier(v, tier);
    if (search.fits) {
      found = search;
      chosen = tier;
      break;
    }
    notes.push(`the ${tier.name} tier (${tier.guide}) does not fit: its smallest, ${describeChoice(search.config)}, needs ${gbNumber(search.estimate.totalBytes)} GB`);
    found = search;
  }
  const result = found!;
  const usable = usableBytes(v.memoryBytes);
  const time =
    input.tokensPerSecond === undefined
      ? null
      : trainingTime(input.tokensPerSecond, {
          examples: input.examples ?? 50,
          epochs: input.epochs ?? 3,
          tokensPerExample: result.config.maxLength,
          gradientCheckpointing: result.config.gradientCheckpointing,
        });
  const remedies = result.fits
    ? []
    : checkFits({
        shape: v.shape,
        base: result.config.base,
        baseFiles: v.files,
        memoryBytes: v.memoryBytes,
        device: v.device,
        batchSize: result.config.batchSize,
        rank: result.config.rank,
        maxLength: result.config.maxLength,
        gradientCheckpointing: result.config.gradientCheckpointing,
        targets: result.config.targets,
      }).remedies;
  return {
    name: result.fits ? chosen.name : guideTier.name,
    tier: guideTier.name,
    fits: result.fits,
    config: result.config,
    estimate: result.estimate,
    memoryBytes: v.memoryBytes,
    usableBytes: usable,
    summary: memorySummary(result.estimate, v.memoryBytes),
    notes: [...notes, ...result.notes],
    time,
    remedies,
  };
}
