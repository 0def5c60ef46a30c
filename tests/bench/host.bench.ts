import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startHeadlessHost } from '../../electron/headless/host';
import type { HeadlessHost } from '../../electron/headless/host';
import { createCore } from '../../electron/core/services';
import type { Core } from '../../electron/core/services';
import { REPO } from '../helpers/cli';
import { makeTempDir } from '../helpers/tempDir';
import { clientOver } from '../helpers/wsClient';
import { percentile } from './figures';
import type { BenchSuite, Figure } from './figures';

const MIB = 1024 * 1024;
const IDLE_MS = 3000;
const LOADED_MS = 10_000;

/**
 * The heavy client, in a process of its own (so parsing its 16 MiB answers costs the host nothing): over
 * one connection, three loops at once for `ms` milliseconds: export pages of 16 MiB (the most the contract
 * allows), uploads of a fresh ~8 MiB file in 4 MiB chunks, each then imported. Prints its counts as JSON.
 */
const HEAVY_CLIENT = `
const WebSocket = require('ws');
const [url, datasetId, ms] = process.argv.slice(1);
const ws = new WebSocket(url);
let nextId = 1;
const waiting = new Map();
const call = (method, args) => new Promise((resolve, reject) => {
  const id = nextId++;
  waiting.set(id, { resolve, reject });
  ws.send(JSON.stringify({ type: 'call', id, method, args }));
});
ws.on('message', (data) => {
  const m = JSON.parse(data.toString());
  const w = m.type === 'result' && waiting.get(m.id);
  if (!w) return;
  waiting.delete(m.id);
  m.result.ok ? w.resolve(m.result.value) : w.reject(new Error(m.result.error.message));
});
const counts = { pages: 0, pageBytes: 0, uploads: 0, chunks: 0, imports: 0 };
ws.on('open', async () => {
  const end = Date.now() + Number(ms);
  const filler = 'orders, their line items and shipping addresses; '.repeat(40);
  const exports = (async () => {
    while (Date.now() < end) {
      const page = await call('datasets.exportPage', { id: Number(datasetId), format: 'messages', maxBytes: 16 * 1024 * 1024 });
      counts.pages++; counts.pageBytes += page.text.length;
    }
  })();
  const uploads = (async () => {
    for (let round = 0; Date.now() < end; round++) {
      const lines = [];
      for (let i = 0; i < 4000; i++) lines.push(JSON.stringify({ prompt: 'round ' + round + ' system ' + i + ' ' + filler, completion: 'erDiagram %% ' + i }));
      const bytes = Buffer.from(lines.join('\\n') + '\\n');
      const { uploadId, chunkBytes } = await call('datasets.beginUpload', { fileName: 'heavy-' + round + '.jsonl', size: bytes.length });
      for (let offset = 0; offset < bytes.length; offset += chunkBytes) {
        await call('datasets.uploadChunk', { uploadId, offset, data: bytes.subarray(offset, offset + chunkBytes).toString('base64') });
        counts.chunks++;
      }
      counts.uploads++;
      await call('datasets.importUpload', { uploadId });
      counts.imports++;
    }
  })();
  await Promise.all([exports, uploads]);
  process.stdout.write(JSON.stringify(counts));
  ws.close();
});
`;

/** About 20 MiB of examples: an export page of 16 MiB is full. */
function writeDataset(path: string): void {
  const filler = 'The service stores orders, their line items and shipping addresses; '.repeat(34);
  const lines = Array.from({ length: 8000 }, (_, i) => JSON.stringify({ prompt: `Describe system ${i}. ${filler}`, completion: `erDiagram\n  ORDER_${i} ||--|{ ITEM : has\n%% ${filler}` }));
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** Answer times of a small call (datasets.settings) on one connection, one after the other, for `ms`. */
async function sample(api: ReturnType<typeof clientOver>['api'], ms: number): Promise<number[]> {
  const times: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const started = performance.now();
    await api.datasets.settings({});
    times.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return times;
}

function runHeavyClient(url: string, datasetId: number): Promise<Record<string, number>> {
  const child = spawn(process.execPath, ['-e', HEAVY_CLIENT, url, String(datasetId), String(LOADED_MS)], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Record<string, number>) : reject(new Error(`the heavy client exited with ${code}: ${out}`)))),
  );
}

/**
 * The headless host's answer time for a small call on one connection, alone and while another
 * connection (another process) runs the heaviest calls the contract allows: 16 MiB export pages,
 * 4 MiB upload chunks and imports. The ratio of the two p99s is how much one client can slow another.
 */
export const hostSuite: BenchSuite = {
  name: 'host',
  async run(record) {
    const dir = makeTempDir('architect-bench-host-');
    let core: Core | undefined;
    let host: HeadlessHost | undefined;
    try {
      const staticDir = join(dir.path, 'static');
      mkdirSync(staticDir);
      writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>bench</title>');
      core = await createCore({ dataDir: join(dir.path, 'data') });
      host = await startHeadlessHost({ rpc: core.rpc, staticDir });
      const file = join(dir.path, 'large.jsonl');
      writeDataset(file);
      const outcome = await core.services.datasets.importFile(file);
      if (outcome.status !== 'imported') throw new Error(`the bench import failed: ${JSON.stringify(outcome).slice(0, 300)}`);
      const url = `ws://127.0.0.1:${host.port}/rpc?token=${host.token}`;
      const socket = new WebSocket(url);
      await new Promise((resolve, reject) => (socket.once('open', resolve), socket.once('error', reject)));
      const { api } = clientOver(socket);

      const started = performance.now();
      const page = (await core.services.datasets.exportPage(outcome.dataset.id, 'messages', 0, 16 * MIB)).value;
      const pageMs = performance.now() - started;

      await sample(api, 500); // warm-up
      const idle = await sample(api, IDLE_MS);
      const heavy = runHeavyClient(url, outcome.dataset.id);
      const loaded = await sample(api, LOADED_MS);
      const counts = await heavy;
      socket.close();
      figures(record, idle, loaded, counts, { pageMs, pageMiB: page.text.length / MIB });
    } finally {
      await host?.close();
      await core?.dispose();
      dir.remove();
    }
  },
};

function figures(record: (f: Figure) => void, idle: number[], loaded: number[], counts: Record<string, number>, page: { pageMs: number; pageMiB: number }): void {
  const idleP99 = percentile(idle, 99);
  const loadedP99 = percentile(loaded, 99);
  record({ name: 'host.small.idle.p50', value: percentile(idle, 50), unit: 'ms', note: `datasets.settings over a WebSocket, ${idle.length} calls, nothing else running` });
  record({ name: 'host.small.idle.p99', value: idleP99, unit: 'ms' });
  record({
    name: 'host.small.loaded.p50',
    value: percentile(loaded, 50),
    unit: 'ms',
    note: `${loaded.length} calls while another connection ran ${counts.pages} 16 MiB pages, ${counts.chunks} upload chunks, ${counts.imports} imports`,
  });
  record({ name: 'host.small.loaded.p99', value: loadedP99, unit: 'ms', note: 'target < 100' });
  record({ name: 'host.small.loaded.max', value: Math.max(...loaded), unit: 'ms' });
  record({ name: 'host.small.p99.ratio', value: loadedP99 / idleP99, unit: 'x', note: 'loaded p99 / idle p99' });
  record({ name: 'host.exportPage.16MiB', value: page.pageMs, unit: 'ms', note: `${page.pageMiB.toFixed(1)} MiB built in slices on the main thread (was ~2700 ms in one block)` });
}
