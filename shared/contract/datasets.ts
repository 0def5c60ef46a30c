import { z } from 'zod';
import { defineMethod, defineService } from '../rpc/contract';
import { Id, Reward, Timestamp } from './feedback';
import { ArtifactKind } from './validation';

const Count = z.number().int().nonnegative();

/** The three JSONL shapes a dataset is read from and exported to. */
export const DatasetFormat = z.enum(['prompt-completion', 'messages', 'alpaca']);
export type DatasetFormat = z.infer<typeof DatasetFormat>;

/** How the records sit in the file: one JSON object per line, or one JSON array of objects. */
export const DatasetContainer = z.enum(['jsonl', 'json-array']);
export type DatasetContainer = z.infer<typeof DatasetContainer>;

/** One turn of an OpenAI-style chat record. */
export const Turn = z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() });
export type Turn = z.infer<typeof Turn>;

/** A problem with one record of a file; line 0 is about the file as a whole. Lines count from 1. */
export const LineError = z.object({ line: Count, message: z.string() });
export type LineError = z.infer<typeof LineError>;

/** The most line errors a report lists; the count of all of them is `invalid`. */
export const MAX_REPORTED_ERRORS = 1000;

/** What reading a file (or the feedback store) found, before anything was stored. */
export const ImportReport = z.object({
  /** The file name as given, or "feedback". */
  source: z.string(),
  container: DatasetContainer.nullable(),
  /** The shape of the file's records, decided by the first record with a known shape. */
  format: DatasetFormat.nullable(),
  bytes: Count,
  /** Non-blank lines (or array elements) read. */
  records: Count,
  valid: Count,
  invalid: Count,
  /** The first MAX_REPORTED_ERRORS bad records, in file order. */
  errors: z.array(LineError),
});
export type ImportReport = z.infer<typeof ImportReport>;

/** Filters of a dataset built from feedback. */
export const FeedbackFilters = z
  .object({
    kind: ArtifactKind.optional(),
    /** Artifacts created at or after this time. */
    from: Timestamp.optional(),
    /** Artifacts created before this time. */
    to: Timestamp.optional(),
    /** At least the learning threshold (only eligible examples are used); default: the threshold. */
    minReward: Reward.optional(),
  })
  .strict();
export type FeedbackFilters = z.infer<typeof FeedbackFilters>;

export const DatasetName = z
  .string()
  .trim()
  .min(1, { error: 'is empty' })
  .max(200)
  .refine((s) => !Array.from(s).some((c) => c.charCodeAt(0) < 0x20), { error: 'has control characters' });

