import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { z } from 'zod';
import type { Store } from '../../../db/store';
import type { ImportJob } from '../../../shared/contract/datasetJobs';
import { BuildFromFeedbackArgs, DatasetSettings, ImportFileArgs } from '../../../shared/contract/datasets';
import type { datasetsService, DatasetDetail, DatasetFormat, DatasetSummary, ImportOutcome, ImportProgress } from '../../../shared/contract/datasets';
import { AppError } from '../../../shared/errors';
import { MAX_RECORD_BYTES } from '../../../shared/datasets/reader';
import type { ConnectionScope } from '../../../shared/rpc/contract';
import type { EncodedJson } from '../../../shared/rpc/protocol';
import type { Clock } from '../clock';
import { checkRegularFile, readHead } from '../files';
import type { LearningLoop } from '../learning';
import { parseInput } from '../parseArgs';
import { exportPageEncoded } from './export';
import type { ExportedPage } from './export';
import { DEFAULT_WORKER_FILE, runImportWorker } from './importHost';
import { Uploads } from './uploads';
import type { UploadLimits } from './uploads';

export interface DatasetServiceDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly learning: LearningLoop;
  /** The data folder: uploads and staging files go in `uploads/` and `tmp/` under it. */
  readonly dataDir: string;
  /** The built worker (default: out/workers/datasetImport.js next to this bundle). */
  readonly workerFile?: string;
  /** Records longer than this are refused. Default 4 MiB. */
  readonly maxRecordBytes?: number;
  /** Called while a job runs (the host pushes it as datasets.progress). */
  readonly onProgress?: (progress: ImportProgress) => void;
  /** Called after the list changed (the host pushes it as datasets.changed). */
  readonly onChanged?: (datasets: DatasetSummary[]) => void;
  /** How many uploads may be open, and for how long one may sit idle. */
  readonly uploadLimits?: Partial<UploadLimits>;
}

export interface JobOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ImportProgress) => void;
}

const SETTINGS_KEY = 'datasets';
const DEFAULT_SETTINGS: DatasetSettings = { tokenizerModel: null };
/** Uploads and staging files left by a process that died are removed after this long. */
const STALE_MS = 60 * 60 * 1000;

type Args<M extends keyof typeof datasetsService.methods> = z.output<(typeof datasetsService.methods)[M]['args']>;

/**
 * Datasets: imports (from a path, or from a file uploaded in chunks through the contract, so the
 * desktop window and a browser on the headless host take the same path), builds from feedback,
 * reads, renames, deletes and exports. Every import and build runs in a worker thread.
 */
export class DatasetService {
  private readonly uploads: Uploads;
  /** Running jobs: how to cancel each, and its end. */
  private readonly jobs = new Map<AbortController, Promise<unknown>>();
  private readonly tmpDir: string;

  /** Imports and builds running now (each in its worker). */
  get running(): number {
    return this.jobs.size;
  }

  constructor(private readonly deps: DatasetServiceDeps) {
    const uploadDir = join(deps.dataDir, 'uploads');
    this.tmpDir = join(deps.dataDir, 'tmp');
    // File times are the system's, whatever clock the services were given.
    removeStale(uploadDir, Date.now());
    removeStale(this.tmpDir, Date.now());
    this.uploads = new Uploads(uploadDir, deps.uploadLimits);
  }

  list(): DatasetSummary[] {
    return this.deps.store.datasets.list();
  }

  get(id: number): DatasetDetail {
    const { store } = this.deps;
    return store.db.transaction(() => {
      const dataset = this.require(id);
      return { ...dataset, report: store.datasets.report(id), byKind: store.datasets.byKind(id), duplicatesAcrossNow: store.datasets.duplicatesAcross(id) };
    })();
  }

  /** A dataset by name (ignoring case), or by id when `ref` is a number that names none. */
  find(ref: string): DatasetSummary {
    const dataset = this.deps.store.datasets.byName(ref.trim()) ?? (/^\d+$/.test(ref) ? this.deps.store.datasets.get(Number(ref)) : undefined);
    if (!dataset) throw new AppError('not_found', `There is no dataset "${ref}".`, { field: 'name' });
    return dataset;
  }

