import type { Database, Statement } from 'better-sqlite3';
import type { BatchSummary } from '../shared/contract/feedback';
import type { ArtifactKind } from '../shared/contract/validation';

/** An artifact's training example as stored. */
export interface ExampleRow {
  readonly artifactId: number;
  readonly correctionId: number;
  readonly reward: number;
  readonly pending: boolean;
  /** The batch that holds this very target, if any. */
  readonly batchId: number | null;
}

/** Which training examples to read: reward at least `minReward`; kind and artifact creation time (ISO, [from, to)) when not null. */
export interface ExampleFilter {
  readonly minReward: number;
  readonly kind: ArtifactKind | null;
  readonly from: string | null;
  readonly to: string | null;
}

export interface FilteredExample {
  readonly artifactId: number;
  readonly kind: ArtifactKind;
  readonly prompt: string;
  readonly completion: string;
  readonly reward: number;
}

export interface JobCountsRow {
  queued: number;
  running: number;
  paused: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

const BATCH_SUMMARY = `SELECT b.id, b.created_at AS createdAt, b.size, b.average_reward AS averageReward, j.id AS jobId, j.status AS jobStatus
  FROM training_batches b JOIN training_jobs j ON j.batch_id = b.id`;
const TARGET_TEXT = 'COALESCE(f.corrected_text, a.output)';
const TARGET_JOIN = 'JOIN artifacts a ON a.id = e.artifact_id LEFT JOIN feedback_events f ON f.id = e.correction_id AND e.correction_id > 0';

/** Training examples, batches (with their example snapshots) and adaptive jobs. Callers hold the transaction. */
export class LearningRepo {
  private readonly upsertStmt: Statement;
  private readonly exampleStmt: Statement<[number], { artifactId: number; correctionId: number; reward: number; pending: number; batchId: number | null }>;
  private readonly pendingCountStmt: Statement<[], { n: number }>;
  private readonly pickStmt: Statement<[number], { artifactId: number; reward: number }>;
  private readonly insertBatchStmt: Statement;
  private readonly snapshotStmt: Statement;
  private readonly unpendStmt: Statement;
  private readonly insertJobStmt: Statement;
  private readonly batchStmt: Statement<[number], BatchSummary>;
  private readonly recentStmt: Statement<[number], BatchSummary>;
  private readonly batchTotalsStmt: Statement<[], { n: number; last: string | null }>;
  private readonly jobCountsStmt: Statement<[], { status: keyof JobCountsRow; n: number }>;
  private readonly rependStmt: Statement;
  private readonly eligibleStmt: Statement<[number], { prompt: string; completion: string }>;
  private readonly filteredStmt: Statement<ExampleFilter, FilteredExample>;
  private readonly filteredCountStmt: Statement<ExampleFilter, { n: number }>;

