import Database from 'better-sqlite3';
import { statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../db/connection';
import { startCheckpointer } from '../../electron/core/walCheckpointer';
import { applyMigrations, checkRegistry, schemaVersion } from '../../db/migrations';
import { feedback } from '../../db/migrations/001-feedback';
import { datasets } from '../../db/migrations/002-datasets';
import { models } from '../../db/migrations/003-models';
import { MIGRATIONS } from '../../db/migrations/all';
import type { Migration } from '../../db/migrations/types';
import { AppError } from '../../shared/errors';
import { makeTempDir } from '../helpers/tempDir';

const dir = makeTempDir();
afterAll(() => dir.remove());

const tables = (db: Database.Database) =>
  db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => r.name);

describe('database connection', () => {
  it('opens a file in WAL mode with foreign keys and a busy timeout, migrated to the latest version', () => {
    const db = openDatabase(join(dir.path, 'a.db'), { busyTimeoutMs: 1234 });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(1234);
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    db.close();
    // Reopening changes nothing.
    const again = openDatabase(join(dir.path, 'a.db'));
    expect(schemaVersion(again)).toBe(MIGRATIONS.length);
    again.close();
  });

  it('refuses a database from a newer version of the app, and leaves it untouched', () => {
    const file = join(dir.path, 'newer.db');
    const raw = new Database(file);
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    const error = (() => {
      try {
        openDatabase(file);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'conflict', message: expect.stringMatching(/newer version.*update the app/s) });
    const check = new Database(file);
    expect(schemaVersion(check)).toBe(MIGRATIONS.length + 1);
    expect(tables(check)).toEqual([]);
    check.close();
  });
});

describe('checkpoint worker', () => {
  it('copies the WAL into the database from its own thread, and hands checkpoints back when stopped', async () => {
    const file = join(dir.path, 'checkpointed.db');
    const db = openDatabase(file);
    const checkpointer = startCheckpointer(db, { intervalMs: 20 });
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(16384); // only a safety net on this connection
    db.exec('CREATE TABLE t (x TEXT)');
    const before = statSync(file).size;
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) db.prepare('INSERT INTO t VALUES (?)').run('x'.repeat(500));
    })();
    expect(statSync(file).size).toBe(before); // the commit itself did not checkpoint
    await vi.waitFor(() => expect(statSync(file).size).toBeGreaterThan(before + 500_000), { timeout: 5000 });
    await checkpointer.stop();
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    db.close();
  });

  it('a worker that fails hands checkpoints back to the connection at once, saying why', async () => {
    const file = join(dir.path, 'unlinked.db');
    const db = openDatabase(file);
    unlinkSync(file); // the connection goes on; the worker's own connection (fileMustExist) cannot open it
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const checkpointer = startCheckpointer(db, { intervalMs: 20 });
      await vi.waitFor(() => expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000), { timeout: 5000 });
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/^\[db\] the checkpoint worker failed \(checkpoint worker exited with code 1: .*unable to open database file.*\); the connection checkpoints by itself again$/);
      await checkpointer.stop();
    } finally {
      warn.mockRestore();
      db.close();
    }
  });
});

