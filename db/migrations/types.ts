import type { Database } from 'better-sqlite3';

/** One schema step. Versions start at 1 and go up by one; a released migration never changes. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** Runs inside the transaction that applies all pending migrations. */
  up(db: Database): void;
}
