import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DownloadPatch, StoredDownload } from '../../../db/models';
import type { Store } from '../../../db/store';
import { DownloadArgs, modelsService } from '../../../shared/contract/models';
import type { CatalogEntry, Download } from '../../../shared/contract/models';
import { AppError } from '../../../shared/errors';
import type { Clock } from '../clock';
import { parseInput } from '../parseArgs';
import { pickFile } from './catalog';
import { checkDiskSpace } from './diskSpace';
import { headSize } from './headSize';
import { keptBytes, PARTIAL_SUFFIX } from './partialFile';
import { Transfer } from './transfer';
import { checkDownloadUri, fileNameFor, resolveDownloadUrl } from './uri';

export interface DownloadsDeps {
  readonly store: Store;
  readonly clock: Clock;
  /** The models folder: downloads are written here. */
  readonly folder: string;
  /** The catalog, for addresses given by catalog id and the names of finished models. */
  readonly catalog: () => CatalogEntry[];
  /** Progress about every 250 ms, and each change of state. */
  readonly onDownload: (d: Download) => void;
  /** After a finished download is registered as a model. */
  readonly onInstalled: () => Promise<void>;
}

/** What a download fetches; `field` names the argument that chose it, for errors. */
interface Target {
  readonly uri: string;
  readonly catalogId: string | null;
  readonly quant: string | null;
  readonly sizeBytes: number | null;
  readonly field: string;
}

interface Running {
  readonly transfer: Transfer;
  /** Resolves with the final state once the transfer has left the running set. */
  readonly done: Promise<Download>;
}

/** Downloads running in this process, by database file and id: another service on the same store sees them as alive. */
const ACTIVE = new Set<string>();

/**
 * Downloads through node-llama-cpp's downloader into the models folder, their state in SQLite:
 * resumable across pauses and crashes, owned by one process (its pid) while they run.
 */
export class Downloads {
  private readonly running = new Map<number, Running>();
  private readonly starting = new Map<string, Promise<Download>>();
  private disposed = false;

  constructor(private readonly deps: DownloadsDeps) {
    this.recoverInterrupted();
  }

  /**
   * Starts (or resumes) a download of a catalog file or an hf:/http(s) URI.
   * Refused up front: an address the downloader does not take, a file the server does not have, a
   * model already installed, not enough free disk. Returns once started; it runs in the background.
   */
  async download(args: DownloadArgs): Promise<Download> {
    const target = this.target(parseInput(DownloadArgs, args));
    // Two calls for one address at once start one download.
    const pending = this.starting.get(target.uri);
    if (pending) return pending;
    const started = this.startNew(target).finally(() => this.starting.delete(target.uri));
    this.starting.set(target.uri, started);
    return started;
  }

  /** Downloads that are running, paused (cancelled or interrupted) or failed. */
  list(): Download[] {
    return this.deps.store.models.openDownloads().map((d) => this.view(d));
  }

