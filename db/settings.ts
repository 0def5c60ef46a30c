import type { Database, Statement } from 'better-sqlite3';
import type { z } from 'zod';

/** The settings table: one JSON document per key, read through a schema with defaults for what is missing. */
export class SettingsRepo {
  private readonly getStmt: Statement<[string], { value: string }>;
  private readonly setStmt: Statement<[string, string]>;

  constructor(db: Database) {
    this.getStmt = db.prepare('SELECT value FROM settings WHERE key = ?');
    this.setStmt = db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  }

  /** The stored value merged over `defaults`; a value that no longer parses falls back to the defaults. */
  get<T extends object>(key: string, schema: z.ZodType<T>, defaults: T): T {
    const row = this.getStmt.get(key);
    if (!row) return defaults;
    const parsed = schema.safeParse({ ...defaults, ...(JSON.parse(row.value) as object) });
    return parsed.success ? parsed.data : defaults;
  }

  set(key: string, value: unknown): void {
    this.setStmt.run(key, JSON.stringify(value));
  }
}
