import type { DatasetFormat, LineError } from '../../../shared/contract/datasets';
import { DatasetReader } from '../../../shared/datasets/reader';
import { toPromptCompletion } from '../../../shared/datasets/records';
import type { PromptCompletion } from '../../../shared/training/examples';
import { readChunksSync } from '../files';

/** The largest examples file read whole into memory for a training run (a stored dataset has no such limit). */
export const MAX_EXAMPLES_FILE_BYTES = 1024 ** 3;

/**
 * Reads a whole dataset file (any of the three shapes, JSONL or a JSON array) into memory for the
 * trainer, through the same reader as imports: every bad record is reported with its line, and no
 * example is returned unless all are good. Chat context is folded into the prompt. Only a regular file
 * is read (a FIFO, a device or a folder is refused by name), and one over `maxBytes` is refused as soon
 * as it proves longer. Synchronous: it runs in the trainer's process and in the CLI, before anything else.
 */
export function readExamplesFile(
  path: string,
  options: { field?: string; maxBytes?: number } = {},
): { examples: PromptCompletion[]; errors: LineError[]; format: DatasetFormat | null } {
  const examples: PromptCompletion[] = [];
  const errors: LineError[] = [];
  const reader = new DatasetReader({
    record: (_line, record) => examples.push(toPromptCompletion(record)),
    error: (line, message) => errors.push({ line, message }),
  });
  const limit = { field: options.field ?? 'data', what: 'The examples file', maxBytes: options.maxBytes ?? MAX_EXAMPLES_FILE_BYTES };
  readChunksSync(path, limit, (chunk) => {
    reader.push(chunk);
    return !reader.fatal;
  });
  reader.end();
  return errors.length ? { examples: [], errors, format: reader.format } : { examples, errors, format: reader.format };
}
