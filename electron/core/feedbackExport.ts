import type { Store } from '../../db/store';
import { readRecord } from '../../shared/datasets/records';
import { writeFileAtomicSync } from './files';
import type { FileRef } from './files';

/** Where export lines go: a file (atomically) or a stream such as stdout. */
export type LineSink = (chunk: string) => void;

const CHUNK_CHARS = 1 << 20;

/**
 * Writes feedback_events.jsonl in the guide's shape, one object per event, oldest first:
 * `{"id","type","reward","artifact_id","artifact_kind","timestamp"}` plus `score` and `reasons` for a
 * validation and `similarity` for a correction. Returns the number of events written.
 */
export function exportFeedbackEvents(store: Store, sink: LineSink, pageSize = 5000): number {
  let count = 0;
  // One read transaction: a consistent snapshot even while other processes write.
  store.db.transaction(() => {
    for (let lines = store.events.exportLines(0, pageSize), last = 0; lines.length > 0; lines = store.events.exportLines(last, pageSize)) {
      sink(`${lines.join('\n')}\n`);
      count += lines.length;
      last = Number(/^\{"id":(\d+),/.exec(lines[lines.length - 1]!)![1]); // each line starts with its id
    }
  })();
  return count;
}

/**
 * Every eligible example (reward ≥ threshold) as `{"prompt","completion"}` JSONL. Returns the count. An
 * example that an import would refuse (an empty correction stored before they were refused) is left out:
 * what this writes, `architect import` reads back whole.
 */
export function exportExamples(store: Store, minRewardThreshold: number, sink: LineSink): number {
  return buffered(sink, (push) => {
    let count = 0;
    store.db.transaction(() => {
      for (const row of store.learning.iterateEligible(minRewardThreshold)) {
        const record = { prompt: row.prompt, completion: row.completion };
        if (!readRecord(record).ok) continue;
        push(`${JSON.stringify(record)}\n`);
        count++;
      }
    })();
    return count;
  });
}

/**
 * A sink that writes `file` whole or not at all (files.ts writeFileAtomicSync): a new file under a random name
 * beside it, synced to disk, renamed over it at the end. What is at `file` already must be a regular file: a
 * FIFO, a folder or a device there is refused by name, and nothing is written.
 */
export function writeFileAtomically(file: string, produce: (sink: LineSink) => number, ref: FileRef = { field: '--out', what: 'The output file' }): number {
  return writeFileAtomicSync(file, ref, (write) => produce((chunk) => write(chunk)));
}

function buffered(sink: LineSink, produce: (push: (line: string) => void) => number): number {
  let buffer = '';
  const count = produce((line) => {
    buffer += line;
    if (buffer.length >= CHUNK_CHARS) {
      sink(buffer);
      buffer = '';
    }
  });
  if (buffer) sink(buffer);
  return count;
}
