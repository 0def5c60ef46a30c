import type { Migration } from './types';

/** Artifacts, feedback events with rewards, training examples, batches, adaptive jobs and settings. */
export const feedback: Migration = {
  version: 1,
  name: 'feedback',
  up(db) {
    db.exec(`
      CREATE TABLE artifacts (
        id            INTEGER PRIMARY KEY,
        kind          TEXT NOT NULL CHECK (kind IN ('erd', 'flowchart', 'sequence', 'api-doc', 'code', 'other')),
        prompt        TEXT NOT NULL,
        output        TEXT NOT NULL,
        language      TEXT,
        model         TEXT NOT NULL DEFAULT '',
        model_version TEXT NOT NULL DEFAULT '',
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL
      );
      CREATE INDEX artifacts_kind_created ON artifacts (kind, created_at);
      CREATE INDEX artifacts_created ON artifacts (created_at);

      -- Append-only. Type-specific columns are NULL for the other types.
      CREATE TABLE feedback_events (
        id             INTEGER PRIMARY KEY,
        artifact_id    INTEGER NOT NULL REFERENCES artifacts (id) ON DELETE CASCADE,
        type           TEXT NOT NULL CHECK (type IN ('explicit_positive', 'explicit_negative', 'correction', 'validation')),
        reward         REAL NOT NULL CHECK (reward BETWEEN -1 AND 1),
        corrected_text TEXT,
        similarity     REAL CHECK (similarity BETWEEN 0 AND 1),
        score          REAL CHECK (score BETWEEN 0 AND 100),
        reasons        TEXT,
        validator      TEXT,
        created_at     TEXT NOT NULL,
        CHECK ((type = 'correction') = (corrected_text IS NOT NULL AND similarity IS NOT NULL)),
        CHECK ((type = 'validation') = (score IS NOT NULL))
      );
      CREATE INDEX feedback_events_artifact ON feedback_events (artifact_id, id);

      -- One per artifact: its best target (correction_id 0 = the generated output) and reward.
      -- pending = eligible and this target is in no batch yet.
      CREATE TABLE training_examples (
        artifact_id   INTEGER PRIMARY KEY REFERENCES artifacts (id) ON DELETE CASCADE,
        correction_id INTEGER NOT NULL,
        decided_by    INTEGER NOT NULL REFERENCES feedback_events (id),
        reward        REAL NOT NULL CHECK (reward BETWEEN -1 AND 1),
        pending       INTEGER NOT NULL CHECK (pending IN (0, 1)),
        updated_at    TEXT NOT NULL
      );
      CREATE INDEX training_examples_pending ON training_examples (updated_at, artifact_id) WHERE pending = 1;

      CREATE TABLE training_batches (
        id                   INTEGER PRIMARY KEY,
        created_at           TEXT NOT NULL,
        size                 INTEGER NOT NULL CHECK (size > 0),
        average_reward       REAL NOT NULL,
        min_reward_threshold REAL NOT NULL
      );

      -- A snapshot of each example as it went into its batch. The primary key makes a target join
      -- at most one batch, whatever the process or the timing.
      CREATE TABLE batch_examples (
        artifact_id   INTEGER NOT NULL REFERENCES artifacts (id) ON DELETE CASCADE,
        correction_id INTEGER NOT NULL,
        batch_id      INTEGER NOT NULL REFERENCES training_batches (id) ON DELETE CASCADE,
        prompt        TEXT NOT NULL,
        completion    TEXT NOT NULL,
        reward        REAL NOT NULL,
        PRIMARY KEY (artifact_id, correction_id)
      );
      CREATE INDEX batch_examples_batch ON batch_examples (batch_id);

      -- Training jobs; the supervisor runs the queued ones.
      CREATE TABLE training_jobs (
        id         INTEGER PRIMARY KEY,
        type       TEXT NOT NULL CHECK (type IN ('adaptive', 'manual')),
        status     TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
        batch_id   INTEGER REFERENCES training_batches (id),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX training_jobs_status ON training_jobs (status);
      CREATE UNIQUE INDEX training_jobs_batch ON training_jobs (batch_id) WHERE batch_id IS NOT NULL;

      -- Small JSON documents: 'learning' (loop settings and pause), 'reward' (the reward table).
      CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `);
  },
};
