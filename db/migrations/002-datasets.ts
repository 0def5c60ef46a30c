import type { Migration } from './types';

/** Datasets (imported JSONL or built from feedback) and their examples with hashes, tokens and split. */
export const datasets: Migration = {
  version: 2,
  name: 'datasets',
  up(db) {
    db.exec(`
      CREATE TABLE datasets (
        id                 INTEGER PRIMARY KEY,
        name               TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (length(trim(name)) > 0),
        source             TEXT NOT NULL CHECK (source IN ('file', 'feedback')),
        source_file        TEXT,
        container          TEXT CHECK (container IN ('jsonl', 'json-array')),
        format             TEXT CHECK (format IN ('prompt-completion', 'messages', 'alpaca')),
        -- SHA-256 (hex) of the file, or of the examples' hashes when built from feedback.
        content_hash       TEXT NOT NULL,
        examples           INTEGER NOT NULL CHECK (examples > 0),
        train              INTEGER NOT NULL,
        validation         INTEGER NOT NULL,
        validation_share   REAL NOT NULL CHECK (validation_share BETWEEN 0 AND 0.5),
        seed               INTEGER NOT NULL,
        stratified         INTEGER NOT NULL CHECK (stratified IN (0, 1)),
        tokens             INTEGER,
        tokenizer          TEXT,
        duplicates_within  INTEGER NOT NULL,
        duplicates_across  INTEGER NOT NULL,
        duplicates_dropped INTEGER NOT NULL,
        skipped            INTEGER NOT NULL,
        -- JSON: the import report (bad lines), the feedback filters.
        report             TEXT,
        filters            TEXT,
        created_at         TEXT NOT NULL,
        updated_at         TEXT NOT NULL,
        CHECK (train + validation = examples),
        CHECK ((source = 'file') = (source_file IS NOT NULL))
      );
      CREATE INDEX datasets_content_hash ON datasets (content_hash);

      -- context: JSON array of the chat turns before the prompt, NULL when there are none.
      -- hash: the first 16 bytes of SHA-256 of the example's identity (context, request, completion).
      CREATE TABLE dataset_examples (
        id         INTEGER PRIMARY KEY,
        dataset_id INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
        line       INTEGER NOT NULL,
        kind       TEXT CHECK (kind IN ('erd', 'flowchart', 'sequence', 'api-doc', 'code', 'other')),
        prompt     TEXT NOT NULL,
        input      TEXT NOT NULL DEFAULT '',
        completion TEXT NOT NULL,
        context    TEXT,
        hash       BLOB NOT NULL CHECK (length(hash) = 16),
        tokens     INTEGER,
        split      TEXT NOT NULL CHECK (split IN ('train', 'validation'))
      );
      CREATE INDEX dataset_examples_dataset ON dataset_examples (dataset_id, split, id);
      CREATE INDEX dataset_examples_hash ON dataset_examples (hash, dataset_id);
    `);
  },
};
