import { mkdirSync, realpathSync, statSync } from 'node:fs';
import { lstat, realpath, rm } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { StoredModel } from '../../../db/models';
import type { Store } from '../../../db/store';
import { modelsService } from '../../../shared/contract/models';
import type { CatalogEntry, CatalogItem, Download, DownloadArgs, InstalledModel } from '../../../shared/contract/models';
import type { HardwareInfo } from '../../../shared/contract/system';
import { AppError } from '../../../shared/errors';
import type { Clock } from '../clock';
import { checkRegularFile } from '../files';
import { parseInput } from '../parseArgs';
import { defaultCatalogFile, loadCatalog } from './catalog';
import { Downloads } from './downloads';
import { modelFit } from './fit';
import { readModelFile } from './ggufInfo';
import { sha256File } from './hash';
import { modelRow } from './modelRow';

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

/**
 * The base models: the catalog with what fits this machine, downloads through node-llama-cpp's
 * downloader (resumable across pauses and crashes, their state in SQLite), imports of local files,
 * and deletes that never touch a file outside the models folder.
 */
export class ModelService {
  private readonly folder: string;
  private readonly transfers: Downloads;
  private catalogEntries: CatalogEntry[] | undefined;
  private lastHardware: HardwareInfo | undefined;

  constructor(private readonly deps: ModelServiceDeps) {
    this.folder = join(deps.dataDir, 'models');
    mkdirSync(this.folder, { recursive: true });
    this.transfers = new Downloads({
      store: deps.store,
      clock: deps.clock,
      folder: this.folder,
      catalog: () => this.catalogList(),
      onDownload: (d) => deps.onDownload(d),
      onInstalled: () => this.changed(),
    });
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
      const id = store.models.insert(modelRow(info, { path, managed, sizeBytes: info.sizeBytes, sha256, source: 'import', catalogId: null, quant: null, createdAt: this.now() }));
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
    return this.transfers.download(args);
  }

  /** Downloads that are running, paused (cancelled or interrupted) or failed. */
  downloads(): { downloads: Download[] } {
    return { downloads: this.transfers.list() };
  }

  /** Pauses a download (its partial file is kept for resume), or discards it with its partial file. */
  async cancelDownload(args: { id: number; discard?: boolean }): Promise<Download> {
    return this.transfers.cancel(args);
  }

  /** Continues a paused or failed download from where its partial file stops. */
  async resumeDownload(args: { id: number }): Promise<Download> {
    return this.transfers.resume(args);
  }

  /** Resolves when the download ends (done/failed/paused/cancelled) — the CLI uses it. */
  async waitForDownload(id: number): Promise<Download> {
    return this.transfers.wait(id);
  }

  /** Stops running downloads, kept resumable ('paused'); downloads left 'downloading' by a crashed process were marked paused at start. */
  async dispose(): Promise<void> {
    await this.transfers.dispose();
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
}
