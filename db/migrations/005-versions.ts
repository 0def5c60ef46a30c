import type { Migration } from './types';

/**
 * The version registry: each adapter a job wrote (its files stay in `<data>/finetuned_models/`), its status
 * and gate verdict, what serves each artifact kind ('*': the default for kinds with no choice of their own),
 * every change of that (who, when, why), which version made each generation, and which batch examples are
 * held out for the gate (never trained on, the same for every later version).
 */
export const versions: Migration = {
  version: 5,
  name: 'versions',
  up(db) {
    db.exec(`
      CREATE TABLE versions (
        id              INTEGER PRIMARY KEY,
        model_id        INTEGER REFERENCES models (id) ON DELETE SET NULL,
        base_name       TEXT NOT NULL,
        base_sha256     TEXT NOT NULL CHECK (length(base_sha256) = 64),
        number          INTEGER NOT NULL CHECK (number > 0),
        parent          INTEGER CHECK (parent > 0),
        job_id          INTEGER REFERENCES training_jobs (id) ON DELETE SET NULL,
        job_type        TEXT NOT NULL CHECK (job_type IN ('manual', 'adaptive')),
        dir             TEXT NOT NULL,
        adapter_path    TEXT NOT NULL,
        adapter_sha256  TEXT NOT NULL CHECK (length(adapter_sha256) = 64),
        adapter_bytes   INTEGER NOT NULL CHECK (adapter_bytes > 0),
        status          TEXT NOT NULL CHECK (status IN ('active', 'candidate', 'rejected', 'archived')),
        -- Why it cannot serve (file gone or changed); NULL while intact.
        damaged         TEXT,
        -- JSON arrays / objects: the kinds it trained on, dataset sizes, training metrics, the gate's verdict.
        kinds           TEXT NOT NULL,
        dataset         TEXT NOT NULL,
        metrics         TEXT NOT NULL,
        gate            TEXT,
        created_at      TEXT NOT NULL,
        UNIQUE (base_sha256, number)
      );

      CREATE TABLE activations (
        id                  INTEGER PRIMARY KEY,
        kind                TEXT NOT NULL CHECK (kind IN ('erd', 'flowchart', 'sequence', 'api-doc', 'code', '*')),
        model_id            INTEGER REFERENCES models (id) ON DELETE SET NULL,
        version_id          INTEGER REFERENCES versions (id) ON DELETE SET NULL,
        version_number      INTEGER,
        -- What served before: had_previous 0 when nothing was chosen for the kind.
        had_previous        INTEGER NOT NULL CHECK (had_previous IN (0, 1)),
        previous_model_id   INTEGER,
        previous_version_id INTEGER,
        previous_number     INTEGER,
        reason              TEXT NOT NULL CHECK (reason IN ('gate', 'user', 'rollback', 'undo')),
        note                TEXT NOT NULL,
        undone              INTEGER NOT NULL DEFAULT 0 CHECK (undone IN (0, 1)),
        at                  TEXT NOT NULL
      );
      CREATE INDEX activations_kind ON activations (kind, id);

      CREATE TABLE active_versions (
        kind          TEXT PRIMARY KEY CHECK (kind IN ('erd', 'flowchart', 'sequence', 'api-doc', 'code', '*')),
        model_id      INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
        -- NULL: the plain base.
        version_id    INTEGER REFERENCES versions (id),
        activation_id INTEGER NOT NULL REFERENCES activations (id)
      );

      ALTER TABLE generations ADD COLUMN version_id INTEGER REFERENCES versions (id) ON DELETE SET NULL;
      ALTER TABLE batch_examples ADD COLUMN held_out INTEGER NOT NULL DEFAULT 0 CHECK (held_out IN (0, 1));
      CREATE INDEX batch_examples_held_out ON batch_examples (held_out) WHERE held_out = 1;
    `);
  },
};
