import { statSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createCore } from '../../electron/core/services';
import type { Core } from '../../electron/core/services';
import { exportFeedbackEvents, writeFileAtomically } from '../../electron/core/feedbackExport';
import type { ArtifactKind } from '../../shared/contract/validation';
import { makeTempDir } from '../helpers/tempDir';
import { percentile } from './figures';
import type { BenchSuite, Figure } from './figures';

const MIB = 1024 * 1024;
const KINDS: ArtifactKind[] = ['erd', 'flowchart', 'sequence', 'api-doc', 'code'];
const REASONS = [
  { ok: true, text: 'Mermaid parses it (as "er")', points: 40, of: 40 },
  { ok: false, text: 'Relationships name undeclared entity: ORDER', points: 7.5, of: 15 },
];

// Heap figures need a real collection between measurements.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A small random number generator, so every run records the same events. */
function random(seed: number): () => number {
  let state = seed;
  return () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

/**
 * The guide's "Ollama Adaptive Learning" figures: recording one event (< 10 ms), a batch of 50
 * (~500 ms), a JSONL write (~100 ms), memory (~50 MB). Everything runs through the app's own core
 * (services over a real SQLite file, events emitted through the RPC server), as in the app.
 */
export const feedbackSuite: BenchSuite = {
  name: 'feedback',
  async run(record) {
    const dir = makeTempDir('architect-bench-');
    try {
      await memoryAfterEvents(dir.path, record);
      await exportTenThousand(join(dir.path, 'export'), record);
    } finally {
      dir.remove();
    }
  },
};

/** Adds `artifacts` artifacts with five events each (validation, 👍/👎, a correction on some). */
async function populate(core: Core, artifacts: number, next: () => number): Promise<number[]> {
  const ids: number[] = [];
  const { artifacts: service, feedback } = core.services;
  for (let i = 0; i < artifacts; i++) {
    const kind = KINDS[i % KINDS.length]!;
    const output = `erDiagram\n  CUSTOMER_${i} ||--o{ ORDER : places\n  ORDER ||--|{ LINE_ITEM : contains\n`;
    const { artifact } = await service.add({ kind, prompt: `Requirements for system ${i}: customers, orders and line items.`, output, validate: false });
    ids.push(artifact.id);
    feedback.record({ artifactId: artifact.id, type: 'validation', score: Math.round(next() * 1000) / 10, reasons: REASONS });
    feedback.record({ artifactId: artifact.id, type: next() < 0.8 ? 'explicit_positive' : 'explicit_negative' });
    if (i % 4 === 0) feedback.record({ artifactId: artifact.id, type: 'correction', text: output.replace('places', 'submits') });
    else feedback.record({ artifactId: artifact.id, type: 'explicit_positive' });
    feedback.record({ artifactId: artifact.id, type: 'explicit_positive' });
    feedback.record({ artifactId: artifact.id, type: next() < 0.5 ? 'explicit_positive' : 'explicit_negative' });
  }
  return ids;
}

async function memoryAfterEvents(dataDir: string, record: (figure: Figure) => void): Promise<void> {
  const core = await createCore({ dataDir });
  try {
    const next = random(42);
    gc();
    const before = process.memoryUsage();
    const started = performance.now();
    const ids = await populate(core, 20_000, next); // 100,000 events
    const seconds = (performance.now() - started) / 1000;
    gc();
    const after = process.memoryUsage();
    const mib = (bytes: number) => bytes / MIB;
    record({ name: 'feedback.populate.rate', value: Math.round(100_000 / seconds), unit: 'events/s', note: 'artifact add + 5 events each, batches of 50 included' });
    record({ name: 'feedback.memory.heapGrowth', value: mib(after.heapUsed - before.heapUsed), unit: 'MiB', note: 'JS heap after 100,000 events (guide: ~50 MB; target < 5)' });
    record({ name: 'feedback.memory.rssGrowth', value: mib(after.rss - before.rss), unit: 'MiB', note: 'process RSS over the same 100,000 (V8 and allocator high-water)' });

    // Latency is measured in the steady state: first the checkpoint worker copies the burst's WAL.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await recordLatency(core, ids, next, record);
    await contractLatency(core, ids, next, record);

    // Another 100,000: what the first left is a high-water mark, not memory that grows with the store.
    await populate(core, 20_000, next);
    gc();
    const again = process.memoryUsage();
    const events = core.services.store.db.prepare('SELECT COUNT(*) AS n FROM feedback_events').get() as { n: number };
    const batches = core.services.learning.status().batches;
    record({ name: 'feedback.memory.heapGrowth.next100k', value: mib(again.heapUsed - after.heapUsed), unit: 'MiB', note: 'JS heap over the next 100,000: does memory grow with the store?' });
    record({ name: 'feedback.memory.rssGrowth.next100k', value: mib(again.rss - after.rss), unit: 'MiB', note: 'process RSS over the next 100,000' });
    record({ name: 'feedback.memory.rss', value: mib(again.rss), unit: 'MiB', note: `whole bench process after ${events.n} events, ${batches} batches` });
    record({ name: 'feedback.db.size', value: mib(statSync(join(dataDir, 'architect.db')).size), unit: 'MiB', note: `architect.db with ${events.n} events` });
    batchOfFifty(core, record);
  } finally {
    await core.dispose();
  }
}

/**
 * One 👍/👎 through FeedbackService.record on the store of 100,000 events: the whole transaction.
 * Each call is its own macrotask, as each event is when it arrives from the UI.
 */
async function recordLatency(core: Core, ids: number[], next: () => number, record: (figure: Figure) => void): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const artifactId = ids[Math.floor(next() * ids.length)]!;
    const type = next() < 0.7 ? 'explicit_positive' : 'explicit_negative';
    await new Promise((resolve) => setImmediate(resolve));
    const start = performance.now();
    core.services.feedback.record({ artifactId, type });
    times.push(performance.now() - start);
  }
  record({ name: 'feedback.record.p50', value: percentile(times, 50), unit: 'ms', note: 'service call, 100k events stored (guide: < 10 ms)' });
  record({ name: 'feedback.record.p99', value: percentile(times, 99), unit: 'ms', note: 'service call (guide: < 10 ms)' });
}

