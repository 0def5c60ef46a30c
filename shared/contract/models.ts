import { z } from 'zod';
import { defineMethod, defineService } from '../rpc/contract';
import { Id, Timestamp } from './feedback';

const Bytes = z.number().int().nonnegative();
const Count = z.number().int().positive();

/** A llama-family model's shape: what memory estimates need before a file is on disk. */
export const ModelShape = z.object({
  layers: Count,
  /** Hidden width (n_embd). */
  width: Count,
  heads: Count,
  kvHeads: Count,
  feedForward: Count,
  vocabulary: Count,
  /** The context length the model was trained for. */
  contextLength: Count,
});
export type ModelShape = z.infer<typeof ModelShape>;

/** One downloadable GGUF of a catalog model. */
export const CatalogFile = z.object({
  /** The quantization as llama.cpp names it, e.g. Q4_K_M, Q8_0, F16. */
  quant: z.string().min(1),
  /** A URI node-llama-cpp's downloader resolves (`hf:owner/repo/file.gguf`) or an http(s) URL. */
  uri: z.string().min(1),
  sizeBytes: Bytes,
  /** 4-bit files are the QLoRA choice: the base stays quantized while adapters train. */
  bits: z.number().int().positive(),
});
export type CatalogFile = z.infer<typeof CatalogFile>;

export const CatalogEntry = z.object({
  /** Stable id, e.g. `llama-3.2-1b-instruct`. */
  id: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/),
  name: z.string().min(1),
  licence: z.string().min(1),
  description: z.string(),
  /** general.architecture of its GGUF files; `llama` is what our trainer trains. */
  architecture: z.string().min(1),
  shape: ModelShape,
  files: z.array(CatalogFile).min(1),
  /** The small default that runs on any laptop CPU. */
  default: z.boolean().default(false),
});
export type CatalogEntry = z.infer<typeof CatalogEntry>;

/** Whether a model file fits this machine for generation, in numbers a person can check. */
export const ModelFit = z.object({
  /** gpu: all layers in VRAM; cpu: in system memory; none: neither holds it. */
  where: z.enum(['gpu', 'cpu', 'none']),
  requiredBytes: Bytes,
  /** VRAM free (gpu) or RAM total (cpu), the figure the decision was made against. */
  availableBytes: Bytes,
  /** E.g. "needs 5.1 GB (weights 4.4, context 0.5, buffers 0.2); the GPU has 11.2 GB free". */
  summary: z.string(),
});
export type ModelFit = z.infer<typeof ModelFit>;

export const CatalogItem = CatalogEntry.extend({
  files: z.array(CatalogFile.extend({ fit: ModelFit, installedModelId: Id.nullable() })),
});
export type CatalogItem = z.infer<typeof CatalogItem>;

export const ModelSource = z.enum(['catalog', 'url', 'import']);
export type ModelSource = z.infer<typeof ModelSource>;

/** A base model the app can generate with, stored in SQLite with its hash. */
export const InstalledModel = z.object({
  id: Id,
  name: z.string(),
  /** Absolute path; inside `<data>/models/` unless imported in place. */
  path: z.string(),
  /** True when the file lies inside `<data>/models/` (only then does delete remove the file). */
  managed: z.boolean(),
  sizeBytes: Bytes,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  architecture: z.string(),
  /** The GGUF file type in words, e.g. "MOSTLY_Q4_K_M". */
  fileType: z.string(),
  shape: ModelShape.nullable(),
  /** False: usable for generation only; `trainReason` says why. */
  trainable: z.boolean(),
  trainReason: z.string().nullable(),
  source: ModelSource,
  catalogId: z.string().nullable(),
  quant: z.string().nullable(),
  /** Null when the file is gone; generation then refuses it with the path. */
  missing: z.boolean(),
  fit: ModelFit.nullable(),
  createdAt: Timestamp,
});
export type InstalledModel = z.infer<typeof InstalledModel>;

