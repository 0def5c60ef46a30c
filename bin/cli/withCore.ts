import { readFileSync } from 'node:fs';
import { createCore } from '../../electron/core/services';
import type { Core } from '../../electron/core/services';
import { UsageError } from './command';

/** Runs `work` with the core services on `dataDir`, and always shuts them down. */
export async function withCore<T>(dataDir: string, work: (core: Core) => Promise<T>): Promise<T> {
  const core = await createCore({ dataDir });
  try {
    return await work(core);
  } finally {
    await core.dispose();
  }
}

/** The text given by exactly one of `--<textFlag> TEXT` and `--<fileFlag> FILE`. */
export function textFrom(values: Record<string, unknown>, textFlag: string, fileFlag: string): string {
  const text = values[textFlag];
  const file = values[fileFlag];
  if (typeof text === 'string' && typeof file === 'string') throw new UsageError(`give --${textFlag} or --${fileFlag}, not both`);
  if (typeof text === 'string') return text;
  if (typeof file === 'string') {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read --${fileFlag} ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }
  throw new UsageError(`give --${textFlag} TEXT or --${fileFlag} FILE`);
}

/** A positive whole number from the command line, or a usage error naming `what`. */
export function positiveInt(value: string | undefined, what: string): number {
  const n = Number(value);
  if (!value || !Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${what} must be a positive whole number, got '${value ?? ''}'`);
  return n;
}

/** Prints a value as indented JSON. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
