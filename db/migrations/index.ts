import type { Database } from 'better-sqlite3';
import { AppError } from '../../shared/errors';
import type { Migration } from './types';

/** Refuses a registry whose versions do not run 1, 2, 3, … (a programming error, caught by the tests). */
export function checkRegistry(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`Migration '${m.name}' has version ${m.version}; expected ${i + 1}.`);
  });
}

/** The schema version a database is at (PRAGMA user_version; 0 for a new file). */
export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Applies the pending migrations and sets user_version, all in one IMMEDIATE transaction: either every
 * step lands or none does, and two processes opening a new file at once migrate it once. A database
 * from a newer version of the app is refused untouched.
 */
export function applyMigrations(db: Database, migrations: readonly Migration[]): void {
  checkRegistry(migrations);
  const latest = migrations.length;
  db.transaction(() => {
    const current = schemaVersion(db);
    if (current > latest) {
      throw new AppError(
        'conflict',
        `The database ${db.name} has schema version ${current}, but this version of Architect.AI Studio knows only up to ${latest}. ` +
          'It was written by a newer version: update the app, or use another data folder (--data-dir).',
      );
    }
    for (const migration of migrations.slice(current)) migration.up(db);
    if (current < latest) db.pragma(`user_version = ${latest}`);
  }).immediate();
}
