import { createModelDownloader } from 'node-llama-cpp';
import type { DownloadPatch, StoredDownload } from '../../../db/models';
import type { Store } from '../../../db/store';
import type { CatalogEntry, Download } from '../../../shared/contract/models';
import { AppError } from '../../../shared/errors';
import { formatGB } from '../../../shared/models/memory';
import { checkDiskSpace } from './diskSpace';
import { modelRow } from './modelRow';
import { keptBytes } from './partialFile';
import { VerifyError, verifyDownloadedFile } from './verify';

const PROGRESS_MS = 250;
const STORE_PROGRESS_MS = 1000;

export interface TransferDeps {
  readonly store: Store;
  /** The models folder: the file is written here. */
  readonly folder: string;
  readonly catalog: () => CatalogEntry[];
  /** The time rows are stamped with, ISO 8601. */
  readonly now: () => string;
  /** Writes a change of this download (`row` follows it) and, when `emit`, reports it. */
  readonly update: (patch: DownloadPatch, emit: boolean) => Download;
  /** Reports a row as it stands. */
  readonly report: (row: StoredDownload) => Download;
  /** Removes the download's partial and final file. */
  readonly removeFiles: (fileName: string) => Promise<void>;
  /** After the finished file is registered as a model. */
  readonly onInstalled: () => Promise<void>;
}

/**
 * One download running in this process, through node-llama-cpp's downloader from its start (or
 * resume) to its end: done and registered, paused, cancelled or failed.
 */
export class Transfer {
  private readonly controller = new AbortController();
  /** Why it was aborted: pause keeps the partial file, discard removes it. */
  private intent: 'pause' | 'discard' = 'pause';
  private speed = 0;
  private eta: number | null = null;
  private lastEmit = 0;
  private lastStore = Date.now();
  private sampleAt = Date.now();
  private sampleBytes: number;

  constructor(
    /** The download's row as last written or reported. */
    public row: StoredDownload,
    private readonly deps: TransferDeps,
  ) {
    this.sampleBytes = row.bytes;
  }

  /** Bytes per second, smoothed. */
  get bytesPerSecond(): number {
    return this.speed;
  }

  /** Seconds left at the current speed; null when unknown. */
  get etaSeconds(): number | null {
    return this.eta;
  }

  /** Aborts the download: its partial file is kept for a resume unless `discard`. */
  stop(discard = false): void {
    if (discard) this.intent = 'discard';
    this.controller.abort();
  }

  /** Resolves with the download's final state; never rejects. */
  async run(): Promise<Download> {
    const { signal } = this.controller;
    try {
      const downloader = await createModelDownloader({
        modelUri: this.row.uri,
        dirPath: this.deps.folder,
        fileName: this.row.fileName,
        // Paused downloads keep their partial file; a finished file already there is taken as is (then verified).
        deleteTempFileOnCancel: false,
        skipExisting: true,
        onProgress: (status) => this.progress(status.downloadedSize, status.totalSize),
      });
      if (signal.aborted) {
        await downloader.cancel({ deleteTempFile: false });
        return this.stopped();
      }
      if (downloader.totalFiles !== 1) {
        await downloader.cancel({ deleteTempFile: true });
        throw new VerifyError(`${this.row.uri} is a split GGUF of ${downloader.totalFiles} files; split models are not supported yet: choose a single-file quantization`);
      }
      const total = downloader.totalSize > 0 ? downloader.totalSize : this.row.totalBytes;
      if (total !== this.row.totalBytes) this.deps.update({ totalBytes: total }, false);
      await checkDiskSpace(this.deps.folder, total, downloader.downloadedSize, 'args.uri').catch(async (error: unknown) => {
        await downloader.cancel({ deleteTempFile: false });
        throw error;
      });
      const path = await downloader.download({ signal });
      // ipull ends quietly when it is closed: a cancel looks like an early return.
      if (signal.aborted) return this.stopped();
      return await this.verify(path, downloader.totalSize);
    } catch (error) {
      if (signal.aborted && !(error instanceof VerifyError)) return this.stopped();
      return this.failed(error);
    }
  }