export const DownloadState = z.enum(['downloading', 'paused', 'verifying', 'done', 'failed', 'cancelled']);
export type DownloadState = z.infer<typeof DownloadState>;

/** One download, kept in SQLite so a crash leaves it resumable. */
export const Download = z.object({
  id: Id,
  uri: z.string(),
  catalogId: z.string().nullable(),
  quant: z.string().nullable(),
  fileName: z.string(),
  state: DownloadState,
  bytes: Bytes,
  totalBytes: Bytes.nullable(),
  bytesPerSecond: z.number().nonnegative(),
  etaSeconds: z.number().nonnegative().nullable(),
  error: z.string().nullable(),
  /** The installed model, once done. */
  modelId: Id.nullable(),
  updatedAt: Timestamp,
});
export type Download = z.infer<typeof Download>;

export const DownloadArgs = z.union([
  z.object({ catalogId: z.string().min(1).max(200), quant: z.string().min(1).max(50).optional() }).strict(),
  z.object({ uri: z.string().min(1).max(4000) }).strict(),
]);
export type DownloadArgs = z.input<typeof DownloadArgs>;

/** A model served by an Ollama server. */
export const OllamaModel = z.object({
  name: z.string(),
  sizeBytes: Bytes,
  family: z.string().nullable(),
  parameterSize: z.string().nullable(),
  quantization: z.string().nullable(),
});
export type OllamaModel = z.infer<typeof OllamaModel>;

export const OllamaStatus = z.object({
  host: z.string(),
  reachable: z.boolean(),
  version: z.string().nullable(),
  models: z.array(OllamaModel),
  /** Why the server could not be used; the local models keep working. */
  error: z.string().nullable(),
});
export type OllamaStatus = z.infer<typeof OllamaStatus>;

export const modelsService = defineService({
  methods: {
    catalog: defineMethod({
      summary: 'The catalog of base models, each file with its size and whether it fits this machine.',
      args: z.object({}).strict(),
      result: z.object({ items: z.array(CatalogItem) }),
    }),
    list: defineMethod({
      summary: 'The installed base models with size, hash, architecture and whether they can be trained.',
      args: z.object({}).strict(),
      result: z.object({ models: z.array(InstalledModel), folder: z.string() }),
    }),
    import: defineMethod({
      summary: 'Register a local GGUF file by path (its header is read and its SHA-256 taken).',
      args: z.object({ path: z.string().min(1).max(4096) }).strict(),
      result: InstalledModel,
    }),
    delete: defineMethod({
      summary: 'Remove a model from the list; its file is deleted only when it lies in the models folder.',
      args: z.object({ id: Id }).strict(),
      result: z.object({ fileDeleted: z.boolean(), path: z.string() }),
    }),
    download: defineMethod({
      summary: 'Start (or resume) downloading a catalog file or a URL into the models folder; progress comes as events.',
      args: DownloadArgs,
      result: Download,
    }),
    downloads: defineMethod({
      summary: 'Downloads that are running, paused (cancelled or interrupted) or failed.',
      args: z.object({}).strict(),
      result: z.object({ downloads: z.array(Download) }),
    }),
    cancelDownload: defineMethod({
      summary: 'Pause a download (its partial file is kept for resume), or discard it with its partial file.',
      args: z.object({ id: Id, discard: z.boolean().default(false) }).strict(),
      result: Download,
    }),
    resumeDownload: defineMethod({
      summary: 'Continue a paused or failed download from where it stopped.',
      args: z.object({ id: Id }).strict(),
      result: Download,
    }),
    ollama: defineMethod({
      summary: 'Whether an Ollama server answers at the configured host, and its models.',
      args: z.object({}).strict(),
      result: OllamaStatus,
    }),
  },
  events: {
    /** A download's progress, about every 250 ms, and each change of state. */
    download: Download,
    /** The installed list changed (download finished, import, delete). */
    changed: z.object({ models: z.array(InstalledModel) }),
  },
});