describe('migrations', () => {
  it('refuses a registry whose versions do not run 1, 2, 3', () => {
    const step = (version: number): Migration => ({ version, name: `m${version}`, up: () => {} });
    expect(() => checkRegistry([step(1), step(3)])).toThrow(/version 3; expected 2/);
    expect(() => checkRegistry([step(2)])).toThrow(/expected 1/);
    expect(() => checkRegistry(MIGRATIONS)).not.toThrow();
  });

  it('applies all pending steps in one transaction: a failing step leaves nothing behind', () => {
    const db = new Database(':memory:');
    const broken: Migration = { version: 2, name: 'broken', up: (d) => d.exec('CREATE TABLE half (x); SELECT * FROM no_such_table') };
    expect(() => applyMigrations(db, [feedback, broken])).toThrow(/no_such_table/);
    expect(schemaVersion(db)).toBe(0);
    expect(tables(db)).toEqual([]);
    db.close();
  });

  it('applies only the steps a database lacks', () => {
    const db = new Database(':memory:');
    applyMigrations(db, [feedback]);
    let ran = 0;
    applyMigrations(db, [feedback, { version: 2, name: 'next', up: () => void ran++ }]);
    applyMigrations(db, [feedback, { version: 2, name: 'next', up: () => void ran++ }]);
    expect(ran).toBe(1);
    expect(schemaVersion(db)).toBe(2);
    db.close();
  });

  describe('001 feedback', () => {
    const fresh = () => {
      const db = new Database(':memory:');
      db.pragma('foreign_keys = ON');
      applyMigrations(db, [feedback]);
      return db;
    };
    const now = '2026-01-01T00:00:00.000Z';

    it('creates the feedback tables', () => {
      const db = fresh();
      expect(tables(db)).toEqual(['artifacts', 'batch_examples', 'feedback_events', 'settings', 'training_batches', 'training_examples', 'training_jobs']);
      db.close();
    });

    it('enforces kinds, reward range, event shapes and foreign keys', () => {
      const db = fresh();
      const artifact = db.prepare('INSERT INTO artifacts (kind, prompt, output, created_at, updated_at) VALUES (?, ?, ?, ?, ?)');
      expect(() => artifact.run('poem', 'p', 'o', now, now)).toThrow(/CHECK/);
      const id = Number(artifact.run('erd', 'p', 'o', now, now).lastInsertRowid);
      const event = db.prepare('INSERT INTO feedback_events (artifact_id, type, reward, corrected_text, similarity, score, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
      expect(() => event.run(id, 'explicit_positive', 1.5, null, null, null, now)).toThrow(/CHECK/);
      expect(() => event.run(id, 'correction', 0.5, null, null, null, now)).toThrow(/CHECK/); // a correction needs its text
      expect(() => event.run(id, 'validation', 0.5, null, null, 101, now)).toThrow(/CHECK/);
      expect(() => event.run(999, 'explicit_positive', 1, null, null, null, now)).toThrow(/FOREIGN KEY/);
      expect(() => event.run(id, 'validation', 1, null, null, 100, now)).not.toThrow();
      db.close();
    });

    it('lets a target join one batch only', () => {
      const db = fresh();
      const a = Number(db.prepare("INSERT INTO artifacts (kind, prompt, output, created_at, updated_at) VALUES ('erd', 'p', 'o', ?, ?)").run(now, now).lastInsertRowid);
      const batch = db.prepare('INSERT INTO training_batches (created_at, size, average_reward, min_reward_threshold) VALUES (?, 1, 1, 0.3)');
      const b1 = Number(batch.run(now).lastInsertRowid);
      const b2 = Number(batch.run(now).lastInsertRowid);
      const member = db.prepare("INSERT INTO batch_examples (artifact_id, correction_id, batch_id, prompt, completion, reward) VALUES (?, 0, ?, 'p', 'o', 1)");
      member.run(a, b1);
      expect(() => member.run(a, b2)).toThrow(/UNIQUE|PRIMARY KEY/);
      db.close();
    });
  });

  describe('002 datasets', () => {
    const now = '2026-01-01T00:00:00.000Z';
    const fresh = () => {
      const db = new Database(':memory:');
      db.pragma('foreign_keys = ON');
      applyMigrations(db, [feedback, datasets]);
      return db;
    };
    const insertDataset = (db: Database.Database, fields: Record<string, unknown> = {}) =>
      Number(
        db
          .prepare(
            `INSERT INTO datasets (name, source, source_file, content_hash, examples, train, validation, validation_share, seed, stratified,
               duplicates_within, duplicates_across, duplicates_dropped, skipped, created_at, updated_at)
             VALUES (@name, @source, @sourceFile, 'h', @examples, @train, @validation, 0.1, 42, 0, 0, 0, 0, 0, @now, @now)`,
          )
          .run({ name: 'a', source: 'file', sourceFile: 'a.jsonl', examples: 2, train: 2, validation: 0, now, ...fields }).lastInsertRowid,
      );

    it('adds the dataset tables on top of 001', () => {
      const db = fresh();
      expect(tables(db)).toEqual(expect.arrayContaining(['datasets', 'dataset_examples', 'artifacts']));
      expect(schemaVersion(db)).toBe(2);
      db.close();
    });

    it('keeps names unique ignoring case, counts consistent, and examples tied to their dataset', () => {
      const db = fresh();
      const id = insertDataset(db);
      expect(() => insertDataset(db, { name: 'A' })).toThrow(/UNIQUE/);
      expect(() => insertDataset(db, { name: 'b', train: 1 })).toThrow(/CHECK/); // train + validation = examples
      expect(() => insertDataset(db, { name: 'c', source: 'feedback' })).toThrow(/CHECK/); // a file name only for files
      expect(() => insertDataset(db, { name: 'd', examples: 0, train: 0 })).toThrow(/CHECK/);
      const example = db.prepare(
        "INSERT INTO dataset_examples (dataset_id, line, kind, prompt, completion, hash, split) VALUES (?, 1, ?, 'p', 'c', ?, ?)",
      );
      expect(() => example.run(id, 'erd', Buffer.alloc(16), 'test')).toThrow(/CHECK/);
      expect(() => example.run(id, 'poem', Buffer.alloc(16), 'train')).toThrow(/CHECK/);
      expect(() => example.run(id, 'erd', Buffer.alloc(8), 'train')).toThrow(/CHECK/);
      expect(() => example.run(999, 'erd', Buffer.alloc(16), 'train')).toThrow(/FOREIGN KEY/);
      example.run(id, null, Buffer.alloc(16), 'validation');
      db.prepare('DELETE FROM datasets WHERE id = ?').run(id);
      expect(db.prepare('SELECT COUNT(*) AS n FROM dataset_examples').get()).toEqual({ n: 0 });
      db.close();
    });
  });

  describe('003 models', () => {
    const now = '2026-01-01T00:00:00.000Z';
    const fresh = () => {
      const db = new Database(':memory:');
      db.pragma('foreign_keys = ON');
      applyMigrations(db, [feedback, datasets, models]);
      return db;
    };
    const generation = "INSERT INTO generations (artifact_id, provider, model_name, sampling, prompt_tokens, output_tokens, duration_ms, tokens_per_second, finish, adapter_path, adapter_sha256) VALUES (?, 'local', 'm', '{}', 1, 1, 1, 1, 'stop', ?, ?)";

    it('keeps a generation with its artifact, and an adapter path only with its hash', () => {
      const db = fresh();
      const a = Number(db.prepare("INSERT INTO artifacts (kind, prompt, output, created_at, updated_at) VALUES ('erd', 'p', 'o', ?, ?)").run(now, now).lastInsertRowid);
      expect(() => db.prepare(generation).run(a, '/x.gguf', null)).toThrow(/CHECK/);
      db.prepare(generation).run(a, '/x.gguf', 'f'.repeat(64));
      db.prepare('DELETE FROM artifacts WHERE id = ?').run(a);
      expect(db.prepare('SELECT COUNT(*) AS n FROM generations').get()).toEqual({ n: 0 });
      expect(schemaVersion(db)).toBe(3);
      db.close();
    });

    it('refuses a model without a full SHA-256 and a download in an unknown state', () => {
      const db = fresh();
      const model = db.prepare("INSERT INTO models (name, path, managed, size_bytes, sha256, architecture, file_type, trainable, source, created_at) VALUES ('m', ?, 1, 10, ?, 'llama', 'F16', 1, 'import', ?)");
      expect(() => model.run('/a.gguf', 'abc', now)).toThrow(/CHECK/);
      model.run('/a.gguf', 'a'.repeat(64), now);
      expect(() => model.run('/a.gguf', 'b'.repeat(64), now)).toThrow(/UNIQUE/);
      expect(() => db.prepare("INSERT INTO downloads (uri, file_name, state, created_at, updated_at) VALUES ('u', 'f', 'sleeping', ?, ?)").run(now, now)).toThrow(/CHECK/);
      db.close();
    });
  });
});