  constructor(db: Database) {
    const notBatched = `NOT EXISTS (SELECT 1 FROM batch_examples b WHERE b.artifact_id = @artifactId AND b.correction_id = @correctionId)`;
    // A target already waiting keeps its place in the queue.
    this.upsertStmt = db.prepare(
      `INSERT INTO training_examples (artifact_id, correction_id, decided_by, reward, pending, updated_at)
       VALUES (@artifactId, @correctionId, @decidedBy, @reward, (@reward >= @threshold AND ${notBatched}), @now)
       ON CONFLICT (artifact_id) DO UPDATE SET
         updated_at = CASE WHEN pending = 1 AND excluded.pending = 1 AND correction_id = excluded.correction_id THEN updated_at ELSE excluded.updated_at END,
         correction_id = excluded.correction_id, decided_by = excluded.decided_by, reward = excluded.reward, pending = excluded.pending`,
    );
    this.exampleStmt = db.prepare(
      `SELECT e.artifact_id AS artifactId, e.correction_id AS correctionId, e.reward, e.pending, b.batch_id AS batchId
       FROM training_examples e LEFT JOIN batch_examples b ON b.artifact_id = e.artifact_id AND b.correction_id = e.correction_id
       WHERE e.artifact_id = ?`,
    );
    this.pendingCountStmt = db.prepare('SELECT COUNT(*) AS n FROM training_examples WHERE pending = 1');
    this.pickStmt = db.prepare(
      'SELECT artifact_id AS artifactId, reward FROM training_examples WHERE pending = 1 ORDER BY updated_at, artifact_id LIMIT ?',
    );
    this.insertBatchStmt = db.prepare(
      `INSERT INTO training_batches (created_at, size, average_reward, min_reward_threshold) VALUES (@now, @size, @averageReward, @threshold)`,
    );
    this.snapshotStmt = db.prepare(
      `INSERT INTO batch_examples (artifact_id, correction_id, batch_id, prompt, completion, reward)
       SELECT e.artifact_id, e.correction_id, @batchId, a.prompt, ${TARGET_TEXT}, e.reward
       FROM training_examples e ${TARGET_JOIN}
       WHERE e.artifact_id IN (SELECT value FROM json_each(@ids))`,
    );
    this.unpendStmt = db.prepare('UPDATE training_examples SET pending = 0 WHERE artifact_id IN (SELECT value FROM json_each(?))');
    this.insertJobStmt = db.prepare(
      `INSERT INTO training_jobs (type, status, batch_id, created_at, updated_at) VALUES ('adaptive', 'queued', @batchId, @now, @now)`,
    );
    this.batchStmt = db.prepare(`${BATCH_SUMMARY} WHERE b.id = ?`);
    this.recentStmt = db.prepare(`${BATCH_SUMMARY} ORDER BY b.id DESC LIMIT ?`);
    this.batchTotalsStmt = db.prepare('SELECT COUNT(*) AS n, MAX(created_at) AS last FROM training_batches');
    this.jobCountsStmt = db.prepare(`SELECT status, COUNT(*) AS n FROM training_jobs WHERE type = 'adaptive' GROUP BY status`);
    this.rependStmt = db.prepare(
      `UPDATE training_examples SET pending = (reward >= @threshold AND NOT EXISTS
         (SELECT 1 FROM batch_examples b WHERE b.artifact_id = training_examples.artifact_id AND b.correction_id = training_examples.correction_id))`,
    );
    this.eligibleStmt = db.prepare(
      `SELECT a.prompt, ${TARGET_TEXT} AS completion FROM training_examples e ${TARGET_JOIN} WHERE e.reward >= ? ORDER BY e.artifact_id`,
    );
    const filtered = `FROM training_examples e ${TARGET_JOIN}
       WHERE e.reward >= @minReward AND (@kind IS NULL OR a.kind = @kind)
         AND (@from IS NULL OR a.created_at >= @from) AND (@to IS NULL OR a.created_at < @to)`;
    this.filteredStmt = db.prepare(
      `SELECT e.artifact_id AS artifactId, a.kind, a.prompt, ${TARGET_TEXT} AS completion, e.reward ${filtered} ORDER BY e.artifact_id`,
    );
    this.filteredCountStmt = db.prepare(`SELECT COUNT(*) AS n ${filtered}`);
  }

  /** Sets an artifact's example; it waits for a batch when eligible and this target was never batched. */
  upsertExample(example: { artifactId: number; correctionId: number; decidedBy: number; reward: number; threshold: number; now: string }): void {
    this.upsertStmt.run(example);
  }

  example(artifactId: number): ExampleRow | null {
    const row = this.exampleStmt.get(artifactId);
    return row ? { ...row, pending: row.pending === 1 } : null;
  }

  pendingCount(): number {
    return this.pendingCountStmt.get()!.n;
  }

  /** Moves up to `size` waiting examples (oldest first) into a new batch with a queued adaptive job. */
  createBatch(size: number, threshold: number, now: string): BatchSummary | null {
    const picked = this.pickStmt.all(size);
    if (picked.length === 0) return null;
    const averageReward = Math.round((picked.reduce((sum, e) => sum + e.reward, 0) / picked.length) * 1e4) / 1e4;
    const batchId = Number(this.insertBatchStmt.run({ now, size: picked.length, averageReward, threshold }).lastInsertRowid);
    const ids = JSON.stringify(picked.map((e) => e.artifactId));
    this.snapshotStmt.run({ batchId, ids });
    this.unpendStmt.run(ids);
    this.insertJobStmt.run({ batchId, now });
    return this.batchStmt.get(batchId)!;
  }

  batchTotals(): { count: number; lastAt: string | null } {
    const row = this.batchTotalsStmt.get()!;
    return { count: row.n, lastAt: row.last };
  }

  recentBatches(limit: number): BatchSummary[] {
    return this.recentStmt.all(limit);
  }

  jobCounts(): JobCountsRow {
    const counts: JobCountsRow = { queued: 0, running: 0, paused: 0, succeeded: 0, failed: 0, cancelled: 0 };
    for (const row of this.jobCountsStmt.all()) counts[row.status] = row.n;
    return counts;
  }

  /** After the threshold changes: which examples wait is decided again. */
  recomputePending(threshold: number): void {
    this.rependStmt.run({ threshold });
  }

  /** Examples with reward ≥ `minReward` (corrections give the corrected text) of artifacts matching the filter, by artifact. */
  iterateFiltered(filter: ExampleFilter): IterableIterator<FilteredExample> {
    return this.filteredStmt.iterate(filter);
  }

  countFiltered(filter: ExampleFilter): number {
    return this.filteredCountStmt.get(filter)!.n;
  }

  /** prompt/completion of every example with reward ≥ threshold, by artifact. */
  iterateEligible(threshold: number): IterableIterator<{ prompt: string; completion: string }> {
    return this.eligibleStmt.iterate(threshold);
  }
}
