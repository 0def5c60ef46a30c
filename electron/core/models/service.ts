import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { lstat, realpath, rm, stat, statfs } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { createModelDownloader } from 'node-llama-cpp';
import type { StoredDownload, StoredModel } from '../../../db/models';
import type { Store } from '../../../db/store';
import { DownloadArgs, modelsService } from '../../../shared/contract/models';
import type { CatalogEntry, CatalogItem, Download, InstalledModel } from '../../../shared/contract/models';
import type { HardwareInfo } from '../../../shared/contract/system';
import { AppError } from '../../../shared/errors';
import { formatGB } from '../../../shared/models/memory';
import type { Clock } from '../clock';
import { checkRegularFile } from '../files';
import { parseInput } from '../parseArgs';
import { defaultCatalogFile, loadCatalog, pickFile } from './catalog';
import { modelFit } from './fit';
import { readModelFile } from './ggufInfo';
import { sha256File } from './hash';
import { checkDownloadUri, fileNameFor, resolveDownloadUrl } from './uri';

export interface ModelServiceDeps {
  readonly store: Store;
  readonly clock: Clock;
  /** Models go in <dataDir>/models/. */
  readonly dataDir: string;
  /** The hardware probe (shared/contract/system.ts), for fits. */
  readonly hardware: () => Promise<HardwareInfo>;
  /** Emitted as `models.download`: progress about every 250 ms, and each change of state. */
  readonly onDownload: (d: Download) => void;
  /** Emitted as `models.changed`. */
  readonly onChanged: (models: InstalledModel[]) => void;
  /** Default: resources/models.json. */
  readonly catalogFile?: string;
}

/** ipull (node-llama-cpp's downloader) keeps a download's bytes and progress here until it is whole. */
const PARTIAL_SUFFIX = '.ipull';
const PROGRESS_MS = 250;
const STORE_PROGRESS_MS = 1000;
const HEAD_TIMEOUT_MS = 15_000;
/** Free space kept beyond the file itself. */
const diskMargin = (bytes: number) => 256 * 1024 * 1024 + Math.ceil(bytes * 0.01);

interface Running {
  readonly id: number;
  readonly controller: AbortController;
  /** Why it was aborted: pause keeps the partial file, discard removes it. */
  intent: 'pause' | 'discard';
  row: StoredDownload;
  bytesPerSecond: number;
  etaSeconds: number | null;
  lastEmit: number;
  lastStore: number;
  sampleAt: number;
  sampleBytes: number;
  done: Promise<Download>;
}

/** Downloads running in this process, by database file and id: another service on the same store sees them as alive. */
const ACTIVE = new Set<string>();

/** A failure of the finished file itself (not a GGUF, truncated): the file is deleted. */
class VerifyError extends Error {}

/**
 * The base models: the catalog with what fits this machine, downloads through node-llama-cpp's
 * downloader (resumable across pauses and crashes, their state in SQLite), imports of local files,
 * and deletes that never touch a file outside the models folder.
 */
export class ModelService {
  private readonly folder: string;
  private readonly running = new Map<number, Running>();
  private readonly starting = new Map<string, Promise<Download>>();
  private catalogEntries: CatalogEntry[] | undefined;
  private lastHardware: HardwareInfo | undefined;
  private disposed = false;

  constructor(private readonly deps: ModelServiceDeps) {
    this.folder = join(deps.dataDir, 'models');
    mkdirSync(this.folder, { recursive: true });
    this.recoverInterrupted();
  }

  /** The models folder, `<dataDir>/models`. */
  get modelsFolder(): string {
    return this.folder;
  }

  async catalog(): Promise<{ items: CatalogItem[] }> {
    const entries = this.catalogList();
    const hardware = await this.hardware();
    const { store } = this.deps;
    const items = entries.map((entry) => ({
      ...entry,
      files: entry.files.map((file) => ({
        ...file,
        fit: modelFit(file.sizeBytes, entry.shape, hardware),
        installedModelId: (store.models.byCatalogFile(entry.id, file.quant) ?? store.models.installedFromUri(file.uri))?.id ?? null,
      })),
    }));
    return { items };
  }

  async list(): Promise<{ models: InstalledModel[]; folder: string }> {
    const hardware = await this.hardware();
    return { models: this.deps.store.models.list().map((m) => this.installed(m, hardware)), folder: this.folder };
  }

