import { checkRegularFileSync, readRegularFileSync } from '../../electron/core/files';
import { createCore } from '../../electron/core/services';
import { MAX_TEXT_BYTES } from '../../shared/contract/validation';
import { AppError } from '../../shared/errors';
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

/**
 * The text given by exactly one of `--<textFlag> TEXT` and `--<fileFlag> FILE`. A file must be a regular
 * file (a FIFO, a device or a folder is refused by name, never waited on) of at most `maxBytes` (default
 * 1 MiB, the largest text the store takes), refused as soon as it proves longer.
 */
export function textFrom(values: Record<string, unknown>, textFlag: string, fileFlag: string, maxBytes = MAX_TEXT_BYTES): string {
  const text = values[textFlag];
  const file = values[fileFlag];
  if (typeof text === 'string' && typeof file === 'string') throw new UsageError(`give --${textFlag} or --${fileFlag}, not both`);
  if (typeof text === 'string') return text;
  if (typeof file === 'string') {
    try {
      return readRegularFileSync(file, { field: `--${fileFlag}`, what: `--${fileFlag}`, maxBytes }).toString('utf8');
    } catch (error) {
      throw new UsageError(error instanceof AppError ? error.message : `cannot read --${fileFlag} ${file}: ${String(error)}`);
    }
  }
  throw new UsageError(`give --${textFlag} TEXT or --${fileFlag} FILE`);
}

/** A file argument that must be a regular file (a model, an adapter): its absolute path, or an error naming the flag and what the file is. */
export function regularFile(path: string, flag: string): string {
  return checkRegularFileSync(path, { field: flag, what: flag });
}

// Decimal notation only: digits, an optional sign, point and exponent; no hexadecimal, octal, binary, Infinity.
const DECIMAL = /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)(e[+-]?[0-9]+)?$/i;

/** A whole number in decimal from `min` to `max`, or a usage error naming `what` and the range (`phrase` words it). */
export function decimalInt(value: string | undefined, what: string, min: number, max: number, phrase = 'a whole number'): number {
  const range = `${phrase} from ${min} to ${max}`;
  if (value === undefined || value === '') throw new UsageError(`${what} must be ${range}, got nothing`);
  if (/^[+-]?[0-9]+$/.test(value)) {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${what} must be ${range}: ${value} is out of range`);
    return n;
  }
  throw new UsageError(`${what} must be ${range}, got '${value}' (decimal digits only)`);
}

/** A positive whole number (an id, a count) in decimal, or a usage error naming `what` and the range. */
export function positiveInt(value: string | undefined, what: string): number {
  return decimalInt(value, what, 1, Number.MAX_SAFE_INTEGER, 'a positive whole number');
}

/** A number in decimal notation (2e-4 and 0.1 are; 0x10, Infinity and '' are not); its range is the caller's to check. */
export function decimalNumber(value: unknown, what: string): number {
  if (typeof value !== 'string' || !DECIMAL.test(value)) {
    throw new UsageError(`${what} must be a number, got '${String(value ?? '')}' (decimal notation, e.g. 0.1 or 2e-4)`);
  }
  return Number(value);
}

/** Prints a value as indented JSON. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
