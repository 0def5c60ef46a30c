// Training plans for this machine: the guide's presets for a model (shared/training/presets.ts) against the memory
// the machine offers, whether a configuration fits before a job starts, and whether the generation model must give
// the GPU up for one. The CLI (`architect presets`, `architect train --preset`), the contract and the supervisor use it.
import type { Store } from '../../../db/store';
import type { BackendChoice } from '../../../shared/contract/app';
import type { CatalogItem, InstalledModel, ModelShape } from '../../../shared/contract/models';
import type { HardwareInfo } from '../../../shared/contract/system';
import { PresetsArgs } from '../../../shared/contract/training';
import type { PlanFile, PlannedModel, PresetsResult } from '../../../shared/contract/training';
import { AppError } from '../../../shared/errors';
import { availableFrom, estimateMemory, formatGB, RAM_RESERVE_BYTES } from '../../../shared/models/memory';
import type { TrainingConfig } from '../../../shared/training/config';
import { gbNumber } from '../../../shared/training/memory';
import { CHECKPOINTING_TIME_FACTOR, checkFits, choosePreset, presetTiers, refuse, usableBytes } from '../../../shared/training/presets';
import type { FitInput } from '../../../shared/training/presets';
import { backendSetting } from '../app/settings';
import { parseInput } from '../parseArgs';

/** What the planner reads of the model registry (ModelService has it). */
export interface PlannerModels {
  /** Throws a not_found AppError naming `field` for an unknown id. */
  get(id: number, field?: string): InstalledModel;
  list(): Promise<{ models: InstalledModel[] }>;
  catalog(): Promise<{ items: CatalogItem[] }>;
}

export interface TrainingPlannerDeps {
  readonly models: PlannerModels;
  /** The machine now (the core's probe, a few seconds old at most). */
  readonly hardware: () => Promise<HardwareInfo>;
  /** Jobs and their progress rows, for the measured training speed. */
  readonly store: Store;
}

/** The memory a run is judged against, and how the figure was found. */
export interface MemoryWhere {
  readonly device: 'gpu' | 'cpu';
  readonly memoryBytes: number;
  readonly source: PresetsResult['memorySource'];
  /** In words: "11.2 GB free VRAM on cuda (RTX 3060)". */
  readonly text: string;
}

export interface PlanOptions {
  /** Tokens per example; default 512, at most the model's context. */
  readonly maxLength?: number;
  /** Judge for this much free VRAM in GB (10⁹ bytes) instead of this machine. */
  readonly vramGB?: number;
}

export interface GpuShare {
  /** True when the generation model must stay unloaded while the job trains. */
  readonly unload: boolean;
  /** Why, for the Generate page; null when nothing is unloaded. */
  readonly message: string | null;
}

/** Where a job trains, once its own backend and the app's backend setting are put together. */
export interface JobBackend {
  /** The job's backend resolved: cpu, cuda (any GPU backend), or auto (node-llama-cpp picks) when both say auto. */
  readonly backend: TrainingConfig['backend'];
  /** The node-llama-cpp backend the trainer child loads (its `--backend`). */
  readonly runtime: BackendChoice;
  /** Whether the app's setting decided it: the job leaves its own backend at auto. */
  readonly fromSetting: boolean;
}

/**
 * A job's own backend wins; one left at auto takes the app's backend setting. A job's 'cuda' means any GPU backend,
 * so the trainer loads strictly CUDA only when the app setting asks for CUDA, and the CPU-only runtime for a CPU job.
 */
export function jobBackend(asked: TrainingConfig['backend'], setting: BackendChoice): JobBackend {
  const backend = asked === 'auto' ? setting : asked;
  const runtime = backend === 'cpu' ? 'cpu' : setting === 'cuda' ? 'cuda' : 'auto';
  return { backend, runtime, fromSetting: asked === 'auto' };
}

/** The examples and epochs the time estimate is for: one adaptive-learning batch, the guide's 3 epochs. */
const TIME_FOR = { examples: 50, epochs: 3 } as const;
/** How many jobs back the measured speed is looked for. */
const JOBS_LOOKED_AT = 500;