  /** Throws AppError('not_found', …, { field }) for an unknown id; `missing: true` when the file vanished. */
  get(id: number, field = 'args.id'): InstalledModel {
    const model = this.deps.store.models.get(id);
    if (!model) throw new AppError('not_found', `There is no installed model with id ${id}: \`architect models\` lists them.`, { field });
    return this.installed(model, this.lastHardware);
  }

  /**
   * Registers a local GGUF file where it lies (`managed` only when it is inside the models folder):
   * regular files only (files.ts: a FIFO, a device or a folder is refused by name, never opened in a way
   * that waits), the header read, the SHA-256 taken. The same file (by real path) gives its existing row.
   */
  async import(args: { path: string }): Promise<InstalledModel> {
    const { path: given } = parseInput(modelsService.methods.import.args, args);
    const field = 'args.path';
    const ref = { field, what: 'The model file' };
    const absolute = await checkRegularFile(given, ref).catch((error: unknown) => {
      const code = ((error as AppError).cause as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new AppError('not_found', `${resolve(given)} does not exist: give the path of a .gguf model file.`, { field });
      throw error;
    });
    const path = await realpath(absolute);
    const { store } = this.deps;
    const known = store.models.byPath(path);
    if (known) return this.installed(known, this.lastHardware);

    const info = await readModelFile(path, field);
    const sha256 = await sha256File(path, { ref });
    const managed = this.inside(path);
    const model = store.db.transaction(() => {
      const again = store.models.byPath(path);
      if (again) return again;
      const id = store.models.insert({
        name: info.name ?? basename(path).replace(/\.gguf$/i, ''),
        path,
        managed,
        sizeBytes: info.sizeBytes,
        sha256,
        architecture: info.architecture,
        fileType: info.fileType,
        shape: info.shape,
        trainable: info.trainable,
        trainReason: info.trainReason,
        source: 'import',
        catalogId: null,
        quant: null,
        createdAt: this.now(),
      });
      return store.models.get(id)!;
    }).immediate();
    await this.changed();
    return this.installed(model, this.lastHardware);
  }

  /** Removes the row (one transaction); deletes the file only when its real path lies inside the models folder. */
  async delete(args: { id: number }): Promise<{ fileDeleted: boolean; path: string }> {
    const { id } = parseInput(modelsService.methods.delete.args, args);
    const { store } = this.deps;
    const model = store.models.get(id);
    if (!model) throw new AppError('not_found', `There is no installed model with id ${id}: \`architect models\` lists them.`, { field: 'args.id' });
    const target = await realpath(model.path).catch(() => undefined);
    const link = await lstat(model.path).catch(() => undefined);
    const removable = target !== undefined && this.inside(target);
    store.db.transaction(() => {
      if (!store.models.delete(id)) throw new AppError('not_found', `Model ${id} was deleted meanwhile.`, { field: 'args.id' });
    }).immediate();
    let fileDeleted = false;
    if (removable) {
      await rm(target, { force: true });
      // A link inside the folder to a file inside it goes with the file.
      if (link?.isSymbolicLink() && this.inside(resolve(model.path))) await rm(model.path, { force: true });
      fileDeleted = true;
    }
    await this.changed();
    return { fileDeleted, path: model.path };
  }

  /**
   * Starts (or resumes) a download of a catalog file or an hf:/http(s) URI into the models folder.
   * Refused up front: an address the downloader does not take, a file the server does not have, a
   * model already installed, not enough free disk. Returns once started; it runs in the background.
   */
  async download(args: DownloadArgs): Promise<Download> {
    const parsed = parseInput(DownloadArgs, args);
    this.assertOpen();
    let target: { uri: string; catalogId: string | null; quant: string | null; sizeBytes: number | null; field: string };
    if ('catalogId' in parsed) {
      const entry = this.catalogList().find((e) => e.id === parsed.catalogId);
      if (!entry) {
        throw new AppError('not_found', `There is no catalog model "${parsed.catalogId}"; the catalog has ${this.catalogList().map((e) => e.id).join(', ')}.`, { field: 'args.catalogId' });
      }
      const file = pickFile(entry, parsed.quant);
      if (!file) {
        throw new AppError('not_found', `${entry.name} has no ${parsed.quant} file; choose one of ${entry.files.map((f) => f.quant).join(', ')}.`, { field: 'args.quant' });
      }
      target = { uri: file.uri, catalogId: entry.id, quant: file.quant, sizeBytes: file.sizeBytes, field: 'args.catalogId' };
    } else {
      const uri = parsed.uri.trim();
      const problem = checkDownloadUri(uri);
      if (problem) throw new AppError('invalid_arguments', `${problem}.`, { field: 'args.uri' });
      const match = this.catalogList().flatMap((e) => e.files.map((f) => ({ e, f }))).find(({ f }) => f.uri === uri);
      target = { uri, catalogId: match?.e.id ?? null, quant: match?.f.quant ?? null, sizeBytes: match?.f.sizeBytes ?? null, field: 'args.uri' };
    }
    // Two calls for one address at once start one download.
    const pending = this.starting.get(target.uri);
    if (pending) return pending;
    const started = this.startNew(target).finally(() => this.starting.delete(target.uri));
    this.starting.set(target.uri, started);
    return started;
  }

  /** Downloads that are running, paused (cancelled or interrupted) or failed. */
  downloads(): { downloads: Download[] } {
    return { downloads: this.deps.store.models.openDownloads().map((d) => this.view(d)) };
  }

  /** Pauses a download (its partial file is kept for resume), or discards it with its partial file. */
  async cancelDownload(args: { id: number; discard?: boolean }): Promise<Download> {
    const { id, discard } = parseInput(modelsService.methods.cancelDownload.args, args);
    const run = this.running.get(id);
    if (run) {
      if (discard) run.intent = 'discard';
      run.controller.abort();
      return run.done;
    }
    this.recoverInterrupted();
    const row = this.requireDownload(id);
    if (row.state === 'downloading' || row.state === 'verifying') {
      throw new AppError('conflict', `Download ${id} is running in another process (pid ${row.ownerPid}); stop it there.`, { field: 'args.id' });
    }
    if (row.state === 'done') {
      const model = row.modelId === null ? 'the model' : `model ${row.modelId}`;
      throw new AppError('conflict', `Download ${id} has finished; delete ${model} instead.`, { field: 'args.id' });
    }
    if (!discard || row.state === 'cancelled') return this.view(row);
    await this.removeFiles(row.fileName);
    return this.update(row.id, { state: 'cancelled', error: null, ownerPid: null }, true);
  }

  /** Continues a paused or failed download from where its partial file stops. */
  async resumeDownload(args: { id: number }): Promise<Download> {
    const { id } = parseInput(modelsService.methods.resumeDownload.args, args);
    this.assertOpen();
    const run = this.running.get(id);
    if (run) return this.view(run.row);
    this.recoverInterrupted();
    const row = this.requireDownload(id);
    if (row.state === 'downloading' || row.state === 'verifying') {
      throw new AppError('conflict', `Download ${id} is running in another process (pid ${row.ownerPid}).`, { field: 'args.id' });
    }
    if (row.state === 'done' || row.state === 'cancelled') {
      throw new AppError('conflict', `Download ${id} has ${row.state === 'done' ? 'finished' : 'been discarded'}; start a new one.`, { field: 'args.id' });
    }
    await this.checkDisk(row.totalBytes, row.bytes, 'args.id');
    const resumed = this.deps.store.models.updateDownload(id, { state: 'downloading', error: null, ownerPid: process.pid }, this.now())!;
    return this.start(resumed);
  }

  /** Resolves when the download ends (done/failed/paused/cancelled) — the CLI uses it. */
  async waitForDownload(id: number): Promise<Download> {
    const run = this.running.get(id);
    if (run) return run.done;
    return this.view(this.requireDownload(id, 'id'));
  }

  /** Stops running downloads, kept resumable ('paused'); downloads left 'downloading' by a crashed process were marked paused at start. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const runs = [...this.running.values()];
    for (const run of runs) run.controller.abort();
    await Promise.all(runs.map((run) => run.done.catch(() => undefined)));
  }

  // ---- downloads ---------------------------------------------------------------------------------

  private async startNew(target: { uri: string; catalogId: string | null; quant: string | null; sizeBytes: number | null; field: string }): Promise<Download> {
    const { store } = this.deps;
    this.recoverInterrupted();
    const open = store.models.openDownloadByUri(target.uri);
    if (open) {
      const run = this.running.get(open.id);
      if (run) return this.view(run.row);
      if (open.state === 'downloading' || open.state === 'verifying') {
        throw new AppError('conflict', `${target.uri} is being downloaded by another process (pid ${open.ownerPid}).`, { field: target.field });
      }
      return this.resumeDownload({ id: open.id });
    }
    const fileName = fileNameFor(target.uri);
    const installed = (target.catalogId && target.quant ? store.models.byCatalogFile(target.catalogId, target.quant) : undefined) ?? store.models.installedFromUri(target.uri);
    if (installed) {
      throw new AppError('conflict', `${target.uri} is already installed as model ${installed.id} (${installed.path}); delete it first to download it again.`, { field: target.field });
    }
    const size = (await headSize(resolveDownloadUrl(target.uri), target.field)) ?? target.sizeBytes;
    await this.checkDisk(size, 0, target.field);
    this.assertOpen();
    const now = this.now();
    const id = store.models.insertDownload({
      uri: target.uri,
      catalogId: target.catalogId,
      quant: target.quant,
      fileName: this.freeFileName(fileName),
      state: 'downloading',
      bytes: 0,
      totalBytes: size,
      ownerPid: process.pid,
      createdAt: now,
      now,
    });
    return this.start(store.models.getDownload(id)!);
  }

  private start(row: StoredDownload): Download {
    const key = this.activeKey(row.id);
    let finish!: (d: Download) => void;
    const run: Running = {
      id: row.id,
      controller: new AbortController(),
      intent: 'pause',
      row,
      bytesPerSecond: 0,
      etaSeconds: null,
      lastEmit: 0,
      lastStore: Date.now(),
      sampleAt: Date.now(),
      sampleBytes: row.bytes,
      done: new Promise<Download>((r) => (finish = r)),
    };
    this.running.set(row.id, run);
    ACTIVE.add(key);
    const view = this.view(row);
    this.deps.onDownload(view);
    // Leave the running set before anyone waiting hears of the end, so they can resume it at once.
    const settle = (d: () => Download) => {
      this.running.delete(run.id);
      ACTIVE.delete(key);
      finish(d());
    };
    void this.run(run).then(
      (d) => settle(() => d),
      (error: unknown) => settle(() => this.update(run.id, { state: 'failed', error: `The download failed: ${(error as Error).message}`, ownerPid: null }, true)),
    );
    return view;
  }

  /** One download from start (or resume) to its end; resolves with its final state, never rejects. */
  private async run(run: Running): Promise<Download> {
    const { signal } = run.controller;
    try {
      const downloader = await createModelDownloader({
        modelUri: run.row.uri,
        dirPath: this.folder,
        fileName: run.row.fileName,
        // Paused downloads keep their partial file; a finished file already there is taken as is (then verified).
        deleteTempFileOnCancel: false,
        skipExisting: true,
        onProgress: (status) => this.progress(run, status.downloadedSize, status.totalSize),
      });
      if (signal.aborted) {
        await downloader.cancel({ deleteTempFile: false });
        return this.stopped(run);
      }
      if (downloader.totalFiles !== 1) {
        await downloader.cancel({ deleteTempFile: true });
        throw new VerifyError(`${run.row.uri} is a split GGUF of ${downloader.totalFiles} files; split models are not supported yet: choose a single-file quantization`);
      }
      const total = downloader.totalSize > 0 ? downloader.totalSize : run.row.totalBytes;
      if (total !== run.row.totalBytes) this.update(run.id, { totalBytes: total }, false, run);
      await this.checkDisk(total, downloader.downloadedSize, 'args.uri').catch(async (error: unknown) => {
        await downloader.cancel({ deleteTempFile: false });
        throw error;
      });
      const path = await downloader.download({ signal });
      // ipull ends quietly when it is closed: a cancel looks like an early return.
      if (signal.aborted) return this.stopped(run);
      return await this.verify(run, path, downloader.totalSize);
    } catch (error) {
      if (signal.aborted && !(error instanceof VerifyError)) return this.stopped(run);
      return this.failed(run, error);
    }
  }

  /** The finished file: a whole GGUF model, hashed, then registered with the download done in one transaction. */
  private async verify(run: Running, path: string, expectedBytes: number): Promise<Download> {
    this.update(run.id, { state: 'verifying', bytes: run.row.totalBytes ?? run.row.bytes }, true, run);
    const size = (await stat(path)).size;
    if (expectedBytes > 0 && size !== expectedBytes) {
      await rm(path, { force: true });
      throw new VerifyError(`the finished file has ${size} bytes but the server announced ${expectedBytes}: it was cut off`);
    }
    let info;
    try {
      info = await readModelFile(path, 'args.uri');
    } catch (error) {
      await rm(path, { force: true });
      throw new VerifyError((error as Error).message.replace(/\.$/, ''));
    }
    const sha256 = await sha256File(path, { signal: run.controller.signal });
    const { store } = this.deps;
    const entry = run.row.catalogId ? this.catalogList().find((e) => e.id === run.row.catalogId) : undefined;
    const now = this.now();
    const done = store.db.transaction(() => {
      const modelId = store.models.insert({
        name: entry ? `${entry.name}${run.row.quant ? ` (${run.row.quant})` : ''}` : (info.name ?? basename(path).replace(/\.gguf$/i, '')),
        path,
        managed: true,
        sizeBytes: size,
        sha256,
        architecture: info.architecture,
        fileType: info.fileType,
        shape: info.shape,
        trainable: info.trainable,
        trainReason: info.trainReason,
        source: run.row.catalogId ? 'catalog' : 'url',
        catalogId: run.row.catalogId,
        quant: run.row.quant,
        createdAt: now,
      });
      return store.models.updateDownload(run.id, { state: 'done', bytes: size, totalBytes: size, error: null, modelId, ownerPid: null }, now)!;
    }).immediate();
    run.row = done;
    run.bytesPerSecond = 0;
    run.etaSeconds = 0;
    const view = this.view(done);
    this.deps.onDownload(view);
    await this.changed();
    return view;
  }

  /** Paused (partial file kept) or discarded (partial file removed), as the cancel asked. */
  private async stopped(run: Running): Promise<Download> {
    run.bytesPerSecond = 0;
    run.etaSeconds = null;
    if (run.intent === 'discard') {
      await this.removeFiles(run.row.fileName);
      return this.update(run.id, { state: 'cancelled', error: null, ownerPid: null }, true, run);
    }
    const kept = this.keptBytes(run.row.fileName, run.row.totalBytes);
    return this.update(run.id, { state: 'paused', error: null, ownerPid: null, ...(kept !== undefined ? { bytes: kept } : {}) }, true, run);
  }

  /**
   * The server refused (HTTP status) or the file is not a model: nothing of it stays in the folder.
   * Anything else (the network) keeps the partial file, so a resume continues from it.
   */
  private async failed(run: Running, error: unknown): Promise<Download> {
    run.bytesPerSecond = 0;
    run.etaSeconds = null;
    const status = (error as { statusCode?: unknown }).statusCode;
    let message: string;
    if (typeof status === 'number') {
      const text = (error as { statusText?: string }).statusText ?? '';
      message = `The server answered HTTP ${status}${text ? ` ${text}` : ''} for ${run.row.uri}: check the address (and your access to it) and try again.`;
      await this.removeFiles(run.row.fileName);
    } else if (error instanceof VerifyError) {
      message = `The downloaded file was refused and deleted: ${error.message}.`;
      await this.removeFiles(run.row.fileName);
    } else if (error instanceof AppError) {
      message = error.message;
    } else {
      message = `The download stopped: ${(error as Error).message ?? String(error)}. Resume it to continue from ${formatGB(run.row.bytes)}.`;
    }
    return this.update(run.id, { state: 'failed', error: message, ownerPid: null }, true, run);
  }

  private progress(run: Running, bytes: number, total: number): void {
    const now = Date.now();
    if (run.controller.signal.aborted || run.row.state !== 'downloading' || now - run.lastEmit < PROGRESS_MS) return;
    const elapsed = (now - run.sampleAt) / 1000;
    if (elapsed > 0) {
      const rate = Math.max(0, bytes - run.sampleBytes) / elapsed;
      run.bytesPerSecond = run.bytesPerSecond === 0 ? rate : 0.7 * run.bytesPerSecond + 0.3 * rate;
    }
    run.sampleAt = now;
    run.sampleBytes = bytes;
    const totalBytes = total > 0 ? total : run.row.totalBytes;
    run.etaSeconds = totalBytes !== null && run.bytesPerSecond > 0 ? Math.max(0, totalBytes - bytes) / run.bytesPerSecond : null;
    run.lastEmit = now;
    const patch = { bytes: Math.max(0, Math.round(bytes)), totalBytes };
    if (now - run.lastStore >= STORE_PROGRESS_MS) {
      run.lastStore = now;
      run.row = this.deps.store.models.updateDownload(run.id, patch, this.now()) ?? run.row;
    } else {
      run.row = { ...run.row, ...patch, updatedAt: this.now() };
    }
    this.deps.onDownload(this.view(run.row));
  }

  /** Writes a change of a download and (when `emit`) reports it. */
  private update(id: number, patch: Parameters<Store['models']['updateDownload']>[1], emit: boolean, run?: Running): Download {
    const row = this.deps.store.models.updateDownload(id, patch, this.now());
    if (!row) throw new AppError('not_found', `There is no download ${id}.`, { field: 'args.id' });
    if (run) run.row = row;
    const view = this.view(row);
    if (emit) this.deps.onDownload(view);
    return view;
  }

  /** Marks downloads whose process is gone (a crash, a kill) as paused: their partial files resume. */
  private recoverInterrupted(): void {
    const { store } = this.deps;
    for (const d of store.models.openDownloads()) {
      if (d.state !== 'downloading' && d.state !== 'verifying') continue;
      if (this.alive(d)) continue;
      const kept = this.keptBytes(d.fileName, d.totalBytes);
      store.models.updateDownload(d.id, { state: 'paused', ownerPid: null, error: null, ...(kept !== undefined ? { bytes: kept } : {}) }, this.now());
    }
  }

  private alive(d: StoredDownload): boolean {
    if (d.ownerPid === null) return false;
    if (d.ownerPid === process.pid) return ACTIVE.has(this.activeKey(d.id));
    try {
      process.kill(d.ownerPid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  }

  private activeKey(id: number): string {
    return `${this.deps.store.db.name}#${id}`;
  }

  private view(row: StoredDownload): Download {
    const run = this.running.get(row.id);
    return {
      id: row.id,
      uri: row.uri,
      catalogId: row.catalogId,
      quant: row.quant,
      fileName: row.fileName,
      state: row.state,
      bytes: Math.max(0, Math.round(row.bytes)),
      totalBytes: row.totalBytes === null ? null : Math.max(0, Math.round(row.totalBytes)),
      bytesPerSecond: run && row.state === 'downloading' ? Math.max(0, run.bytesPerSecond) : 0,
      etaSeconds: run && row.state === 'downloading' && run.etaSeconds !== null ? Math.max(0, run.etaSeconds) : null,
      error: row.error,
      modelId: row.modelId,
      updatedAt: row.updatedAt,
    };
  }

  private requireDownload(id: number, field = 'args.id'): StoredDownload {
    const row = this.deps.store.models.getDownload(id);
    if (!row) throw new AppError('not_found', `There is no download ${id}.`, { field });
    return row;
  }

  /** Refuses when the models folder's disk cannot take the rest of the file with a margin. */
  private async checkDisk(totalBytes: number | null, haveBytes: number, field: string): Promise<void> {
    if (totalBytes === null || totalBytes <= 0) return;
    const remaining = Math.max(0, totalBytes - haveBytes);
    const needed = remaining + diskMargin(totalBytes);
    const fs = await statfs(this.folder);
    const free = fs.bavail * fs.bsize;
    if (free < needed) {
      throw new AppError(
        'unavailable',
        `Not enough free disk space in ${this.folder}: the download needs ${formatGB(needed)} (${formatGB(remaining)} of file and a margin) and ${formatGB(free)} is free. Free some space or choose a smaller file.`,
        { field },
      );
    }
  }

  /**
   * The bytes a partial file really holds: ipull writes whole 5 MiB chunks and keeps, after the file's
   * bytes, a JSON record of which chunks are complete; bytes of a chunk in flight are fetched again.
   * Undefined when there is no such record to read.
   */
  private keptBytes(fileName: string, totalBytes: number | null): number | undefined {
    if (totalBytes === null || totalBytes <= 0) return undefined;
    let fd: number;
    try {
      fd = openSync(join(this.folder, fileName + PARTIAL_SUFFIX), 'r');
    } catch {
      return existsSync(join(this.folder, fileName)) ? undefined : 0;
    }
    try {
      const size = fstatSync(fd).size;
      if (size <= totalBytes || size - totalBytes > 4 * 1024 * 1024) return undefined;
      const tail = Buffer.alloc(size - totalBytes);
      readSync(fd, tail, 0, tail.length, totalBytes);
      const record = JSON.parse(tail.toString('utf8')) as { part?: unknown; chunks?: unknown; chunkSize?: unknown };
      if (record.part !== 0 || !Array.isArray(record.chunks) || typeof record.chunkSize !== 'number') return undefined;
      const complete = record.chunks.filter((c) => c === 2).length;
      return Math.min(totalBytes, complete * record.chunkSize);
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  }

  /** Removes a download's partial and final file, unless an installed model is that file. */
  private async removeFiles(fileName: string): Promise<void> {
    const final = join(this.folder, fileName);
    await rm(final + PARTIAL_SUFFIX, { force: true });
    if (!this.deps.store.models.byPath(final)) await rm(final, { force: true });
  }

  /** `name`, or `name-2.gguf`, `name-3.gguf`, … whichever no file, model or open download uses. */
  private freeFileName(name: string): string {
    const stem = name.replace(/\.gguf$/i, '');
    const taken = (n: string) => {
      const path = join(this.folder, n);
      return existsSync(path) || existsSync(path + PARTIAL_SUFFIX) || this.deps.store.models.byPath(path) !== undefined || this.deps.store.models.openDownloadByFile(n) !== undefined;
    };
    if (!taken(name)) return name;
    for (let n = 2; ; n++) if (!taken(`${stem}-${n}.gguf`)) return `${stem}-${n}.gguf`;
  }

  // ---- helpers -----------------------------------------------------------------------------------

  private installed(model: StoredModel, hardware: HardwareInfo | undefined): InstalledModel {
    const file = statSync(model.path, { throwIfNoEntry: false });
    return { ...model, missing: !file?.isFile(), fit: hardware ? modelFit(model.sizeBytes, model.shape, hardware) : null };
  }

  private async hardware(): Promise<HardwareInfo> {
    this.lastHardware = await this.deps.hardware();
    return this.lastHardware;
  }

  private async changed(): Promise<void> {
    const { models } = await this.list();
    this.deps.onChanged(models);
  }

  private catalogList(): CatalogEntry[] {
    this.catalogEntries ??= loadCatalog(this.deps.catalogFile ?? defaultCatalogFile());
    return this.catalogEntries;
  }

  /** Whether a real path lies inside the models folder (itself resolved, so links to it count too). */
  private inside(path: string): boolean {
    const folder = realpathSync(this.folder);
    const rel = relative(folder, path);
    return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel);
  }

  private now(): string {
    return this.deps.clock().toISOString();
  }

  private assertOpen(): void {
    if (this.disposed) throw new AppError('unavailable', 'The model service is shutting down.');
  }
}

/** The size a HEAD request reports (null when the server does not say); a missing file or an unreachable host is refused. */
async function headSize(url: string, field: string): Promise<number | null> {
  const host = new URL(url).host;
  let response: Response;
  try {
    const token = /huggingface\.co$|hf\.co$/.test(host) ? process.env.HF_TOKEN : undefined;
    response = await fetch(url, {
      method: 'HEAD',
      redirect: 'follow',
      headers: { 'accept-encoding': 'identity', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      signal: AbortSignal.timeout(HEAD_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = (error as Error).name === 'TimeoutError' ? `no answer in ${HEAD_TIMEOUT_MS / 1000} s` : (cause?.code ?? cause?.message ?? (error as Error).message);
    throw new AppError('unavailable', `Cannot reach ${host} (${why}): check the network connection and try again.`, { field });
  }
  if (response.status === 404 || response.status === 410) {
    throw new AppError('not_found', `The server has no file at ${url} (HTTP ${response.status}): check the address.`, { field });
  }
  if (!response.ok) return null;
  if (response.headers.get('content-encoding')) return null;
  const length = Number(response.headers.get('content-length'));
  return Number.isSafeInteger(length) && length > 0 ? length : null;
}

