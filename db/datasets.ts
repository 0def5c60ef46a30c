import type { Database, Statement } from 'better-sqlite3';
import type { DatasetExample, DatasetSummary, FeedbackFilters, ImportReport, Turn } from '../shared/contract/datasets';
import type { ArtifactKind } from '../shared/contract/validation';

interface DatasetRow {
  id: number;
  name: string;
  source: 'file' | 'feedback';
  source_file: string | null;
  container: DatasetSummary['container'];
  format: DatasetSummary['format'];
  content_hash: string;
  examples: number;
  train: number;
  validation: number;
  validation_share: number;
  seed: number;
  stratified: number;
  tokens: number | null;
  tokenizer: string | null;
  duplicates_within: number;
  duplicates_across: number;
  duplicates_dropped: number;
  skipped: number;
  report: string | null;
  filters: string | null;
  created_at: string;
  updated_at: string;
}

interface ExampleRow {
  id: number;
  line: number;
  kind: ArtifactKind | null;
  prompt: string;
  input: string;
  completion: string;
  context: string | null;
  tokens: number | null;
  split: 'train' | 'validation';
}

/** An example as stored, for exports and training. */
export type StoredExample = Omit<ExampleRow, 'context'> & { context: Turn[] };

/** The datasets and dataset_examples tables: reads, renames and deletes. Storing goes through staging (datasetStaging.ts). */
export class DatasetRepo {
  private readonly listStmt: Statement<[], DatasetRow>;
  private readonly getStmt: Statement<[number], DatasetRow>;
  private readonly byNameStmt: Statement<[string], DatasetRow>;
  private readonly byHashStmt: Statement<[string], DatasetRow>;
  private readonly namesLikeStmt: Statement<{ base: string }, { name: string }>;
  private readonly renameStmt: Statement<{ id: number; name: string; now: string }>;
  private readonly deleteStmt: Statement<[number]>;
  private readonly countStmt: Statement<{ id: number; split: string | null }, { n: number }>;
  private readonly pageStmt: Statement<{ id: number; split: string | null; offset: number; limit: number; clip: number }, ExampleRow & { clipped: number }>;
  private readonly afterStmt: Statement<{ id: number; after: number; last: number; limit: number }, ExampleRow>;
  private readonly lastIdStmt: Statement<{ id: number }, { last: number }>;
  private readonly byKindStmt: Statement<[number], { kind: ArtifactKind | null; train: number; validation: number }>;
  private readonly acrossStmt: Statement<{ id: number }, { n: number }>;

  constructor(db: Database) {
    this.listStmt = db.prepare('SELECT * FROM datasets ORDER BY created_at DESC, id DESC');
    this.getStmt = db.prepare('SELECT * FROM datasets WHERE id = ?');
    this.byNameStmt = db.prepare('SELECT * FROM datasets WHERE name = ?');
    this.byHashStmt = db.prepare('SELECT * FROM datasets WHERE content_hash = ? ORDER BY id LIMIT 1');
    this.namesLikeStmt = db.prepare("SELECT name FROM datasets WHERE name = @base OR name LIKE @base || ' (%)'");
    this.renameStmt = db.prepare('UPDATE datasets SET name = @name, updated_at = @now WHERE id = @id');
    this.deleteStmt = db.prepare('DELETE FROM datasets WHERE id = ?');
    this.countStmt = db.prepare('SELECT COUNT(*) AS n FROM dataset_examples WHERE dataset_id = @id AND (@split IS NULL OR split = @split)');
    this.pageStmt = db.prepare(
      `SELECT id, line, kind, substr(prompt, 1, @clip) AS prompt, substr(input, 1, @clip) AS input, substr(completion, 1, @clip) AS completion,
              context, tokens, split, (length(prompt) > @clip OR length(input) > @clip OR length(completion) > @clip) AS clipped
       FROM dataset_examples WHERE dataset_id = @id AND (@split IS NULL OR split = @split) ORDER BY id LIMIT @limit OFFSET @offset`,
    );
    // A walk of the id range (`+dataset_id` keeps SQLite off the (dataset_id, split, id) index, which would
    // sort the whole rest of the dataset for every page): a dataset's examples are stored in one transaction,
    // so its ids are one run, and `last` ends the walk there.
    this.afterStmt = db.prepare(
      `SELECT id, line, kind, prompt, input, completion, context, tokens, split FROM dataset_examples
       WHERE id > @after AND id <= @last AND +dataset_id = @id ORDER BY id LIMIT @limit`,
    );
    this.lastIdStmt = db.prepare(
      `SELECT max(coalesce((SELECT max(id) FROM dataset_examples WHERE dataset_id = @id AND split = 'train'), 0),
                  coalesce((SELECT max(id) FROM dataset_examples WHERE dataset_id = @id AND split = 'validation'), 0)) AS last`,
    );
    this.byKindStmt = db.prepare(
      `SELECT kind, SUM(split = 'train') AS train, SUM(split = 'validation') AS validation
       FROM dataset_examples WHERE dataset_id = ? GROUP BY kind ORDER BY kind IS NULL, kind`,
    );
    this.acrossStmt = db.prepare(
      `SELECT COUNT(*) AS n FROM dataset_examples e
       WHERE e.dataset_id = @id AND EXISTS (SELECT 1 FROM dataset_examples o WHERE o.hash = e.hash AND o.dataset_id <> @id)`,
    );
  }

