import type { Database, Statement } from 'better-sqlite3';
import type { FeedbackEvent, FeedbackType } from '../shared/contract/feedback';
import type { ValidationReason } from '../shared/contract/validation';
import type { OutcomeEvent } from '../shared/example';

/** A feedback event as stored; the type-specific fields are null for the other types. */
export interface NewFeedbackEvent {
  readonly artifactId: number;
  readonly type: FeedbackType;
  readonly reward: number;
  readonly correctedText: string | null;
  readonly similarity: number | null;
  readonly score: number | null;
  readonly reasons: readonly ValidationReason[] | null;
  readonly validator: string | null;
  readonly createdAt: string;
}

interface EventRow {
  id: number;
  artifact_id: number;
  type: FeedbackType;
  reward: number;
  similarity: number | null;
  text_length: number | null;
  score: number | null;
  reasons: string | null;
  validator: string | null;
  created_at: string;
}

// The corrected text stays in the database; lists carry only its length.
const COLUMNS = `id, artifact_id, type, reward, similarity, length(corrected_text) AS text_length, score, reasons, validator, created_at`;

/** The feedback_events table (append-only). */
export class FeedbackEventRepo {
  private readonly insertStmt: Statement;
  private readonly byArtifact: Statement<[number], EventRow>;
  private readonly byArtifacts: Statement<[string], EventRow>;
  private readonly outcomeStmt: Statement<[number], OutcomeEvent>;
  private readonly latestScoreStmt: Statement<[number], { score: number; corrected: number }>;
  private readonly latestCorrectionStmt: Statement<[number], { id: number; text: string; similarity: number }>;
  private readonly exportStmt: Statement<[number, number], string>;

  constructor(db: Database) {
    this.insertStmt = db.prepare(
      `INSERT INTO feedback_events (artifact_id, type, reward, corrected_text, similarity, score, reasons, validator, created_at)
       VALUES (@artifactId, @type, @reward, @correctedText, @similarity, @score, @reasons, @validator, @createdAt)`,
    );
    this.byArtifact = db.prepare(`SELECT ${COLUMNS} FROM feedback_events WHERE artifact_id = ? ORDER BY id`);
    this.byArtifacts = db.prepare(
      `SELECT ${COLUMNS} FROM feedback_events WHERE artifact_id IN (SELECT value FROM json_each(?)) ORDER BY id`,
    );
    this.outcomeStmt = db.prepare('SELECT id, type, reward FROM feedback_events WHERE artifact_id = ? ORDER BY id');
    this.latestScoreStmt = db.prepare(
      `SELECT v.score, EXISTS (SELECT 1 FROM feedback_events c WHERE c.artifact_id = v.artifact_id AND c.type = 'correction') AS corrected
       FROM feedback_events v WHERE v.artifact_id = ? AND v.type = 'validation' ORDER BY v.id DESC LIMIT 1`,
    );
    this.latestCorrectionStmt = db.prepare(
      `SELECT id, corrected_text AS text, similarity FROM feedback_events
       WHERE artifact_id = ? AND type = 'correction' ORDER BY id DESC LIMIT 1`,
    );
    // SQLite writes each JSON line itself: one string per row crosses into JS instead of nine values,
    // which halves the cost of an export. Types, kinds and ISO timestamps come from CHECK-constrained
    // columns and need no escaping; reasons are stored as JSON; REALs print as valid JSON numbers.
    this.exportStmt = db
      .prepare<[number, number], string>(
        `SELECT '{"id":' || f.id || ',"type":"' || f.type || '","reward":' || f.reward || ',"artifact_id":' || f.artifact_id
           || ',"artifact_kind":"' || a.kind || '","timestamp":"' || f.created_at || '"'
           || CASE WHEN f.score IS NULL THEN '' ELSE ',"score":' || f.score || ',"reasons":' || COALESCE(f.reasons, '[]') END
           || CASE WHEN f.similarity IS NULL THEN '' ELSE ',"similarity":' || f.similarity END || '}'
         FROM feedback_events f JOIN artifacts a ON a.id = f.artifact_id
         WHERE f.id > ? ORDER BY f.id LIMIT ?`,
      )
      .pluck();
  }

  insert(event: NewFeedbackEvent): number {
    const reasons = event.reasons === null ? null : JSON.stringify(event.reasons);
    return Number(this.insertStmt.run({ ...event, reasons }).lastInsertRowid);
  }

  /** An artifact's events, oldest first. */
  forArtifact(artifactId: number): FeedbackEvent[] {
    return this.byArtifact.all(artifactId).map(toEvent);
  }

  /** The events of several artifacts, grouped by artifact, oldest first. */
  forArtifacts(artifactIds: readonly number[]): Map<number, FeedbackEvent[]> {
    const grouped = new Map<number, FeedbackEvent[]>(artifactIds.map((id) => [id, []]));
    if (artifactIds.length === 0) return grouped;
    for (const row of this.byArtifacts.all(JSON.stringify(artifactIds))) grouped.get(row.artifact_id)?.push(toEvent(row));
    return grouped;
  }

  /** What the training example is decided from. */
  outcomeEvents(artifactId: number): OutcomeEvent[] {
    return this.outcomeStmt.all(artifactId);
  }

  /** The latest validation score of the generated text, or null (none, or the user has replaced the text). */
  validationScoreOfOutput(artifactId: number): number | null {
    const row = this.latestScoreStmt.get(artifactId);
    return row && !row.corrected ? row.score : null;
  }

  latestCorrection(artifactId: number): { id: number; text: string; similarity: number } | null {
    return this.latestCorrectionStmt.get(artifactId) ?? null;
  }

  /**
   * feedback_events.jsonl lines (without newlines) for up to `limit` events after event `afterId`,
   * oldest first: {"id","type","reward","artifact_id","artifact_kind","timestamp"} plus "score" and
   * "reasons" for a validation and "similarity" for a correction.
   */
  exportLines(afterId: number, limit: number): string[] {
    return this.exportStmt.all(afterId, limit);
  }
}

function toEvent(row: EventRow): FeedbackEvent {
  const base = { id: row.id, artifactId: row.artifact_id, reward: row.reward, createdAt: row.created_at };
  switch (row.type) {
    case 'correction':
      return { ...base, type: 'correction', similarity: row.similarity ?? 0, length: row.text_length ?? 0 };
    case 'validation':
      return {
        ...base,
        type: 'validation',
        score: row.score ?? 0,
        reasons: row.reasons ? (JSON.parse(row.reasons) as ValidationReason[]) : [],
        validator: row.validator ?? '',
      };
    default:
      return { ...base, type: row.type };
  }
}