/** Bits per weight from a quantization or file-type name: Q4_K_M → 4, Q8_0 → 8, MOSTLY_F16 → 16, ALL_F32 → 32. */
export function bitsOf(type: string): number | null {
  const t = type.toUpperCase().replace(/^(MOSTLY|ALL)_/, '');
  if (t === 'F32') return 32;
  if (t === 'F16' || t === 'BF16') return 16;
  const digits = /^I?Q(\d)/.exec(t);
  return digits ? Number(digits[1]) : null;
}

/**
 * An installed model to plan for: its own file first, then the other files of its catalog entry (the 4-bit one for
 * QLoRA, a larger one for the 24gb tier). Throws an invalid_arguments AppError naming `field` when it cannot be trained.
 */
export function fromInstalled(model: InstalledModel, catalog: readonly CatalogItem[], field = 'args.modelId'): PlannedModel {
  if (!model.trainable || model.shape === null) {
    throw new AppError('invalid_arguments', `model ${model.id} (${model.name}) cannot be trained: ${model.trainReason ?? 'its shape is unknown'}`, { field });
  }
  const quant = model.quant ?? model.fileType.replace(/^(MOSTLY|ALL)_/, '');
  const bits = bitsOf(quant);
  if (bits === null) throw new AppError('invalid_arguments', `model ${model.id} (${model.name}): cannot tell the bits per weight of its type ${model.fileType}`, { field });
  const files: PlanFile[] = [{ bits, bytes: model.sizeBytes, quant, installedModelId: model.id }];
  const entry = model.catalogId ? catalog.find((item) => item.id === model.catalogId) : undefined;
  for (const f of entry?.files ?? []) {
    if (f.quant !== quant) files.push({ bits: f.bits, bytes: f.sizeBytes, quant: f.quant, installedModelId: f.installedModelId });
  }
  return { id: model.id, name: model.name, source: `installed model ${model.id} (${model.path})`, shape: model.shape, files, catalogId: model.catalogId };
}

/** A catalog model, installed or not: every file it comes in (no model id: it may be several installed models, or none). */
export function fromCatalog(entry: CatalogItem): PlannedModel {
  return {
    id: null,
    name: entry.name,
    source: `catalog ${entry.id}`,
    shape: entry.shape,
    files: entry.files.map((f) => ({ bits: f.bits, bytes: f.sizeBytes, quant: f.quant, installedModelId: f.installedModelId })),
    catalogId: entry.id,
  };
}

/** A stated VRAM (the CLI's --vram, the contract's vramGB). */
export function statedVram(gb: number): MemoryWhere {
  return { device: 'gpu', memoryBytes: gb * 1e9, source: 'vram-option', text: `${formatGB(gb * 1e9)} of VRAM (stated)` };
}

/** Total RAM less what the system keeps; throws when nothing is left. */
function ramMemory(hardware: HardwareInfo, why: string): MemoryWhere {
  const total = hardware.memory.totalBytes;
  const usable = total - RAM_RESERVE_BYTES;
  if (usable <= 0) throw new AppError('unavailable', `this machine reports ${formatGB(total)} of RAM, less than the ${formatGB(RAM_RESERVE_BYTES)} the system keeps`);
  return { device: 'cpu', memoryBytes: usable, source: 'ram', text: `${formatGB(usable)} of RAM (${formatGB(total)} less ${formatGB(RAM_RESERVE_BYTES)} kept for the system); ${why}` };
}

/** Free VRAM when node-llama-cpp runs on a GPU backend; else total RAM less what the system keeps. */
export function machineMemory(hardware: HardwareInfo): MemoryWhere {
  const { gpuFreeBytes } = availableFrom(hardware);
  if (gpuFreeBytes !== null) {
    const names = hardware.compute.deviceNames.join(', ');
    return { device: 'gpu', memoryBytes: gpuFreeBytes, source: 'gpu-free', text: `${formatGB(gpuFreeBytes)} free VRAM on ${hardware.compute.backend}${names ? ` (${names})` : ''}` };
  }
  const why = hardware.compute.backend === null ? `no compute backend (${hardware.compute.error ?? 'unknown reason'})` : 'no GPU backend';
  return ramMemory(hardware, `${why}, so training runs on the CPU`);
}

