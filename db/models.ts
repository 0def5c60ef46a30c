import type { Database, Statement } from 'better-sqlite3';
import { ModelShape } from '../shared/contract/models';
import type { Download, DownloadState, InstalledModel, ModelSource } from '../shared/contract/models';

/** A model row as stored: what list() reports, before the live checks (file present, fit). */
export type StoredModel = Omit<InstalledModel, 'missing' | 'fit'>;
export type NewModel = Omit<StoredModel, 'id'>;

/** A download row as stored; speed and ETA live only in the process that runs it. */
export type StoredDownload = Omit<Download, 'bytesPerSecond' | 'etaSeconds'> & {
  /** The process running it while downloading/verifying; null otherwise. */
  readonly ownerPid: number | null;
  readonly createdAt: string;
};
export type NewDownload = Omit<StoredDownload, 'id' | 'modelId' | 'error' | 'updatedAt'> & { readonly now: string };
export type DownloadPatch = Partial<Pick<StoredDownload, 'state' | 'bytes' | 'totalBytes' | 'error' | 'modelId' | 'ownerPid'>>;

interface ModelRow {
  id: number;
  name: string;
  path: string;
  managed: number;
  size_bytes: number;
  sha256: string;
  architecture: string;
  file_type: string;
  shape: string | null;
  trainable: number;
  train_reason: string | null;
  source: ModelSource;
  catalog_id: string | null;
  quant: string | null;
  created_at: string;
}

interface DownloadRow {
  id: number;
  uri: string;
  catalog_id: string | null;
  quant: string | null;
  file_name: string;
  state: DownloadState;
  bytes: number;
  total_bytes: number | null;
  error: string | null;
  model_id: number | null;
  owner_pid: number | null;
  created_at: string;
  updated_at: string;
}

/** States a download leaves behind that can still go on (or be discarded). */
const OPEN_STATES = "('downloading', 'verifying', 'paused', 'failed')";

/** The models and downloads tables. */
export class ModelRepo {
  private readonly listStmt: Statement<[], ModelRow>;
  private readonly getStmt: Statement<[number], ModelRow>;
  private readonly byPathStmt: Statement<[string], ModelRow>;
  private readonly byShaStmt: Statement<[string], ModelRow>;
  private readonly byCatalogStmt: Statement<{ catalogId: string; quant: string }, ModelRow>;
  private readonly insertStmt: Statement<Record<string, unknown>>;
  private readonly deleteStmt: Statement<[number]>;
  private readonly insertDownloadStmt: Statement<Record<string, unknown>>;
  private readonly getDownloadStmt: Statement<[number], DownloadRow>;
  private readonly openDownloadsStmt: Statement<[], DownloadRow>;
  private readonly openByUriStmt: Statement<[string], DownloadRow>;
  private readonly openByFileStmt: Statement<[string], DownloadRow>;
  private readonly installedByUriStmt: Statement<[string], ModelRow>;
  private readonly updateDownloadStmt: Statement<Record<string, unknown>>;

  constructor(private readonly db: Database) {
    this.listStmt = db.prepare('SELECT * FROM models ORDER BY created_at, id');
    this.getStmt = db.prepare('SELECT * FROM models WHERE id = ?');
    this.byPathStmt = db.prepare('SELECT * FROM models WHERE path = ?');
    this.byShaStmt = db.prepare('SELECT * FROM models WHERE sha256 = ? ORDER BY id LIMIT 1');
    this.byCatalogStmt = db.prepare('SELECT * FROM models WHERE catalog_id = @catalogId AND quant = @quant ORDER BY id LIMIT 1');
    this.insertStmt = db.prepare(
      `INSERT INTO models (name, path, managed, size_bytes, sha256, architecture, file_type, shape, trainable, train_reason, source, catalog_id, quant, created_at)
       VALUES (@name, @path, @managed, @sizeBytes, @sha256, @architecture, @fileType, @shape, @trainable, @trainReason, @source, @catalogId, @quant, @createdAt)`,
    );
    this.deleteStmt = db.prepare('DELETE FROM models WHERE id = ?');
    this.insertDownloadStmt = db.prepare(
      `INSERT INTO downloads (uri, catalog_id, quant, file_name, state, bytes, total_bytes, owner_pid, created_at, updated_at)
       VALUES (@uri, @catalogId, @quant, @fileName, @state, @bytes, @totalBytes, @ownerPid, @now, @now)`,
    );
    this.getDownloadStmt = db.prepare('SELECT * FROM downloads WHERE id = ?');
    this.openDownloadsStmt = db.prepare(`SELECT * FROM downloads WHERE state IN ${OPEN_STATES} ORDER BY created_at, id`);
    this.openByUriStmt = db.prepare(`SELECT * FROM downloads WHERE uri = ? AND state IN ${OPEN_STATES} ORDER BY id DESC LIMIT 1`);
    this.openByFileStmt = db.prepare(`SELECT * FROM downloads WHERE file_name = ? AND state IN ${OPEN_STATES} ORDER BY id DESC LIMIT 1`);
    this.installedByUriStmt = db.prepare(
      `SELECT m.* FROM downloads d JOIN models m ON m.id = d.model_id WHERE d.uri = ? AND d.state = 'done' ORDER BY d.id DESC LIMIT 1`,
    );
    this.updateDownloadStmt = db.prepare(
      `UPDATE downloads SET state = @state, bytes = @bytes, total_bytes = @totalBytes, error = @error, model_id = @modelId,
              owner_pid = @ownerPid, updated_at = @now WHERE id = @id`,
    );
  }