  examples(args: Args<'examples'>): { total: number; items: ReturnType<Store['datasets']['page']> } {
    const { store } = this.deps;
    return store.db.transaction(() => {
      this.require(args.id);
      const split = args.split ?? null;
      return { total: store.datasets.count(args.id, split), items: store.datasets.page(args.id, split, args.offset, args.limit, args.clip) };
    })();
  }

  rename(id: number, name: string): DatasetSummary {
    const { store } = this.deps;
    const renamed = store.db.transaction(() => {
      const other = store.datasets.byName(name.trim());
      if (other && other.id !== id) throw new AppError('conflict', `There is already a dataset named "${other.name}".`, { field: 'args.name' });
      if (!store.datasets.rename(id, name.trim(), this.deps.clock().toISOString())) throw notFound(id);
      return store.datasets.get(id)!;
    }).immediate();
    this.changed();
    return renamed;
  }

  delete(id: number): { deleted: number } {
    if (!this.deps.store.datasets.delete(id)) throw notFound(id);
    this.changed();
    return { deleted: id };
  }

  settings(): DatasetSettings {
    return this.deps.store.settings.get(SETTINGS_KEY, DatasetSettings, DEFAULT_SETTINGS);
  }

  /** Sets the tokenizer model after checking that the file is a regular file holding a GGUF model. */
  async setSettings(input: DatasetSettings): Promise<DatasetSettings> {
    const settings = parseInput(DatasetSettings, input);
    if (settings.tokenizerModel !== null) settings.tokenizerModel = await checkGguf(settings.tokenizerModel);
    this.deps.store.settings.set(SETTINGS_KEY, settings);
    return settings;
  }

  /**
   * Starts an upload. With the caller's connection (`context.connection` of the call) it counts against
   * that connection's open uploads and is discarded when the connection closes; every upload is discarded
   * after sitting idle (UploadLimits).
   */
  beginUpload(fileName: string, size: number, owner?: ConnectionScope): Promise<{ uploadId: string; chunkBytes: number }> {
    return this.uploads.begin(fileName, size, owner);
  }

  /** Appends a chunk; chunks must arrive in order (`offset` = bytes received so far). */
  uploadChunk(uploadId: string, offset: number, data: string): Promise<{ received: number }> {
    return this.uploads.chunk(uploadId, offset, data);
  }

  discardUpload(uploadId: string): Promise<{ discarded: boolean }> {
    return this.uploads.discard(uploadId);
  }

  /** Imports a completely uploaded file; the upload is gone afterwards, whatever the outcome. */
  importUpload(input: Args<'importUpload'>, options: JobOptions = {}): Promise<ImportOutcome> {
    const { uploadId, ...rest } = input;
    return this.uploads.consume(uploadId, (path, fileName) => this.importPath(path, fileName, uploadId, rest, options));
  }

  /** Imports a file on this machine (the CLI's path); only a regular file (the worker checks it again as it opens it). */
  async importFile(path: string, input: ImportFileArgs = {}, options: JobOptions = {}): Promise<ImportOutcome> {
    const file = await checkRegularFile(path, { field: 'file', what: 'The dataset file' });
    return this.importPath(file, basename(file), randomUUID(), input, options);
  }

  async buildFromFeedback(input: BuildFromFeedbackArgs = {}, options: JobOptions = {}): Promise<ImportOutcome> {
    const args = parseInput(BuildFromFeedbackArgs, input);
    const threshold = this.deps.learning.state().minRewardThreshold;
    const { filters } = args;
    if (filters.minReward !== undefined && filters.minReward < threshold) {
      throw new AppError(
        'invalid_arguments',
        `A minimum reward of ${filters.minReward} is below the training threshold ${threshold}: datasets are built from eligible examples only.`,
        { field: 'args.filters.minReward' },
      );
    }
    const normalised = {
      ...filters,
      ...(filters.from ? { from: new Date(filters.from).toISOString() } : {}),
      ...(filters.to ? { to: new Date(filters.to).toISOString() } : {}),
    };
    const jobId = randomUUID();
    return this.run(
      { ...(await this.common(jobId, args)), source: 'feedback', filters: normalised, minReward: filters.minReward ?? threshold },
      options,
    );
  }