/** The first GPU's free memory as the system reports it (nvidia-smi through systeminformation); null when unknown. */
function systemGpuMemory(hardware: HardwareInfo): MemoryWhere | null {
  const gpu = hardware.gpus.find((g) => g.vramTotalBytes !== null && g.vramUsedBytes !== null);
  if (!gpu) return null;
  const free = Math.max(0, gpu.vramTotalBytes! - gpu.vramUsedBytes!);
  return { device: 'gpu', memoryBytes: free, source: 'gpu-free', text: `${formatGB(free)} free VRAM on ${gpu.model} (as the system reports it: generation runs on the CPU by the backend setting)` };
}

/** The middle value (the mean of the two middle ones for an even count). */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The estimate needs maxLength within the context; the memory does not depend on the context, so a longer run is judged as it asks. */
function shapeFor(shape: ModelShape, maxLength: number): ModelShape {
  return maxLength > shape.contextLength ? { ...shape, contextLength: maxLength } : shape;
}

/** One configuration of an installed model against a memory figure, as the pure check takes it. */
function fitInput(model: PlannedModel, where: MemoryWhere, config: TrainingConfig): FitInput {
  const [base, ...others] = model.files;
  return {
    shape: shapeFor(model.shape, config.maxLength),
    base: base!,
    baseFiles: others,
    memoryBytes: where.memoryBytes,
    device: where.device,
    batchSize: config.batchSize,
    rank: config.rank,
    maxLength: config.maxLength,
    gradientCheckpointing: config.gradientCheckpointing,
    targets: config.targets,
  };
}

/**
 * The training planner: the guide's presets for a model on this machine, whether a configuration fits before a
 * job starts, and whether the generation model must give the GPU up for a job.
 */
export class TrainingPlanner {
  constructor(private readonly deps: TrainingPlannerDeps) {}

  /** An installed model with its catalog entry's other files. Throws not_found / invalid_arguments naming `field`. */
  async model(modelId: number, field = 'args.modelId'): Promise<PlannedModel> {
    const model = this.deps.models.get(modelId, field);
    return fromInstalled(model, (await this.deps.models.catalog()).items, field);
  }

  /**
   * The chosen preset and every tier for an installed model, for a job that leaves its backend at auto (so by the app's
   * backend setting): against free VRAM on a GPU backend, else RAM less the reserve (or a stated VRAM); on a CPU with
   * the time a run takes at the measured speed (none before a first job).
   */
  async presets(args: PresetsArgs): Promise<PresetsResult> {
    const { modelId, maxLength, vramGB } = parseInput(PresetsArgs, args);
    return this.plan(await this.model(modelId), { maxLength, vramGB });
  }

  /** The same for a model given as it is (the CLI plans catalog models that are not installed). */
  async plan(model: PlannedModel, options: PlanOptions = {}): Promise<PresetsResult> {
    const { shape } = model;
    const maxLength = options.maxLength ?? Math.min(512, shape.contextLength);
    if (!Number.isInteger(maxLength) || maxLength < 8 || maxLength > shape.contextLength) {
      throw new AppError('invalid_arguments', `maxLength must be a whole number from 8 to ${shape.contextLength} (the model's context), got ${maxLength}`, { field: 'args.maxLength' });
    }
    const where = options.vramGB !== undefined ? statedVram(options.vramGB) : this.trainingMemory(await this.deps.hardware(), 'auto');
    const measured = where.device === 'cpu' && model.id !== null ? this.measuredSpeed(model.id) : null;
    // The estimate scales a rate without checkpointing; a job that ran with it was that much slower.
    const tokensPerSecond = measured ? measured.tokensPerSecond * (measured.gradientCheckpointing ? CHECKPOINTING_TIME_FACTOR : 1) : undefined;
    const input = { shape, baseFiles: model.files, memoryBytes: where.memoryBytes, device: where.device, maxLength, tokensPerSecond, ...TIME_FOR };
    const timeNote =
      where.device !== 'cpu' || measured
        ? null
        : 'The time estimate appears after the first training job on this model: it comes from the speed measured on this machine.';
    return {
      model,
      device: where.device,
      memoryBytes: where.memoryBytes,
      memorySource: where.source,
      memoryText: where.text,
      maxLength,
      preset: choosePreset(input),
      tiers: presetTiers(input),
      measured,
      timeNote,
    };
  }

