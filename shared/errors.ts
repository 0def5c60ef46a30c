import { z } from 'zod';

/** Every error that crosses the contract carries one of these codes. */
export const ErrorCode = z.enum([
  'invalid_arguments',
  'unknown_method',
  'unknown_event',
  'bad_message',
  'cancelled',
  'disconnected',
  'not_found',
  'conflict',
  'unavailable',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const WireError = z.object({
  code: ErrorCode,
  message: z.string(),
  /** Dotted path of the offending argument field, when one is to blame. */
  field: z.string().optional(),
});
export type WireError = z.infer<typeof WireError>;

/** An error a person can act on: what went wrong, and which field when one is to blame. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.field = options.field;
  }

  toWire(): WireError {
    return this.field === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, field: this.field };
  }

  static fromWire(wire: WireError): AppError {
    return new AppError(wire.code, wire.message, { field: wire.field });
  }
}

/** Turns anything thrown into a wire error; unknown exceptions become `internal`. */
export function toWireError(error: unknown): WireError {
  if (error instanceof AppError) return error.toWire();
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'internal', message };
}

/** A zod failure as one AppError naming the first offending field, e.g. `args.port: Too big`. */
export function invalidArguments(error: z.ZodError, root: string): AppError {
  const issue = error.issues[0];
  const path = [root, ...(issue?.path ?? []).map(String)].join('.');
  const detail = error.issues.map((i) => `${[root, ...i.path.map(String)].join('.')}: ${i.message}`).join('; ');
  return new AppError('invalid_arguments', `Invalid ${detail}`, { field: path });
}
