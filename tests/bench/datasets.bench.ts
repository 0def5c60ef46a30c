import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createCore } from '../../electron/core/services';
import type { Core } from '../../electron/core/services';
import type { ImportPhase } from '../../shared/contract/datasets';
import { DatasetReader } from '../../shared/datasets/reader';
import { REPO } from '../helpers/cli';
import { writeGeneratedFile } from '../helpers/datasets';
import { makeTempDir } from '../helpers/tempDir';
import type { BenchSuite, Figure } from './figures';

const MIB = 1024 * 1024;
const VOCAB = `${REPO}node_modules/node-llama-cpp/llama/llama.cpp/models/ggml-vocab-llama-spm.gguf`;
/** The figure, and a file four times larger to show memory does not follow the file size. */
const SIZES = [100_000, 400_000];

/**
 * Importing generated JSONL files (about 270 bytes a line, five artifact kinds) through the app's own
 * service: hash, parse and validate, stage, split and commit, in the worker thread. Memory is the
 * process's resident set sampled every 5 ms during the import (the worker shares the process), above
 * what it was just before.
 */
export const datasetsSuite: BenchSuite = {
  name: 'datasets',
  async run(record) {
    const dir = makeTempDir('architect-bench-');
    try {
      for (const lines of SIZES) {
        const file = join(dir.path, `generated-${lines}.jsonl`);
        writeGeneratedFile(file, lines);
        parseOnly(file, lines, record);
        const core = await createCore({ dataDir: join(dir.path, `data-${lines}`) });
        try {
          await importOnce(core, file, lines, record);
          if (lines === SIZES[0]) {
            await uploadThroughContract(core, file, record);
            deleteDataset(core, record);
          }
        } finally {
          await core.dispose();
        }
      }
      const file = join(dir.path, `generated-${SIZES[0]}.jsonl`);
      const core = await createCore({ dataDir: join(dir.path, 'data-tokens') });
      try {
        await core.services.datasets.setSettings({ tokenizerModel: VOCAB });
        await importOnce(core, file, SIZES[0]!, record, '.tokens');
      } finally {
        await core.dispose();
      }
    } finally {
      dir.remove();
    }
  },
};

const k = (lines: number) => `${lines / 1000}k`;

async function importOnce(core: Core, file: string, lines: number, record: (figure: Figure) => void, suffix = ''): Promise<void> {
  const bytes = statSync(file).size;
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  // A small write to the store every 25 ms from this thread, as recording feedback does: how long
  // does one wait while the worker holds the write lock to copy the examples in?
  let longestWrite = 0;
  let writes = 0;
  const writer = setInterval(() => {
    const t = performance.now();
    core.services.store.settings.set('bench.datasets', { write: writes++ });
    longestWrite = Math.max(longestWrite, performance.now() - t);
  }, 25);
  const phases = new Map<ImportPhase, number>();
  const start = performance.now();
  const outcome = await core.services.datasets.importFile(file, {}, { onProgress: (p) => void (phases.has(p.phase) || phases.set(p.phase, performance.now())) });
  const end = performance.now();
  const seconds = (end - start) / 1000;
  clearInterval(sampler);
  clearInterval(writer);
  if (outcome.status !== 'imported' || outcome.dataset.examples !== lines) throw new Error(`the bench import failed: ${JSON.stringify(outcome).slice(0, 300)}`);
  const name = `datasets.import${suffix}.${k(lines)}`;
  const rate = Math.round(lines / seconds);
  if (suffix) {
    const note = `${(bytes / MIB).toFixed(0)} MiB JSONL, ${outcome.dataset.tokens} tokens counted with llama's SentencePiece vocabulary (bound by tokenizing)`;
    return record({ name: `${name}.rate`, value: rate, unit: 'lines/s', note });
  }
  record({ name: `${name}.rate`, value: rate, unit: 'lines/s', note: `${(bytes / MIB).toFixed(0)} MiB JSONL; target ≥ 50,000` });
  record({ name: `${name}.longestStoreWrite`, value: longestWrite, unit: 'ms', note: `longest of ${writes} small writes from the main thread during the import` });
  record({ name: `${name}.peakRssGrowth`, value: (peak - baseline) / MIB, unit: 'MiB', note: 'resident set above the start, sampled during the import: flat across sizes' });
  record({ name: `${name}.saving`, value: end - phases.get('saving')!, unit: 'ms', note: 'duplicates, split, and the one transaction that copies into the store' });
}

/** The reader alone, on this thread: the parse and validation every import and `finetune --data` share. */
function parseOnly(file: string, lines: number, record: (figure: Figure) => void): void {
  let records = 0;
  const reader = new DatasetReader({ record: () => void records++, error: () => {} });
  const fd = openSync(file, 'r');
  const buffer = Buffer.allocUnsafe(MIB);
  const start = performance.now();
  try {
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) reader.push(buffer.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  reader.end();
  const seconds = (performance.now() - start) / 1000;
  if (records !== lines) throw new Error(`the reader found ${records} records, expected ${lines}`);
  record({ name: `datasets.parse.${k(lines)}.rate`, value: Math.round(lines / seconds), unit: 'lines/s', note: `${(statSync(file).size / MIB / seconds).toFixed(0)} MiB/s, reader only` });
}

/** What a drop in the browser costs before the import starts: the file in 4 MiB base64 chunks through the contract. */
async function uploadThroughContract(core: Core, file: string, record: (figure: Figure) => void): Promise<void> {
  const { api } = core.connect();
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  const start = performance.now();
  let uploadId: string;
  try {
    const begun = await api.datasets.beginUpload({ fileName: 'upload.jsonl', size });
    uploadId = begun.uploadId;
    const buffer = Buffer.allocUnsafe(begun.chunkBytes);
    for (let offset = 0; offset < size; ) {
      const n = readSync(fd, buffer, 0, buffer.length, offset);
      offset = (await api.datasets.uploadChunk({ uploadId, offset, data: buffer.subarray(0, n).toString('base64') })).received;
    }
  } finally {
    closeSync(fd);
  }
  const seconds = (performance.now() - start) / 1000;
  await api.datasets.discardUpload({ uploadId });
  record({ name: 'datasets.upload.rate', value: size / MIB / seconds, unit: 'MiB/s', note: 'in-process contract client; the WebSocket adds its own copy' });
}

/** Deleting a dataset runs on the caller's thread (one statement, cascading). */
function deleteDataset(core: Core, record: (figure: Figure) => void): void {
  const [dataset] = core.services.datasets.list();
  const start = performance.now();
  core.services.datasets.delete(dataset!.id);
  record({ name: `datasets.delete.${k(dataset!.examples)}`, value: performance.now() - start, unit: 'ms', note: 'on the calling thread' });
}
