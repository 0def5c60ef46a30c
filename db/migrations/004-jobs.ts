import type { Migration } from './types';

/**
 * Training jobs that run: what they train (model, dataset or batch, configuration), a paused state,
 * who runs them (a process id, so a crashed runner's job is recognised), a stop request other processes
 * can set, the checkpoint a resume continues from, the version a finished job wrote, and one row of
 * figures per step. SQLite cannot change a CHECK in place, so the table is rebuilt with its rows.
 */
export const jobs: Migration = {
  version: 4,
  name: 'jobs',
  up(db) {
    db.exec(`
      CREATE TABLE training_jobs_new (
        id             INTEGER PRIMARY KEY,
        type           TEXT NOT NULL CHECK (type IN ('adaptive', 'manual')),
        status         TEXT NOT NULL CHECK (status IN ('queued', 'running', 'paused', 'succeeded', 'failed', 'cancelled')),
        batch_id       INTEGER REFERENCES training_batches (id),
        model_id       INTEGER REFERENCES models (id) ON DELETE SET NULL,
        dataset_id     INTEGER REFERENCES datasets (id) ON DELETE SET NULL,
        -- JSON TrainingConfig, fixed when the job first starts.
        config         TEXT,
        message        TEXT,
        -- JSON array of the trainer's last log lines.
        log_tail       TEXT,
        checkpoint     TEXT,
        owner_pid      INTEGER,
        -- What another process asked of the running job.
        requested      TEXT CHECK (requested IN ('pause', 'cancel')),
        version        INTEGER,
        version_dir    TEXT,
        adapter_path   TEXT,
        created_at     TEXT NOT NULL,
        updated_at     TEXT NOT NULL,
        started_at     TEXT,
        finished_at    TEXT,
        CHECK ((type = 'adaptive') = (batch_id IS NOT NULL)),
        CHECK ((status = 'running') = (owner_pid IS NOT NULL))
      );
      INSERT INTO training_jobs_new (id, type, status, batch_id, created_at, updated_at)
        SELECT id, type, status, batch_id, created_at, updated_at FROM training_jobs;
      DROP TABLE training_jobs;
      ALTER TABLE training_jobs_new RENAME TO training_jobs;
      CREATE INDEX training_jobs_status ON training_jobs (status);
      CREATE UNIQUE INDEX training_jobs_batch ON training_jobs (batch_id) WHERE batch_id IS NOT NULL;
      -- One training job runs at a time, across every process on this data folder.
      CREATE UNIQUE INDEX training_jobs_one_running ON training_jobs (status) WHERE status = 'running';

      CREATE TABLE job_progress (
        job_id  INTEGER NOT NULL REFERENCES training_jobs (id) ON DELETE CASCADE,
        step    INTEGER NOT NULL,
        -- JSON JobProgress.
        data    TEXT NOT NULL,
        PRIMARY KEY (job_id, step)
      );
    `);
  },
};
