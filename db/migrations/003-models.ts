import type { Migration } from './types';

/** Installed base models, their downloads (resumable across crashes), and how each generated artifact was made. */
export const models: Migration = {
  version: 3,
  name: 'models',
  up(db) {
    db.exec(`
      CREATE TABLE models (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL,
        path          TEXT NOT NULL UNIQUE,
        managed       INTEGER NOT NULL CHECK (managed IN (0, 1)),
        size_bytes    INTEGER NOT NULL CHECK (size_bytes > 0),
        sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
        architecture  TEXT NOT NULL,
        file_type     TEXT NOT NULL,
        -- JSON ModelShape, NULL when the header lacks a field.
        shape         TEXT,
        trainable     INTEGER NOT NULL CHECK (trainable IN (0, 1)),
        train_reason  TEXT,
        source        TEXT NOT NULL CHECK (source IN ('catalog', 'url', 'import')),
        catalog_id    TEXT,
        quant         TEXT,
        created_at    TEXT NOT NULL
      );

      CREATE TABLE downloads (
        id            INTEGER PRIMARY KEY,
        uri           TEXT NOT NULL,
        catalog_id    TEXT,
        quant         TEXT,
        file_name     TEXT NOT NULL,
        state         TEXT NOT NULL CHECK (state IN ('downloading', 'paused', 'verifying', 'done', 'failed', 'cancelled')),
        bytes         INTEGER NOT NULL DEFAULT 0,
        total_bytes   INTEGER,
        error         TEXT,
        model_id      INTEGER REFERENCES models (id) ON DELETE SET NULL,
        -- The process running it while 'downloading'/'verifying': a row whose process is gone was interrupted (resumable).
        owner_pid     INTEGER,
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL
      );
      CREATE INDEX downloads_state ON downloads (state);

      -- One row per generated artifact; pasted artifacts have none.
      CREATE TABLE generations (
        artifact_id       INTEGER PRIMARY KEY REFERENCES artifacts (id) ON DELETE CASCADE,
        provider          TEXT NOT NULL CHECK (provider IN ('local', 'ollama')),
        model_id          INTEGER REFERENCES models (id) ON DELETE SET NULL,
        model_name        TEXT NOT NULL,
        model_hash        TEXT,
        adapter_path      TEXT,
        adapter_sha256    TEXT,
        -- JSON SamplingSettings with the seed actually used.
        sampling          TEXT NOT NULL,
        context_size      INTEGER,
        prompt_tokens     INTEGER NOT NULL,
        output_tokens     INTEGER NOT NULL,
        duration_ms       REAL NOT NULL,
        first_token_ms    REAL,
        tokens_per_second REAL NOT NULL,
        finish            TEXT NOT NULL CHECK (finish IN ('stop', 'max-tokens', 'stopped')),
        CHECK ((adapter_path IS NULL) = (adapter_sha256 IS NULL))
      );
    `);
  },
};
