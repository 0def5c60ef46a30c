import { closeSync, openSync, readSync } from 'node:fs';
import type { DatasetFormat, LineError } from '../../../shared/contract/datasets';
import { DatasetReader } from '../../../shared/datasets/reader';
import { toPromptCompletion } from '../../../shared/datasets/records';
import type { PromptCompletion } from '../../../shared/training/examples';

/**
 * Reads a whole dataset file (any of the three shapes, JSONL or a JSON array) into memory for the
 * trainer, through the same reader as imports: every bad record is reported with its line, and no
 * example is returned unless all are good. Chat context is folded into the prompt.
 */
export function readExamplesFile(path: string): { examples: PromptCompletion[]; errors: LineError[]; format: DatasetFormat | null } {
  const examples: PromptCompletion[] = [];
  const errors: LineError[] = [];
  const reader = new DatasetReader({
    record: (_line, record) => examples.push(toPromptCompletion(record)),
    error: (line, message) => errors.push({ line, message }),
  });
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (let n = readSync(fd, buffer); n > 0 && !reader.fatal; n = readSync(fd, buffer)) reader.push(buffer.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  reader.end();
  return errors.length ? { examples: [], errors, format: reader.format } : { examples, errors, format: reader.format };
}
