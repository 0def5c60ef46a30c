import { z } from 'zod';
import { WireError } from '../errors';
import { FeedbackFilters, ImportOutcome, ImportProgress } from './datasets';

// The messages between the core and the dataset worker thread (electron/core/datasets), both ways
// validated on arrival like everything else that crosses a boundary.

const Common = {
  /** Names this job in progress events: the upload id, or a fresh id for a file or a build. */
  jobId: z.string().min(1).max(100),
  /** The store (architect.db) and the scratch file examples are staged in. */
  dbFile: z.string().min(1),
  stagingFile: z.string().min(1),
  name: z.string().optional(),
  validationShare: z.number().min(0).max(0.5),
  seed: z.number().int().nonnegative(),
  dropDuplicates: z.boolean(),
  /** A GGUF file whose tokenizer counts tokens, or null. */
  tokenizerModel: z.string().nullable(),
  /** ISO time the dataset is stored with. */
  now: z.iso.datetime(),
};

export const ImportJob = z.discriminatedUnion('source', [
  z.object({
    ...Common,
    source: z.literal('file'),
    /** The file to read (an upload, or a path given to the CLI). */
    file: z.string().min(1),
    /** The name shown and stored (no folders). */
    fileName: z.string().min(1),
    skipInvalid: z.boolean(),
    maxRecordBytes: z.number().int().positive(),
  }),
  z.object({
    ...Common,
    source: z.literal('feedback'),
    /** Filters as given (stored with the dataset); times normalised to toISOString(). */
    filters: FeedbackFilters,
    /** The effective minimum reward: the filter's, else the learning threshold. */
    minReward: z.number().min(-1).max(1),
  }),
]);
export type ImportJob = z.infer<typeof ImportJob>;

export const WorkerMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('progress'), progress: ImportProgress }),
  z.object({ type: z.literal('done'), outcome: ImportOutcome }),
  z.object({ type: z.literal('failed'), error: WireError }),
  z.object({ type: z.literal('cancelled') }),
]);
export type WorkerMessage = z.infer<typeof WorkerMessage>;