/** The same through the contract, as the UI calls it: validation, cloning, dispatch, result check. */
async function contractLatency(core: Core, ids: number[], next: () => number, record: (figure: Figure) => void): Promise<void> {
  const client = core.connect();
  const times: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const artifactId = ids[Math.floor(next() * ids.length)]!;
    await new Promise((resolve) => setImmediate(resolve));
    const start = performance.now();
    await client.api.feedback.record({ artifactId, type: 'explicit_positive' });
    times.push(performance.now() - start);
  }
  client.close();
  record({ name: 'feedback.record.contract.p50', value: percentile(times, 50), unit: 'ms', note: 'through the in-process contract client' });
  record({ name: 'feedback.record.contract.p99', value: percentile(times, 99), unit: 'ms', note: 'through the in-process contract client' });
}

/** Creating one batch of 50 (snapshots of prompt and target, the queued job) in its transaction. */
function batchOfFifty(core: Core, record: (figure: Figure) => void): void {
  const { learning, feedback, store } = core.services;
  learning.updateSettings({ autoTrigger: false, batchSize: 50 });
  const times: number[] = [];
  for (let round = 0; round < 20; round++) {
    store.db.transaction(() => {
      for (let i = 0; i < 50; i++) {
        const id = store.artifacts.insert({
          kind: 'erd',
          prompt: `batch round ${round} example ${i}`,
          output: 'erDiagram\n  A ||--o{ B : has\n',
          language: null,
          model: '',
          modelVersion: '',
          createdAt: new Date().toISOString(),
        });
        feedback.record({ artifactId: id, type: 'explicit_positive' });
      }
    })();
    const start = performance.now();
    const batch = learning.createBatch();
    times.push(performance.now() - start);
    if (batch.size !== 50) throw new Error(`expected a batch of 50, got ${batch.size}`);
  }
  record({ name: 'feedback.batch50.p50', value: percentile(times, 50), unit: 'ms', note: 'create a batch of 50 + queued job (guide: ~500 ms)' });
  record({ name: 'feedback.batch50.max', value: Math.max(...times), unit: 'ms', note: 'worst of 20' });
}

/** feedback_events.jsonl for 10,000 events, written whole to a file. */
async function exportTenThousand(dataDir: string, record: (figure: Figure) => void): Promise<void> {
  const core = await createCore({ dataDir });
  try {
    await populate(core, 2000, random(7));
    const file = join(dataDir, 'feedback_events.jsonl');
    const times: number[] = [];
    let count = 0;
    for (let i = 0; i < 7; i++) {
      const start = performance.now();
      count = writeFileAtomically(file, (sink) => exportFeedbackEvents(core.services.store, sink));
      times.push(performance.now() - start);
    }
    if (count !== 10_000) throw new Error(`expected 10,000 events, exported ${count}`);
    const ms = percentile(times, 50);
    record({ name: 'feedback.export10k', value: ms, unit: 'ms', note: `10,000 events, ${(statSync(file).size / MIB).toFixed(1)} MiB file (guide: ~100 ms per write)` });
    record({ name: 'feedback.export.perEvent', value: (ms * 1000) / count, unit: 'µs', note: 'per event line' });
  } finally {
    await core.dispose();
  }
}
