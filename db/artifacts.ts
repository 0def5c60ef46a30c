import type { Database, Statement } from 'better-sqlite3';
import type { Artifact } from '../shared/contract/artifacts';
import type { ArtifactKind } from '../shared/contract/validation';

export interface NewArtifact {
  readonly kind: ArtifactKind;
  readonly prompt: string;
  readonly output: string;
  readonly language: string | null;
  readonly model: string;
  readonly modelVersion: string;
  readonly createdAt: string;
}

/** A History row before its events are attached; reward is its training example's, if any. */
export interface ArtifactListRow {
  readonly id: number;
  readonly kind: ArtifactKind;
  readonly prompt: string;
  readonly model: string;
  readonly createdAt: string;
  readonly reward: number | null;
}

export interface ArtifactQuery {
  readonly kind: ArtifactKind | undefined;
  readonly sort: 'date' | 'reward';
  readonly order: 'desc' | 'asc';
  readonly limit: number;
  readonly offset: number;
}

interface ArtifactRow {
  id: number;
  kind: ArtifactKind;
  prompt: string;
  output: string;
  language: string | null;
  model: string;
  model_version: string;
  created_at: string;
  updated_at: string;
}

const ORDER = {
  'date desc': 'a.created_at DESC, a.id DESC',
  'date asc': 'a.created_at ASC, a.id ASC',
  // Artifacts without a reward go last either way.
  'reward desc': 'e.reward IS NULL, e.reward DESC, a.id DESC',
  'reward asc': 'e.reward IS NULL, e.reward ASC, a.id DESC',
} as const;

/** The artifacts table. */
export class ArtifactRepo {
  private readonly insertStmt: Statement;
  private readonly getStmt: Statement<[number], ArtifactRow>;
  private readonly existsStmt: Statement<[number], { id: number }>;
  private readonly countStmt: Statement<{ kind: string | null }, { n: number }>;
  private readonly listStmts: Record<keyof typeof ORDER, Statement<Record<string, unknown>, ArtifactListRow>>;

  constructor(db: Database) {
    this.insertStmt = db.prepare(
      `INSERT INTO artifacts (kind, prompt, output, language, model, model_version, created_at, updated_at)
       VALUES (@kind, @prompt, @output, @language, @model, @modelVersion, @createdAt, @createdAt)`,
    );
    this.getStmt = db.prepare('SELECT * FROM artifacts WHERE id = ?');
    this.existsStmt = db.prepare('SELECT id FROM artifacts WHERE id = ?');
    this.countStmt = db.prepare('SELECT COUNT(*) AS n FROM artifacts WHERE @kind IS NULL OR kind = @kind');
    const list = (order: string) =>
      db.prepare<Record<string, unknown>, ArtifactListRow>(
        `SELECT a.id, a.kind, substr(a.prompt, 1, 200) AS prompt, a.model, a.created_at AS createdAt, e.reward
         FROM artifacts a LEFT JOIN training_examples e ON e.artifact_id = a.id
         WHERE @kind IS NULL OR a.kind = @kind
         ORDER BY ${order} LIMIT @limit OFFSET @offset`,
      );
    this.listStmts = Object.fromEntries(Object.entries(ORDER).map(([k, o]) => [k, list(o)])) as typeof this.listStmts;
  }

  insert(artifact: NewArtifact): number {
    return Number(this.insertStmt.run(artifact).lastInsertRowid);
  }

  get(id: number): Artifact | undefined {
    const row = this.getStmt.get(id);
    return row && {
      id: row.id,
      kind: row.kind,
      prompt: row.prompt,
      output: row.output,
      language: row.language,
      model: row.model,
      modelVersion: row.model_version,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  exists(id: number): boolean {
    return this.existsStmt.get(id) !== undefined;
  }

  list(query: ArtifactQuery): { total: number; rows: ArtifactListRow[] } {
    const kind = query.kind ?? null;
    const rows = this.listStmts[`${query.sort} ${query.order}`].all({ kind, limit: query.limit, offset: query.offset });
    return { total: this.countStmt.get({ kind })!.n, rows };
  }
}
