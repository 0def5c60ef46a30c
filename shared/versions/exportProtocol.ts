import { z } from 'zod';
import { WireError } from '../errors';

/**
 * The export child process's messages, both ways, declared once: the core (electron/core/versions/export.ts)
 * and the child's entry (electron/trainer/exportWorker.ts) validate every message they receive against these.
 * The child says `ready` once the native addon has loaded, takes one request, sends progress, then one `done`
 * or `error`, and exits. Cancelling is killing it: the core then removes the temporary file.
 */

/** What the export is doing: merging tensors into the temporary file, writing a copy, hashing what was written. */
export const ExportPhase = z.enum(['merging', 'writing', 'hashing']);
export type ExportPhase = z.infer<typeof ExportPhase>;

export const ExportProgress = z.object({
  phase: ExportPhase,
  /** Bytes done and in all, in this phase. */
  done: z.number().nonnegative(),
  total: z.number().nonnegative(),
  /** One line for a person, e.g. "tensor 12/291 blk.0.attn_q.weight (merged)". */
  message: z.string(),
});
export type ExportProgress = z.infer<typeof ExportProgress>;

/** Parent → child. */
export const ExportRequest = z.discriminatedUnion('type', [
  z.object({
    /** Merge `adapterPath` into `modelPath`, written to `tempPath` (which must not exist), then hash it. */
    type: z.literal('merge'),
    modelPath: z.string().min(1),
    adapterPath: z.string().min(1),
    /** The file the core renames the result to: errors name it rather than the temporary file. */
    outPath: z.string().min(1),
    tempPath: z.string().min(1),
    /** CPU threads; absent: all cores. */
    threads: z.number().int().positive().optional(),
  }),
]);
export type ExportRequest = z.infer<typeof ExportRequest>;

/** Child → parent. */
export const ExportMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), pid: z.number().int() }),
  z.object({ type: z.literal('progress'), progress: ExportProgress }),
  z.object({ type: z.literal('log'), level: z.enum(['info', 'warn', 'error']), text: z.string() }),
  /** The finished temporary file, complete and flushed to disk: its size and SHA-256 (hex). */
  z.object({ type: z.literal('done'), path: z.string(), bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  z.object({ type: z.literal('error'), error: WireError }),
]);
export type ExportMessage = z.infer<typeof ExportMessage>;
