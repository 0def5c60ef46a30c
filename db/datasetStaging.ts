import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import type { Database as Db, Statement } from 'better-sqlite3';
import type { DatasetSummary, FeedbackFilters, ImportReport } from '../shared/contract/datasets';
import { AppError } from '../shared/errors';
import type { DatasetRecord } from '../shared/datasets/records';
import { splitKey, validationQuotas } from '../shared/datasets/split';
import type { DatasetRepo } from './datasets';

/** One example on its way into a dataset. */
export interface StagedExample {
  readonly line: number;
  readonly record: DatasetRecord;
  /** 16 bytes: what duplicates are found by. */
  readonly hash: Uint8Array;
  readonly tokens: number | null;
}

const ROWS_PER_TRANSACTION = 4096;

/**
 * A scratch SQLite file that examples are written to while a file is read. The store itself is not
 * touched (nor locked) until the whole input was read and accepted; then `commitStaged` copies the
 * examples over in one short transaction. No journal and no syncs: a crash loses only this file.
 */
export class StagingFile {
  private readonly db: Db;
  private readonly insert: Statement;
  private pending = 0;
  rows = 0;

  /** `seed`: the split's; each example's place in the split order is computed as it is added. */
  constructor(
    readonly file: string,
    private readonly seed: number,
  ) {
    this.db = new Database(file);
    withoutJournal(this.db, 'main');
    // The small columns first: the duplicate and split steps read only them.
    this.db.exec(`
      CREATE TABLE examples (
        split_key INTEGER NOT NULL, kind TEXT, hash BLOB NOT NULL, line INTEGER NOT NULL,
        split TEXT NOT NULL DEFAULT 'train', within_dup INTEGER NOT NULL DEFAULT 0, across_dup INTEGER NOT NULL DEFAULT 0, keep INTEGER NOT NULL DEFAULT 1,
        tokens INTEGER, prompt TEXT NOT NULL, input TEXT NOT NULL, completion TEXT NOT NULL, context TEXT
      );
    `);
    this.insert = this.db.prepare(
      'INSERT INTO examples (split_key, kind, hash, line, tokens, prompt, input, completion, context) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.db.exec('BEGIN');
  }

  add(example: StagedExample): void {
    const { record } = example;
    const context = record.context.length ? JSON.stringify(record.context) : null;
    const key = splitKey(example.hash, this.seed);
    this.insert.run(key, record.kind, example.hash, example.line, example.tokens, record.prompt, record.input, record.completion, context);
    this.rows++;
    if (++this.pending >= ROWS_PER_TRANSACTION) {
      this.db.exec('COMMIT; BEGIN');
      this.pending = 0;
    }
  }

  /** Writes what is pending and closes the file (it is attached to the store to be committed). */
  close(): void {
    if (!this.db.open) return;
    if (this.db.inTransaction) this.db.exec('COMMIT');
    this.db.close();
  }
}

/**
 * No rollback journal and no syncs for a scratch database (`schema`) that is thrown away on any
 * failure. better-sqlite3 runs SQLite in defensive mode, which refuses journal_mode = OFF, so it is
 * lifted for this one statement.
 */
function withoutJournal(db: Db, schema: string): void {
  db.unsafeMode(true);
  try {
    db.pragma(`${schema}.journal_mode = OFF`);
  } finally {
    db.unsafeMode(false);
  }
  db.pragma(`${schema}.synchronous = OFF`);
}

/** Deletes a staging file (and a journal, should SQLite have made one). */
export function removeStaging(file: string): void {
  rmSync(file, { force: true });
  rmSync(`${file}-journal`, { force: true });
}

/** What a dataset is stored with, besides its examples. */
export interface DatasetMeta {
  /** The name asked for; a name already taken is refused. Without one, `defaultName` made unique. */
  readonly name: string | undefined;
  readonly defaultName: string;
  readonly source: 'file' | 'feedback';
  readonly sourceFile: string | null;
  readonly container: DatasetSummary['container'];
  readonly format: DatasetSummary['format'];
  readonly contentHash: string;
  readonly validationShare: number;
  readonly seed: number;
  readonly dropDuplicates: boolean;
  readonly tokenizer: string | null;
  /** Kept with the dataset when bad records were skipped. */
  readonly report: ImportReport | null;
  readonly filters: FeedbackFilters | null;
  readonly now: string;
}

export type CommitResult = { status: 'imported'; dataset: DatasetSummary } | { status: 'duplicate'; dataset: DatasetSummary };

/**
 * Moves a closed staging file into the store. First, outside any lock on the store, duplicates are
 * marked (within the file, and against every stored dataset) and the seeded split is drawn per artifact
 * kind. Then one IMMEDIATE transaction checks the content hash once more, inserts the dataset and
 * copies its examples: the dataset appears whole or not at all, whatever happens to the process.
 */
export function commitStaged(db: Db, repo: DatasetRepo, staging: string, meta: DatasetMeta): CommitResult {
  db.prepare('ATTACH DATABASE ? AS staging').run(staging);
  try {
    withoutJournal(db, 'staging');
    db.exec(`
      CREATE INDEX staging.examples_hash ON examples (hash);
      UPDATE staging.examples SET within_dup = 1
        WHERE rowid NOT IN (SELECT MIN(rowid) FROM staging.examples GROUP BY hash);
      UPDATE staging.examples SET across_dup = 1
        WHERE EXISTS (SELECT 1 FROM main.dataset_examples d WHERE d.hash = staging.examples.hash);
    `);
    if (meta.dropDuplicates) db.exec('UPDATE staging.examples SET keep = 0 WHERE within_dup = 1 OR across_dup = 1');
    // How many of each kind are held out (shared/training/split.ts: the rule finetune --data follows), then
    // within each kind the examples with the smallest split keys.
    const strata = db
      .prepare('SELECT kind, COUNT(*) AS size, MIN(split_key) AS first FROM staging.examples WHERE keep = 1 GROUP BY kind ORDER BY kind')
      .all() as { kind: string | null; size: number; first: number }[];
    const quotas = validationQuotas(strata, meta.validationShare);
    db.prepare(
      `UPDATE staging.examples SET split = 'validation' WHERE rowid IN (
         SELECT ranked.rowid FROM (
           SELECT rowid, kind, ROW_NUMBER() OVER (PARTITION BY kind ORDER BY split_key, rowid) AS r FROM staging.examples WHERE keep = 1) AS ranked
         JOIN (SELECT value ->> '$[0]' AS kind, value ->> '$[1]' AS quota FROM json_each(@quotas)) AS q ON q.kind IS ranked.kind
         WHERE ranked.r <= q.quota)`,
    ).run({ quotas: JSON.stringify(strata.map((s, i) => [s.kind, quotas[i]])) });
    const stats = db
      .prepare(
        `SELECT SUM(keep) AS examples, SUM(keep AND split = 'validation') AS validation, SUM(CASE WHEN keep THEN tokens END) AS tokens,
                MAX(keep AND kind IS NOT NULL) AS stratified, SUM(within_dup) AS within, SUM(across_dup) AS across, SUM(1 - keep) AS dropped
         FROM staging.examples`,
      )
      .get() as { examples: number | null; validation: number; tokens: number | null; stratified: number; within: number; across: number; dropped: number };
    const examples = stats.examples ?? 0;
    if (examples === 0) {
      throw new AppError('conflict', 'Every example is a duplicate of one already stored: nothing is left to import.', { field: 'dropDuplicates' });
    }
    return db.transaction(() => {
      const existing = repo.byContentHash(meta.contentHash);
      if (existing) return { status: 'duplicate' as const, dataset: existing };
      const name = meta.name ?? repo.uniqueName(meta.defaultName);
      if (repo.byName(name)) {
        throw new AppError('conflict', `There is already a dataset named "${name}": choose another name.`, { field: 'name' });
      }
      const id = Number(
        db
          .prepare(
            `INSERT INTO datasets (name, source, source_file, container, format, content_hash, examples, train, validation, validation_share, seed,
               stratified, tokens, tokenizer, duplicates_within, duplicates_across, duplicates_dropped, skipped, report, filters, created_at, updated_at)
             VALUES (@name, @source, @sourceFile, @container, @format, @contentHash, @examples, @train, @validation, @validationShare, @seed,
               @stratified, @tokens, @tokenizer, @within, @across, @dropped, @skipped, @report, @filters, @now, @now)`,
          )
          .run({
            name,
            source: meta.source,
            sourceFile: meta.sourceFile,
            container: meta.container,
            format: meta.format,
            contentHash: meta.contentHash,
            examples,
            train: examples - stats.validation,
            validation: stats.validation,
            validationShare: meta.validationShare,
            seed: meta.seed,
            stratified: stats.stratified ? 1 : 0,
            tokens: meta.tokenizer === null ? null : (stats.tokens ?? 0),
            tokenizer: meta.tokenizer,
            within: stats.within,
            across: stats.across,
            dropped: stats.dropped,
            skipped: meta.report?.invalid ?? 0,
            report: meta.report && JSON.stringify(meta.report),
            filters: meta.filters && JSON.stringify(meta.filters),
            now: meta.now,
          }).lastInsertRowid,
      );
      db.prepare(
        `INSERT INTO main.dataset_examples (dataset_id, line, kind, prompt, input, completion, context, hash, tokens, split)
         SELECT ?, line, kind, prompt, input, completion, context, hash, tokens, split FROM staging.examples WHERE keep = 1 ORDER BY rowid`,
      ).run(id);
      return { status: 'imported' as const, dataset: repo.get(id)! };
    }).immediate();
  } finally {
    db.exec('DETACH DATABASE staging');
  }
}