  list(): DatasetSummary[] {
    return this.listStmt.all().map(toSummary);
  }

  get(id: number): DatasetSummary | undefined {
    const row = this.getStmt.get(id);
    return row && toSummary(row);
  }

  /** The stored import report, if any. */
  report(id: number): ImportReport | null {
    const row = this.getStmt.get(id);
    return row?.report ? (JSON.parse(row.report) as ImportReport) : null;
  }

  /** By name, ignoring case. */
  byName(name: string): DatasetSummary | undefined {
    const row = this.byNameStmt.get(name);
    return row && toSummary(row);
  }

  byContentHash(hash: string): DatasetSummary | undefined {
    const row = this.byHashStmt.get(hash);
    return row && toSummary(row);
  }

  /** `base`, or `base (2)`, `base (3)`, … whichever is free. */
  uniqueName(base: string): string {
    const taken = new Set(this.namesLikeStmt.all({ base }).map((r) => r.name.toLowerCase()));
    if (!taken.has(base.toLowerCase())) return base;
    for (let n = 2; ; n++) if (!taken.has(`${base} (${n})`.toLowerCase())) return `${base} (${n})`;
  }

  /** False when there is no such dataset; a taken name throws SQLite's UNIQUE error. */
  rename(id: number, name: string, now: string): boolean {
    return this.renameStmt.run({ id, name, now }).changes > 0;
  }

  /** Deletes the dataset and (by cascade) its examples. */
  delete(id: number): boolean {
    return this.deleteStmt.run(id).changes > 0;
  }

  count(id: number, split: 'train' | 'validation' | null = null): number {
    return this.countStmt.get({ id, split })!.n;
  }

  /** A page of examples in stored order, texts cut to `clip` characters. */
  page(id: number, split: 'train' | 'validation' | null, offset: number, limit: number, clip: number): DatasetExample[] {
    return this.pageStmt.all({ id, split, offset, limit, clip }).map((row) => ({ ...toExample(row), clipped: row.clipped === 1 }));
  }

  /** Up to `limit` whole examples after example id `after`, in stored order. */
  after(id: number, after: number, limit: number): StoredExample[] {
    const last = this.lastIdStmt.get({ id })?.last ?? 0;
    if (last <= after) return [];
    return this.afterStmt.all({ id, after, last, limit }).map(toExample);
  }

  byKind(id: number): { kind: ArtifactKind | null; train: number; validation: number }[] {
    return this.byKindStmt.all(id);
  }

  /** Examples of this dataset that another dataset also holds, now. */
  duplicatesAcross(id: number): number {
    return this.acrossStmt.get({ id })!.n;
  }
}

function toExample(row: ExampleRow): StoredExample {
  return { ...row, context: row.context ? (JSON.parse(row.context) as Turn[]) : [] };
}

function toSummary(row: DatasetRow): DatasetSummary {
  return {
    id: row.id,
    name: row.name,
    source: row.source,
    sourceFile: row.source_file,
    container: row.container,
    format: row.format,
    contentHash: row.content_hash,
    examples: row.examples,
    train: row.train,
    validation: row.validation,
    validationShare: row.validation_share,
    seed: row.seed,
    stratified: row.stratified === 1,
    tokens: row.tokens,
    tokenizer: row.tokenizer,
    duplicates: { within: row.duplicates_within, across: row.duplicates_across, dropped: row.duplicates_dropped },
    skipped: row.skipped,
    filters: row.filters ? (JSON.parse(row.filters) as FeedbackFilters) : null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
