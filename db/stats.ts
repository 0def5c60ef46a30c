import type { Database, Statement } from 'better-sqlite3';

export interface FeedbackTotals {
  readonly total: number;
  readonly averageReward: number | null;
  /** Counts per 0.2-wide reward bucket, index 0 = [−1, −0.8), index 9 = [0.8, 1]. */
  readonly histogram: number[];
  readonly byType: Record<string, number>;
  readonly byKind: Record<string, { artifacts: number; feedback: number }>;
  readonly artifacts: number;
}

/** Aggregates over the whole store, for the stats page and `architect stats`. */
export class StatsRepo {
  private readonly totalsStmt: Statement<[], { n: number; avg: number | null }>;
  private readonly histogramStmt: Statement<[], { bucket: number; n: number }>;
  private readonly byTypeStmt: Statement<[], { type: string; n: number }>;
  private readonly artifactsByKindStmt: Statement<[], { kind: string; n: number }>;
  private readonly feedbackByKindStmt: Statement<[], { kind: string; n: number }>;

  constructor(db: Database) {
    this.totalsStmt = db.prepare('SELECT COUNT(*) AS n, AVG(reward) AS avg FROM feedback_events');
    this.histogramStmt = db.prepare(
      'SELECT MIN(9, MAX(0, CAST((reward + 1) * 5 AS INTEGER))) AS bucket, COUNT(*) AS n FROM feedback_events GROUP BY bucket',
    );
    this.byTypeStmt = db.prepare('SELECT type, COUNT(*) AS n FROM feedback_events GROUP BY type');
    this.artifactsByKindStmt = db.prepare('SELECT kind, COUNT(*) AS n FROM artifacts GROUP BY kind');
    this.feedbackByKindStmt = db.prepare(
      'SELECT a.kind, COUNT(*) AS n FROM feedback_events f JOIN artifacts a ON a.id = f.artifact_id GROUP BY a.kind',
    );
  }

  /** One consistent read of every aggregate (the caller wraps it in a transaction). */
  feedbackTotals(): FeedbackTotals {
    const totals = this.totalsStmt.get()!;
    const histogram = Array.from({ length: 10 }, () => 0);
    for (const row of this.histogramStmt.all()) histogram[row.bucket] = row.n;
    const byType = Object.fromEntries(this.byTypeStmt.all().map((r) => [r.type, r.n]));
    const byKind: Record<string, { artifacts: number; feedback: number }> = {};
    for (const row of this.artifactsByKindStmt.all()) byKind[row.kind] = { artifacts: row.n, feedback: 0 };
    for (const row of this.feedbackByKindStmt.all()) (byKind[row.kind] ??= { artifacts: 0, feedback: 0 }).feedback = row.n;
    const artifacts = Object.values(byKind).reduce((sum, k) => sum + k.artifacts, 0);
    return { total: totals.n, averageReward: totals.avg, histogram, byType, byKind, artifacts };
  }
}