  list(): StoredModel[] {
    return this.listStmt.all().map(toModel);
  }

  get(id: number): StoredModel | undefined {
    const row = this.getStmt.get(id);
    return row && toModel(row);
  }

  byPath(path: string): StoredModel | undefined {
    const row = this.byPathStmt.get(path);
    return row && toModel(row);
  }

  bySha256(sha256: string): StoredModel | undefined {
    const row = this.byShaStmt.get(sha256);
    return row && toModel(row);
  }

  byCatalogFile(catalogId: string, quant: string): StoredModel | undefined {
    const row = this.byCatalogStmt.get({ catalogId, quant });
    return row && toModel(row);
  }

  /** Returns the new id; a path already stored throws SQLite's UNIQUE error. */
  insert(model: NewModel): number {
    return Number(
      this.insertStmt.run({
        ...model,
        managed: model.managed ? 1 : 0,
        trainable: model.trainable ? 1 : 0,
        shape: model.shape === null ? null : JSON.stringify(model.shape),
      }).lastInsertRowid,
    );
  }

  /** False when there was no such model. Downloads that made it keep their row (model_id becomes NULL). */
  delete(id: number): boolean {
    return this.deleteStmt.run(id).changes > 0;
  }

  insertDownload(download: NewDownload): number {
    return Number(this.insertDownloadStmt.run({ ...download }).lastInsertRowid);
  }

  getDownload(id: number): StoredDownload | undefined {
    const row = this.getDownloadStmt.get(id);
    return row && toDownload(row);
  }

  /** Downloads that are running, verifying, paused or failed, oldest first. */
  openDownloads(): StoredDownload[] {
    return this.openDownloadsStmt.all().map(toDownload);
  }

  /** The newest open download of this URI. */
  openDownloadByUri(uri: string): StoredDownload | undefined {
    const row = this.openByUriStmt.get(uri);
    return row && toDownload(row);
  }

  /** The newest open download writing this file name in the models folder. */
  openDownloadByFile(fileName: string): StoredDownload | undefined {
    const row = this.openByFileStmt.get(fileName);
    return row && toDownload(row);
  }

  /** The installed model a finished download of this URI made, if it is still there. */
  installedFromUri(uri: string): StoredModel | undefined {
    const row = this.installedByUriStmt.get(uri);
    return row && toModel(row);
  }

  /** Applies `patch` and returns the row as stored; undefined when there is no such download. */
  updateDownload(id: number, patch: DownloadPatch, now: string): StoredDownload | undefined {
    return this.db.transaction(() => {
      const current = this.getDownload(id);
      if (!current) return undefined;
      const next = { ...current, ...patch };
      this.updateDownloadStmt.run({
        id,
        state: next.state,
        bytes: next.bytes,
        totalBytes: next.totalBytes,
        error: next.error,
        modelId: next.modelId,
        ownerPid: next.ownerPid,
        now,
      });
      return { ...next, updatedAt: now };
    })();
  }
}

function toModel(row: ModelRow): StoredModel {
  const shape = row.shape === null ? null : ModelShape.safeParse(JSON.parse(row.shape));
  return {
    id: row.id,
    name: row.name,
    path: row.path,
    managed: row.managed === 1,
    sizeBytes: row.size_bytes,
    sha256: row.sha256,
    architecture: row.architecture,
    fileType: row.file_type,
    shape: shape?.success ? shape.data : null,
    trainable: row.trainable === 1,
    trainReason: row.train_reason,
    source: row.source,
    catalogId: row.catalog_id,
    quant: row.quant,
    createdAt: row.created_at,
  };
}

function toDownload(row: DownloadRow): StoredDownload {
  return {
    id: row.id,
    uri: row.uri,
    catalogId: row.catalog_id,
    quant: row.quant,
    fileName: row.file_name,
    state: row.state,
    bytes: row.bytes,
    totalBytes: row.total_bytes,
    error: row.error,
    modelId: row.model_id,
    ownerPid: row.owner_pid,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