  /**
   * A page of a dataset as JSONL, built a slice at a time so other callers are answered in between, and
   * already encoded for the wire (a transport that takes bytes sends them without serializing 16 MiB on
   * this thread). A dataset deleted meanwhile is not_found.
   */
  async exportPage(id: number, format: DatasetFormat, after: number, maxBytes: number, signal?: AbortSignal): Promise<EncodedJson<ExportedPage>> {
    this.require(id);
    const page = await exportPageEncoded(this.deps.store, id, format, after, maxBytes, signal);
    this.require(id);
    return page;
  }

  /** Cancels running jobs and removes this process's uploads. */
  async dispose(): Promise<void> {
    for (const controller of this.jobs.keys()) controller.abort();
    await Promise.all([...this.jobs.values()].map((job) => job.catch(() => {})));
    await this.uploads.dispose();
  }

  private async importPath(file: string, fileName: string, jobId: string, input: ImportFileArgs, options: JobOptions): Promise<ImportOutcome> {
    const args = parseInput(ImportFileArgs, input);
    return this.run(
      { ...(await this.common(jobId, args)), source: 'file', file, fileName, skipInvalid: args.skipInvalid, maxRecordBytes: this.deps.maxRecordBytes ?? MAX_RECORD_BYTES },
      options,
    );
  }

  private async common(jobId: string, args: { name?: string; validationShare: number; seed: number; dropDuplicates: boolean; tokenizerModel?: string }) {
    if (args.name !== undefined && this.deps.store.datasets.byName(args.name)) {
      throw new AppError('conflict', `There is already a dataset named "${args.name}": choose another name.`, { field: 'args.name' });
    }
    const tokenizerModel = args.tokenizerModel !== undefined ? await checkGguf(args.tokenizerModel) : this.settings().tokenizerModel;
    mkdirSync(this.tmpDir, { recursive: true });
    return {
      jobId,
      dbFile: this.deps.store.db.name,
      stagingFile: join(this.tmpDir, `import-${jobId}.db`),
      ...(args.name !== undefined ? { name: args.name } : {}),
      validationShare: args.validationShare,
      seed: args.seed,
      dropDuplicates: args.dropDuplicates,
      tokenizerModel,
      now: this.deps.clock().toISOString(),
    };
  }

  private async run(job: ImportJob, options: JobOptions): Promise<ImportOutcome> {
    const controller = new AbortController();
    const abort = () => controller.abort();
    if (options.signal?.aborted) abort();
    options.signal?.addEventListener('abort', abort, { once: true });
    const running = runImportWorker(this.deps.workerFile ?? DEFAULT_WORKER_FILE, job, {
      signal: controller.signal,
      onProgress: (progress) => {
        options.onProgress?.(progress);
        this.deps.onProgress?.(progress);
      },
    });
    this.jobs.set(controller, running);
    try {
      const outcome = await running;
      if (outcome.status === 'imported') this.changed();
      return outcome;
    } finally {
      this.jobs.delete(controller);
      options.signal?.removeEventListener('abort', abort);
    }
  }

  private require(id: number): DatasetSummary {
    const dataset = this.deps.store.datasets.get(id);
    if (!dataset) throw notFound(id);
    return dataset;
  }

  private changed(): void {
    this.deps.onChanged?.(this.list());
  }
}

function notFound(id: number): AppError {
  return new AppError('not_found', `There is no dataset ${id}.`, { field: 'args.id' });
}

/** The absolute path of a regular file that starts like a GGUF model, or an error saying what is wrong with it. */
async function checkGguf(path: string): Promise<string> {
  const { path: file, head } = await readHead(path, 4, { field: 'tokenizerModel', what: 'The tokenizer model' });
  if (head.toString('latin1') !== 'GGUF') throw new AppError('invalid_arguments', `${file} is not a GGUF model file.`, { field: 'tokenizerModel' });
  return file;
}

/** Removes files in `dir` not modified for STALE_MS (left by a process that was killed). */
function removeStale(dir: string, now: number): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    try {
      if (now - statSync(path).mtimeMs > STALE_MS) rmSync(path, { force: true });
    } catch {
      // in use elsewhere (Windows) or already gone
    }
  }
}