/** A stored dataset with its statistics. */
export const DatasetSummary = z.object({
  id: Id,
  name: z.string(),
  source: z.enum(['file', 'feedback']),
  /** The imported file's name (no folders), null for feedback. */
  sourceFile: z.string().nullable(),
  container: DatasetContainer.nullable(),
  format: DatasetFormat.nullable(),
  /** SHA-256 (hex) of the file's bytes, or of the examples' hashes for one built from feedback. */
  contentHash: z.string(),
  examples: Count,
  train: Count,
  validation: Count,
  validationShare: z.number().min(0).max(0.5),
  seed: Count,
  /** True when examples carry an artifact kind and the split is stratified by it. */
  stratified: z.boolean(),
  /** Prompt + completion tokens by `tokenizer`; null when no tokenizer model was set. */
  tokens: Count.nullable(),
  /** The model file whose tokenizer counted `tokens`. */
  tokenizer: z.string().nullable(),
  duplicates: z.object({
    /** Examples that repeat an earlier one of the same file. */
    within: Count,
    /** Examples also present in another dataset (when it was stored). */
    across: Count,
    /** Duplicates left out because it was asked for. */
    dropped: Count,
  }),
  /** Bad records left out (--skip-invalid); their report is kept with the dataset. */
  skipped: Count,
  filters: FeedbackFilters.nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type DatasetSummary = z.infer<typeof DatasetSummary>;

export const DatasetDetail = DatasetSummary.extend({
  /** What the import found; lists the skipped lines. Null for datasets built from feedback. */
  report: ImportReport.nullable(),
  /** Train / validation counts per artifact kind (null: kind unknown). */
  byKind: z.array(z.object({ kind: ArtifactKind.nullable(), train: Count, validation: Count })),
  /** Examples also present in other datasets now (the summary's `across` is as of storing). */
  duplicatesAcrossNow: Count,
});
export type DatasetDetail = z.infer<typeof DatasetDetail>;

/** One example as stored: the user's request, the target, and earlier chat turns if any. */
export const DatasetExample = z.object({
  id: Id,
  /** The source line, or the artifact id for examples built from feedback. */
  line: Count,
  kind: ArtifactKind.nullable(),
  prompt: z.string(),
  /** Alpaca's "input" ('' for the other shapes). */
  input: z.string(),
  completion: z.string(),
  context: z.array(Turn),
  tokens: Count.nullable(),
  split: z.enum(['train', 'validation']),
  /** True when a text was cut for the preview. */
  clipped: z.boolean(),
});
export type DatasetExample = z.infer<typeof DatasetExample>;

/** How examples are stored: split and duplicates. */
const StoreOptions = {
  /** Share of examples held out for validation. Default 0.1. */
  validationShare: z.number().min(0).max(0.5).default(0.1),
  /** Seed of the split. Default 42. */
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(42),
  /** Leave out examples that repeat one of this file or of another dataset. Default false (they are only counted). */
  dropDuplicates: z.boolean().default(false),
  /** A GGUF model whose tokenizer counts tokens; default: the datasets setting, if any. */
  tokenizerModel: z.string().min(1).max(4096).optional(),
};

export const ImportFileArgs = z
  .object({
    /** Default: the file name without its extension (made unique). */
    name: DatasetName.optional(),
    /** Import the valid records and keep the report, instead of refusing the whole file. Default false. */
    skipInvalid: z.boolean().default(false),
    ...StoreOptions,
  })
  .strict();
export type ImportFileArgs = z.input<typeof ImportFileArgs>;

export const BuildFromFeedbackArgs = z
  .object({
    name: DatasetName.optional(),
    filters: FeedbackFilters.default({}),
    ...StoreOptions,
  })
  .strict();
export type BuildFromFeedbackArgs = z.input<typeof BuildFromFeedbackArgs>;

/** The result of an import or a build; refusals are results, not errors, so the report reaches the user. */
export const ImportOutcome = z.discriminatedUnion('status', [
  z.object({ status: z.literal('imported'), dataset: DatasetSummary, report: ImportReport }),
  /** Nothing was stored; `reason` says why in one sentence and `report` lists the bad lines. */
  z.object({ status: z.literal('refused'), reason: z.string(), report: ImportReport }),
  /** The same content is already a dataset; nothing changed. */
  z.object({ status: z.literal('duplicate'), dataset: DatasetSummary }),
]);
export type ImportOutcome = z.infer<typeof ImportOutcome>;

export const ImportPhase = z.enum(['checking', 'reading', 'saving']);
export type ImportPhase = z.infer<typeof ImportPhase>;

/** Progress of one import or build. */
export const ImportProgress = z.object({
  /** The upload id (or the job id of a build) the progress is about. */
  jobId: z.string(),
  phase: ImportPhase,
  /** Bytes read in this phase, of `bytesTotal` (for feedback: examples instead of bytes). */
  done: Count,
  total: Count,
  records: Count,
  valid: Count,
  invalid: Count,
});
export type ImportProgress = z.infer<typeof ImportProgress>;

/** Upload chunks are at most this many bytes (before base64): a chunk stays far below the WebSocket's 32 MiB frame limit. */
export const UPLOAD_CHUNK_BYTES = 4 * 1024 * 1024;
/** The largest file an upload takes. */
export const MAX_UPLOAD_BYTES = 8 * 1024 ** 3;

const UploadId = z.string().regex(/^[0-9a-f-]{36}$/, { error: 'is not an upload id' });

export const DatasetSettings = z
  .object({
    /** A GGUF model (a base model, or a vocabulary-only file) whose tokenizer counts tokens; null: no counts. */
    tokenizerModel: z.string().min(1).max(4096).nullable(),
  })
  .strict();
export type DatasetSettings = z.infer<typeof DatasetSettings>;

export const datasetsService = defineService({
  methods: {
    list: defineMethod({
      summary: 'Every dataset with its statistics, newest first.',
      args: z.object({}).strict(),
      result: z.array(DatasetSummary),
    }),
    get: defineMethod({
      summary: 'One dataset with its import report, split by kind and live duplicate count.',
      args: z.object({ id: Id }).strict(),
      result: DatasetDetail,
    }),
    examples: defineMethod({
      summary: 'A page of examples of a dataset (texts clipped to `clip` characters for previews).',
      args: z
        .object({
          id: Id,
          split: z.enum(['train', 'validation']).optional(),
          offset: Count.default(0),
          limit: z.number().int().min(1).max(200).default(20),
          clip: z.number().int().min(16).max(1_000_000).default(2000),
        })
        .strict(),
      result: z.object({ total: Count, items: z.array(DatasetExample) }),
    }),
    rename: defineMethod({
      summary: 'Give a dataset another name (names are unique, ignoring case).',
      args: z.object({ id: Id, name: DatasetName }).strict(),
      result: DatasetSummary,
    }),
    delete: defineMethod({
      summary: 'Delete a dataset and its examples.',
      args: z.object({ id: Id }).strict(),
      result: z.object({ deleted: Id }),
    }),
    beginUpload: defineMethod({
      summary: 'Start sending a file to import; returns the id its chunks and the import refer to.',
      args: z.object({ fileName: z.string().min(1).max(255), size: z.number().int().min(0).max(MAX_UPLOAD_BYTES) }).strict(),
      result: z.object({ uploadId: UploadId, chunkBytes: z.number().int().positive() }),
    }),
    uploadChunk: defineMethod({
      summary: "The next chunk of an upload, base64, at `offset` (the bytes received so far).",
      concurrency: 1,
      args: z
        .object({
          uploadId: UploadId,
          offset: z.number().int().min(0).max(MAX_UPLOAD_BYTES),
          data: z.base64().max(Math.ceil(UPLOAD_CHUNK_BYTES / 3) * 4),
        })
        .strict(),
      result: z.object({ received: Count }),
    }),
    discardUpload: defineMethod({
      summary: 'Abandon an upload and delete what was received.',
      args: z.object({ uploadId: UploadId }).strict(),
      result: z.object({ discarded: z.boolean() }),
    }),
    importUpload: defineMethod({
      summary: 'Validate and import a completely uploaded file in a worker thread; cancellable; progress as datasets.progress events.',
      concurrency: 1,
      args: ImportFileArgs.extend({ uploadId: UploadId }).strict(),
      result: ImportOutcome,
    }),
    buildFromFeedback: defineMethod({
      summary: 'A dataset from the eligible training examples (corrections use the corrected text), filtered by kind, date and reward.',
      concurrency: 1,
      args: BuildFromFeedbackArgs,
      result: ImportOutcome,
    }),
    exportPage: defineMethod({
      summary: 'JSONL lines of a dataset in one of the three shapes, a page at a time (after example `after`).',
      concurrency: 1,
      args: z
        .object({
          id: Id,
          format: DatasetFormat.default('prompt-completion'),
          after: Count.default(0),
          maxBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(4 * 1024 * 1024),
        })
        .strict(),
      result: z.object({ text: z.string(), count: Count, next: Count.nullable() }),
    }),
    settings: defineMethod({
      summary: 'The datasets settings: which model tokenizes for token counts.',
      args: z.object({}).strict(),
      result: DatasetSettings,
    }),
    setSettings: defineMethod({
      summary: 'Set the tokenizer model (a GGUF file on this machine) or null; it is loaded once to check it.',
      args: DatasetSettings,
      result: DatasetSettings,
    }),
  },
  events: {
    /** Pushed while an import or build runs. */
    progress: ImportProgress,
    /** Pushed after a dataset was added, renamed or deleted through this app. */
    changed: z.object({ datasets: z.array(DatasetSummary) }),
  },
});
