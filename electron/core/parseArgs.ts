import type { z } from 'zod';
import { invalidArguments } from '../../shared/errors';

/**
 * Validates a service's input with its contract schema. Calls through the RPC server are already
 * checked there; this covers in-process callers (the CLI's direct paths, tests, the bench), so a bad
 * value is refused with the field named before anything is stored.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, prefix = 'args'): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw invalidArguments(parsed.error, prefix);
  return parsed.data;
}