  /** The finished file: a whole GGUF model, hashed, then registered with the download done in one transaction. */
  private async verify(path: string, expectedBytes: number): Promise<Download> {
    const { store, now } = this.deps;
    this.deps.update({ state: 'verifying', bytes: this.row.totalBytes ?? this.row.bytes }, true);
    const { size, info, sha256 } = await verifyDownloadedFile(path, expectedBytes, this.controller.signal);
    const { id, catalogId, quant } = this.row;
    const entry = catalogId ? this.deps.catalog().find((e) => e.id === catalogId) : undefined;
    const at = now();
    const done = store.db.transaction(() => {
      const modelId = store.models.insert(
        modelRow(info, {
          name: entry ? `${entry.name}${quant ? ` (${quant})` : ''}` : undefined,
          path,
          managed: true,
          sizeBytes: size,
          sha256,
          source: catalogId ? 'catalog' : 'url',
          catalogId,
          quant,
          createdAt: at,
        }),
      );
      return store.models.updateDownload(id, { state: 'done', bytes: size, totalBytes: size, error: null, modelId, ownerPid: null }, at)!;
    }).immediate();
    this.row = done;
    this.speed = 0;
    this.eta = 0;
    const view = this.deps.report(done);
    await this.deps.onInstalled();
    return view;
  }

  /** Paused (partial file kept) or discarded (partial file removed), as the stop asked. */
  private async stopped(): Promise<Download> {
    this.speed = 0;
    this.eta = null;
    if (this.intent === 'discard') {
      await this.deps.removeFiles(this.row.fileName);
      return this.deps.update({ state: 'cancelled', error: null, ownerPid: null }, true);
    }
    const kept = keptBytes(this.deps.folder, this.row.fileName, this.row.totalBytes);
    return this.deps.update({ state: 'paused', error: null, ownerPid: null, ...(kept !== undefined ? { bytes: kept } : {}) }, true);
  }

  /**
   * The server refused (HTTP status) or the file is not a model: nothing of it stays in the folder.
   * Anything else (the network) keeps the partial file, so a resume continues from it.
   */
  private async failed(error: unknown): Promise<Download> {
    this.speed = 0;
    this.eta = null;
    const status = (error as { statusCode?: unknown }).statusCode;
    let message: string;
    if (typeof status === 'number') {
      const text = (error as { statusText?: string }).statusText ?? '';
      message = `The server answered HTTP ${status}${text ? ` ${text}` : ''} for ${this.row.uri}: check the address (and your access to it) and try again.`;
      await this.deps.removeFiles(this.row.fileName);
    } else if (error instanceof VerifyError) {
      message = `The downloaded file was refused and deleted: ${error.message}.`;
      await this.deps.removeFiles(this.row.fileName);
    } else if (error instanceof AppError) {
      message = error.message;
    } else {
      message = `The download stopped: ${(error as Error).message ?? String(error)}. Resume it to continue from ${formatGB(this.row.bytes)}.`;
    }
    return this.deps.update({ state: 'failed', error: message, ownerPid: null }, true);
  }

  /** Reported at most every PROGRESS_MS, stored at most every STORE_PROGRESS_MS. */
  private progress(bytes: number, total: number): void {
    const now = Date.now();
    if (this.controller.signal.aborted || this.row.state !== 'downloading' || now - this.lastEmit < PROGRESS_MS) return;
    const elapsed = (now - this.sampleAt) / 1000;
    if (elapsed > 0) {
      const rate = Math.max(0, bytes - this.sampleBytes) / elapsed;
      this.speed = this.speed === 0 ? rate : 0.7 * this.speed + 0.3 * rate;
    }
    this.sampleAt = now;
    this.sampleBytes = bytes;
    const totalBytes = total > 0 ? total : this.row.totalBytes;
    this.eta = totalBytes !== null && this.speed > 0 ? Math.max(0, totalBytes - bytes) / this.speed : null;
    this.lastEmit = now;
    const patch = { bytes: Math.max(0, Math.round(bytes)), totalBytes };
    if (now - this.lastStore >= STORE_PROGRESS_MS) {
      this.lastStore = now;
      this.row = this.deps.store.models.updateDownload(this.row.id, patch, this.deps.now()) ?? this.row;
    } else {
      this.row = { ...this.row, ...patch, updatedAt: this.deps.now() };
    }
    this.deps.report(this.row);
  }
}