  /** Pauses a download (its partial file is kept for resume), or discards it with its partial file. */
  async cancel(args: { id: number; discard?: boolean }): Promise<Download> {
    const { id, discard } = parseInput(modelsService.methods.cancelDownload.args, args);
    const run = this.running.get(id);
    if (run) {
      run.transfer.stop(discard);
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
  async resume(args: { id: number }): Promise<Download> {
    const { id } = parseInput(modelsService.methods.resumeDownload.args, args);
    this.assertOpen();
    const run = this.running.get(id);
    if (run) return this.view(run.transfer.row);
    this.recoverInterrupted();
    const row = this.requireDownload(id);
    if (row.state === 'downloading' || row.state === 'verifying') {
      throw new AppError('conflict', `Download ${id} is running in another process (pid ${row.ownerPid}).`, { field: 'args.id' });
    }
    if (row.state === 'done' || row.state === 'cancelled') {
      throw new AppError('conflict', `Download ${id} has ${row.state === 'done' ? 'finished' : 'been discarded'}; start a new one.`, { field: 'args.id' });
    }
    await checkDiskSpace(this.deps.folder, row.totalBytes, row.bytes, 'args.id');
    const resumed = this.deps.store.models.updateDownload(id, { state: 'downloading', error: null, ownerPid: process.pid }, this.now())!;
    return this.start(resumed);
  }

  /** Resolves when the download ends (done/failed/paused/cancelled). */
  async wait(id: number): Promise<Download> {
    const run = this.running.get(id);
    if (run) return run.done;
    return this.view(this.requireDownload(id, 'id'));
  }

  /** Refuses new downloads and stops running ones, kept resumable ('paused'). */
  async dispose(): Promise<void> {
    this.disposed = true;
    const runs = [...this.running.values()];
    for (const run of runs) run.transfer.stop();
    await Promise.all(runs.map((run) => run.done.catch(() => undefined)));
  }

  /** The catalog file or the checked URI the arguments name. */
  private target(parsed: DownloadArgs): Target {
    this.assertOpen();
    if ('catalogId' in parsed) {
      const catalog = this.deps.catalog();
      const entry = catalog.find((e) => e.id === parsed.catalogId);
      if (!entry) {
        throw new AppError('not_found', `There is no catalog model "${parsed.catalogId}"; the catalog has ${catalog.map((e) => e.id).join(', ')}.`, { field: 'args.catalogId' });
      }
      const file = pickFile(entry, parsed.quant);
      if (!file) {
        throw new AppError('not_found', `${entry.name} has no ${parsed.quant} file; choose one of ${entry.files.map((f) => f.quant).join(', ')}.`, { field: 'args.quant' });
      }
      return { uri: file.uri, catalogId: entry.id, quant: file.quant, sizeBytes: file.sizeBytes, field: 'args.catalogId' };
    }
    const uri = parsed.uri.trim();
    const problem = checkDownloadUri(uri);
    if (problem) throw new AppError('invalid_arguments', `${problem}.`, { field: 'args.uri' });
    const match = this.deps.catalog().flatMap((e) => e.files.map((f) => ({ e, f }))).find(({ f }) => f.uri === uri);
    return { uri, catalogId: match?.e.id ?? null, quant: match?.f.quant ?? null, sizeBytes: match?.f.sizeBytes ?? null, field: 'args.uri' };
  }

  private async startNew(target: Target): Promise<Download> {
    const { store } = this.deps;
    this.recoverInterrupted();
    const open = store.models.openDownloadByUri(target.uri);
    if (open) {
      const run = this.running.get(open.id);
      if (run) return this.view(run.transfer.row);
      if (open.state === 'downloading' || open.state === 'verifying') {
        throw new AppError('conflict', `${target.uri} is being downloaded by another process (pid ${open.ownerPid}).`, { field: target.field });
      }
      return this.resume({ id: open.id });
    }
    const fileName = fileNameFor(target.uri);
    const installed = (target.catalogId && target.quant ? store.models.byCatalogFile(target.catalogId, target.quant) : undefined) ?? store.models.installedFromUri(target.uri);
    if (installed) {
      throw new AppError('conflict', `${target.uri} is already installed as model ${installed.id} (${installed.path}); delete it first to download it again.`, { field: target.field });
    }
    const size = (await headSize(resolveDownloadUrl(target.uri), target.field)) ?? target.sizeBytes;
    await checkDiskSpace(this.deps.folder, size, 0, target.field);
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
    const transfer: Transfer = new Transfer(row, {
      store: this.deps.store,
      folder: this.deps.folder,
      catalog: this.deps.catalog,
      now: () => this.now(),
      update: (patch, emit) => this.update(row.id, patch, emit, transfer),
      report: (r) => this.report(r),
      removeFiles: (fileName) => this.removeFiles(fileName),
      onInstalled: this.deps.onInstalled,
    });
    let finish!: (d: Download) => void;
    this.running.set(row.id, { transfer, done: new Promise<Download>((r) => (finish = r)) });
    ACTIVE.add(key);
    const view = this.report(row);
    // Leave the running set before anyone waiting hears of the end, so they can resume it at once.
    const settle = (d: () => Download) => {
      this.running.delete(row.id);
      ACTIVE.delete(key);
      finish(d());
    };
    void transfer.run().then(
      (d) => settle(() => d),
      (error: unknown) => settle(() => this.update(row.id, { state: 'failed', error: `The download failed: ${(error as Error).message}`, ownerPid: null }, true)),
    );
    return view;
  }

  /** Writes a change of a download and (when `emit`) reports it. */
  private update(id: number, patch: DownloadPatch, emit: boolean, transfer?: Transfer): Download {
    const row = this.deps.store.models.updateDownload(id, patch, this.now());
    if (!row) throw new AppError('not_found', `There is no download ${id}.`, { field: 'args.id' });
    if (transfer) transfer.row = row;
    return emit ? this.report(row) : this.view(row);
  }

  private report(row: StoredDownload): Download {
    const view = this.view(row);
    this.deps.onDownload(view);
    return view;
  }

  /** Marks downloads whose process is gone (a crash, a kill) as paused: their partial files resume. */
  private recoverInterrupted(): void {
    const { store } = this.deps;
    for (const d of store.models.openDownloads()) {
      if (d.state !== 'downloading' && d.state !== 'verifying') continue;
      if (this.alive(d)) continue;
      const kept = keptBytes(this.deps.folder, d.fileName, d.totalBytes);
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
    const transfer = this.running.get(row.id)?.transfer;
    return {
      id: row.id,
      uri: row.uri,
      catalogId: row.catalogId,
      quant: row.quant,
      fileName: row.fileName,
      state: row.state,
      bytes: Math.max(0, Math.round(row.bytes)),
      totalBytes: row.totalBytes === null ? null : Math.max(0, Math.round(row.totalBytes)),
      bytesPerSecond: transfer && row.state === 'downloading' ? Math.max(0, transfer.bytesPerSecond) : 0,
      etaSeconds: transfer && row.state === 'downloading' && transfer.etaSeconds !== null ? Math.max(0, transfer.etaSeconds) : null,
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

  /** Removes a download's partial and final file, unless an installed model is that file. */
  private async removeFiles(fileName: string): Promise<void> {
    const final = join(this.deps.folder, fileName);
    await rm(final + PARTIAL_SUFFIX, { force: true });
    if (!this.deps.store.models.byPath(final)) await rm(final, { force: true });
  }

  /** `name`, or `name-2.gguf`, `name-3.gguf`, … whichever no file, model or open download uses. */
  private freeFileName(name: string): string {
    const stem = name.replace(/\.gguf$/i, '');
    const taken = (n: string) => {
      const path = join(this.deps.folder, n);
      return existsSync(path) || existsSync(path + PARTIAL_SUFFIX) || this.deps.store.models.byPath(path) !== undefined || this.deps.store.models.openDownloadByFile(n) !== undefined;
    };
    if (!taken(name)) return name;
    for (let n = 2; ; n++) if (!taken(`${stem}-${n}.gguf`)) return `${stem}-${n}.gguf`;
  }

  private now(): string {
    return this.deps.clock().toISOString();
  }

  private assertOpen(): void {
    if (this.disposed) throw new AppError('unavailable', 'The model service is shutting down.');
  }
}
