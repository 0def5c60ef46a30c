import type { Database, Statement } from 'better-sqlite3';
import { JobProgress } from '../shared/contract/training';
import type { Job, JobStatus } from '../shared/contract/training';
import { TrainingConfig } from '../shared/training/config';

interface JobRow {
  id: number;
  type: 'manual' | 'adaptive';
  status: JobStatus;
  batch_id: number | null;
  model_id: number | null;
  dataset_id: number | null;
  config: string | null;
  message: string | null;
  log_tail: string | null;
  checkpoint: string | null;
  owner_pid: number | null;
  requested: 'pause' | 'cancel' | null;
  version: number | null;
  version_dir: string | null;
  adapter_path: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** One example of a learning batch, as it went in; `heldOut` 1: kept for the evaluation gate. */
export interface BatchExample {
  readonly artifactId: number;
  readonly correctionId: number;
  readonly prompt: string;
  readonly completion: string;
  readonly kind: string;
  readonly heldOut: 0 | 1;
}

/** A job as stored, with who runs it and what was asked of it. */
export interface StoredJob extends Omit<Job, 'progress'> {
  readonly ownerPid: number | null;
  readonly requested: 'pause' | 'cancel' | null;
}

export interface JobPatch {
  status?: JobStatus;
  modelId?: number | null;
  config?: TrainingConfig | null;
  message?: string | null;
  logTail?: string[];
  checkpoint?: string | null;
  ownerPid?: number | null;
  requested?: 'pause' | 'cancel' | null;
  version?: { number: number; dir: string; adapterPath: string } | null;
  startedAt?: string | null;
  finishedAt?: string | null;
}

const COLUMNS: Record<keyof JobPatch, string> = {
  status: 'status',
  modelId: 'model_id',
  config: 'config',
  message: 'message',
  logTail: 'log_tail',
  checkpoint: 'checkpoint',
  ownerPid: 'owner_pid',
  requested: 'requested',
  version: 'version',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
};

function fromRow(row: JobRow): StoredJob {
  return {
    id: row.id,
    type: row.type,
    status: row.status,
    modelId: row.model_id,
    datasetId: row.dataset_id,
    batchId: row.batch_id,
    config: row.config === null ? null : TrainingConfig.parse(JSON.parse(row.config)),
    message: row.message,
    logTail: row.log_tail === null ? [] : (JSON.parse(row.log_tail) as string[]),
    checkpoint: row.checkpoint,
    version: row.version === null ? null : { number: row.version, dir: row.version_dir!, adapterPath: row.adapter_path! },
    ownerPid: row.owner_pid,
    requested: row.requested,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

/** The training_jobs and job_progress tables. Callers hold transactions where several writes go together. */
export class JobRepo {
  private readonly db: Database;
  private readonly getStmt: Statement<[number], JobRow>;
  private readonly listStmt: Statement<[number], JobRow>;
  private readonly runningStmt: Statement<[], JobRow>;
  private readonly nextStmt: Statement<[], JobRow>;
  private readonly insertStmt: Statement<Record<string, unknown>>;
  private readonly progressStmt: Statement<[number, number, string]>;
  private readonly historyStmt: Statement<[number], { data: string }>;
  private readonly latestStmt: Statement<[number], { data: string }>;
  private readonly clearProgressAfterStmt: Statement<[number, number]>;
  private readonly batchExamplesStmt: Statement<[number], BatchExample>;

  constructor(db: Database) {
    this.db = db;
    this.getStmt = db.prepare('SELECT * FROM training_jobs WHERE id = ?');
    this.listStmt = db.prepare('SELECT * FROM training_jobs ORDER BY id DESC LIMIT ?');
    this.runningStmt = db.prepare("SELECT * FROM training_jobs WHERE status = 'running'");
    // Manual before adaptive, then oldest first.
    this.nextStmt = db.prepare("SELECT * FROM training_jobs WHERE status = 'queued' ORDER BY type = 'adaptive', id LIMIT 1");
    this.insertStmt = db.prepare(
      `INSERT INTO training_jobs (type, status, model_id, dataset_id, config, created_at, updated_at)
       VALUES ('manual', 'queued', @modelId, @datasetId, @config, @now, @now)`,
    );
    this.progressStmt = db.prepare('INSERT OR REPLACE INTO job_progress (job_id, step, data) VALUES (?, ?, ?)');
    this.historyStmt = db.prepare('SELECT data FROM job_progress WHERE job_id = ? ORDER BY step');
    this.latestStmt = db.prepare('SELECT data FROM job_progress WHERE job_id = ? ORDER BY step DESC LIMIT 1');
    this.clearProgressAfterStmt = db.prepare('DELETE FROM job_progress WHERE job_id = ? AND step > ?');
    this.batchExamplesStmt = db.prepare(
      `SELECT b.artifact_id AS artifactId, b.correction_id AS correctionId, b.prompt, b.completion, a.kind, b.held_out AS heldOut
       FROM batch_examples b JOIN artifacts a ON a.id = b.artifact_id
       WHERE b.batch_id = ? ORDER BY b.artifact_id, b.correction_id`,
    );
  }

  /** A batch's examples as they went into it, with their artifact's kind (which picks the prompt template). */
  batchExamples(batchId: number): BatchExample[] {
    return this.batchExamplesStmt.all(batchId);
  }

  get(id: number): StoredJob | undefined {
    const row = this.getStmt.get(id);
    return row && fromRow(row);
  }

  list(limit: number): StoredJob[] {
    return this.listStmt.all(limit).map(fromRow);
  }

  running(): StoredJob | undefined {
    const row = this.runningStmt.get();
    return row && fromRow(row);
  }

  nextQueued(): StoredJob | undefined {
    const row = this.nextStmt.get();
    return row && fromRow(row);
  }

  insertManual(job: { modelId: number; datasetId: number; config: TrainingConfig; now: string }): number {
    return Number(this.insertStmt.run({ ...job, config: JSON.stringify(job.config) }).lastInsertRowid);
  }

  update(id: number, patch: JobPatch, now: string): StoredJob {
    const sets: string[] = ['updated_at = @now'];
    const values: Record<string, unknown> = { id, now };
    for (const [key, value] of Object.entries(patch) as [keyof JobPatch, unknown][]) {
      if (value === undefined) continue;
      if (key === 'version') {
        const version = value as JobPatch['version'];
        sets.push('version = @version', 'version_dir = @versionDir', 'adapter_path = @adapterPath');
        Object.assign(values, { version: version?.number ?? null, versionDir: version?.dir ?? null, adapterPath: version?.adapterPath ?? null });
        continue;
      }
      sets.push(`${COLUMNS[key]} = @${key}`);
      values[key] = key === 'config' || key === 'logTail' ? (value === null ? null : JSON.stringify(value)) : value;
    }
    this.db.prepare(`UPDATE training_jobs SET ${sets.join(', ')} WHERE id = @id`).run(values);
    return this.get(id)!;
  }

  addProgress(jobId: number, progress: JobProgress): void {
    this.progressStmt.run(jobId, progress.step, JSON.stringify(progress));
  }

  /** Steps past `step` are dropped when a job resumes from the checkpoint at `step`: they will be run again. */
  dropProgressAfter(jobId: number, step: number): void {
    this.clearProgressAfterStmt.run(jobId, step);
  }

  history(jobId: number): JobProgress[] {
    return this.historyStmt.all(jobId).map((r) => JobProgress.parse(JSON.parse(r.data)));
  }

  latestProgress(jobId: number): JobProgress | null {
    const row = this.latestStmt.get(jobId);
    return row ? JobProgress.parse(JSON.parse(row.data)) : null;
  }
}