  /**
   * Null when `config` fits this machine for `modelId`, else why not with the guide's remedies in its order (the
   * `refuse()` text). On a GPU backend it is judged against free VRAM, counting what `generationModel` (the loaded
   * generation model, if any) holds, since it gives the GPU up for a job; with the CPU backend, against RAM.
   */
  async refusal(modelId: number, config: TrainingConfig, generationModel: InstalledModel | null = null): Promise<string | null> {
    const model = await this.model(modelId, 'args.modelId');
    const hardware = await this.deps.hardware();
    const where = this.trainingMemory(hardware, config.backend);
    const held = where.device === 'gpu' ? this.heldBy(generationModel, hardware) : 0;
    return refuse(fitInput(model, { ...where, memoryBytes: where.memoryBytes + held }, config));
  }

  /**
   * Whether the generation model must stay unloaded while a job trains `config` on `modelId`: on a GPU backend, when
   * the training estimate and the generation model's (shared/models/memory.ts, at its 4096-token fit context) are more
   * than what is usable of the free VRAM plus what the generation model holds. On a CPU (or the CPU backend): never.
   * `jobId` goes in the message.
   */
  async gpuShare(modelId: number, config: TrainingConfig, generationModel: InstalledModel | null, jobId?: number): Promise<GpuShare> {
    if (!generationModel) return { unload: false, message: null };
    const hardware = await this.deps.hardware();
    const where = this.trainingMemory(hardware, config.backend);
    if (where.device !== 'gpu') return { unload: false, message: null };
    const model = await this.model(modelId, 'args.modelId');
    const generationBytes = estimateMemory(generationModel.sizeBytes, generationModel.shape).totalBytes;
    const pool = where.memoryBytes + this.heldBy(generationModel, hardware);
    const trainingBytes = checkFits(fitInput(model, { ...where, memoryBytes: pool }, config)).estimate.totalBytes;
    const usable = usableBytes(pool);
    if (trainingBytes + generationBytes <= usable) return { unload: false, message: null };
    const job = jobId === undefined ? 'a training job' : `training job ${jobId}`;
    return {
      unload: true,
      message:
        `Unloaded for ${job}: training needs ${gbNumber(trainingBytes)} GB and the generation model ${gbNumber(generationBytes)} GB, ` +
        `more than the ${gbNumber(usable)} GB usable of the GPU's ${gbNumber(pool)} GB free; it reloads when the job ends.`,
    };
  }

  /**
   * The training speed last measured on `modelId`: the median tokens/s of the progress rows of its most recently
   * finished job (succeeded, failed or cancelled) that recorded any; null before there is one.
   */
  measuredSpeed(modelId: number): PresetsResult['measured'] {
    const { jobs } = this.deps.store;
    const finished = jobs
      .list(JOBS_LOOKED_AT)
      .filter((j) => j.modelId === modelId && j.finishedAt !== null)
      .sort((a, b) => b.finishedAt!.localeCompare(a.finishedAt!) || b.id - a.id);
    for (const job of finished) {
      const rates = jobs.history(job.id).map((p) => p.tokensPerSecond).filter((r) => r > 0 && Number.isFinite(r));
      if (rates.length === 0) continue;
      return { jobId: job.id, tokensPerSecond: median(rates), steps: rates.length, gradientCheckpointing: job.config?.gradientCheckpointing ?? false };
    }
    return null;
  }

  /**
   * The memory a job whose own backend is `asked` trains in (jobBackend: auto takes the app's backend setting): RAM for
   * the CPU backend; else the GPU's free VRAM, from node-llama-cpp's runtime, or from the system where the runtime runs
   * on the CPU by the setting and the job asks for a GPU; else RAM.
   */
  private trainingMemory(hardware: HardwareInfo, asked: TrainingConfig['backend']): MemoryWhere {
    const setting = backendSetting(this.deps.store);
    const { backend, fromSetting } = jobBackend(asked, setting);
    if (backend === 'cpu') return ramMemory(hardware, fromSetting ? "the app's backend setting is CPU only" : 'the job asks for the CPU backend');
    const where = machineMemory(hardware);
    if (where.device === 'cpu' && setting === 'cpu') return systemGpuMemory(hardware) ?? where;
    return where;
  }

  /** What the loaded generation model holds of the GPU: its estimate, at most what the GPU has in use. */
  private heldBy(generationModel: InstalledModel | null, hardware: HardwareInfo): number {
    if (!generationModel) return 0;
    const used = hardware.compute.vram?.usedBytes ?? 0;
    return Math.min(estimateMemory(generationModel.sizeBytes, generationModel.shape).totalBytes, used);
  }
}
