import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../electron/core/clock';
import { DatasetService } from '../../electron/core/datasets/service';
import { createCore } from '../../electron/core/services';
import { datasetsService } from '../../shared/contract/datasets';
import type { ServiceHandlers } from '../../shared/rpc/contract';
import { RpcServer } from '../../shared/rpc/server';
import { createClient } from '../../shared/rpc/client';
import type { Core } from '../../electron/core/services';
import { startHeadlessHost } from '../../electron/headless/host';
import type { HeadlessHost } from '../../electron/headless/host';
import { datasetWorker } from '../helpers/datasets';
import { makeTempDir } from '../helpers/tempDir';
import { clientOver, openSocket } from '../helpers/wsClient';

// The headless host while one client is hostile: another client is still answered, and what the hostile
// one asks for is bounded (memory, file handles) or refused with an error naming the file.

const MIB = 1024 * 1024;
const dir = makeTempDir('architect-hostile-host-');
const staticDir = join(dir.path, 'static');
let core: Core;
let host: HeadlessHost;
let datasetId: number;
let fifo: string;
let socketServer: Server;
let socketPath: string;

/** About 20 MiB of examples of ~2.5 KiB each: an export page of 16 MiB is full. */
function writeLargeDataset(path: string): void {
  const filler = 'The service stores orders, their line items and shipping addresses; '.repeat(34);
  const lines = Array.from({ length: 8000 }, (_, i) => JSON.stringify({ prompt: `Describe system ${i}. ${filler}`, completion: `erDiagram\n  ORDER_${i} ||--|{ ITEM : has\n%% ${filler}` }));
  writeFileSync(path, `${lines.join('\n')}\n`);
}

beforeAll(async () => {
  mkdirSync(staticDir);
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>app</title>');
  core = await createCore({ dataDir: join(dir.path, 'data'), datasetWorkerFile: await datasetWorker() });
  host = await startHeadlessHost({ rpc: core.rpc, staticDir });
  const file = join(dir.path, 'large.jsonl');
  writeLargeDataset(file);
  const outcome = await core.services.datasets.importFile(file);
  if (outcome.status !== 'imported') throw new Error(JSON.stringify(outcome));
  datasetId = outcome.dataset.id;
  fifo = join(dir.path, 'model.fifo');
  execFileSync('mkfifo', [fifo]);
  socketPath = join(dir.path, 'model.sock');
  socketServer = createServer().listen(socketPath);
}, 120_000);

afterAll(async () => {
  socketServer?.close();
  await host?.close();
  await core?.dispose();
  dir.remove();
});

const rpcUrl = () => `ws://127.0.0.1:${host.port}/rpc?token=${host.token}`;

async function client() {
  const socket = await openSocket(rpcUrl());
  return { socket, ...clientOver(socket) };
}

/** Times `calls` sequential datasets.list calls of another client, in ms each. */
async function latencies(api: Awaited<ReturnType<typeof client>>['api'], calls: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await api.datasets.list({});
    times.push(performance.now() - started);
  }
  return times;
}

describe('a client that asks for 40 export pages of 16 MiB and never reads them', () => {
  it('does not hold up another client, and the process keeps one page at a time, not forty', async () => {
    const hostile = await openSocket(rpcUrl());
    hostile.pause();
    const other = await client();
    await other.api.datasets.list({});
    global.gc?.();
    const before = process.memoryUsage().rss;
    for (let id = 1; id <= 40; id++) {
      hostile.send(JSON.stringify({ type: 'call', id, method: 'datasets.exportPage', args: { id: datasetId, format: 'messages', maxBytes: 16 * MIB } }));
    }
    // While the pages are built and sent, the other client is answered every time.
    const times = await latencies(other.api, 40);
    expect(times).toHaveLength(40);
    expect(Math.max(...times)).toBeLessThan(5000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const grown = (process.memoryUsage().rss - before) / MIB;
    // Forty 16 MiB pages built at once took 2 GB in the issue; one page and its bytes in flight are far below this.
    expect(grown).toBeLessThan(700);
    // Once it reads, every answer arrives, and each is the page the service builds.
    const answers: { id: number; result: { ok: boolean; value: { text: string; count: number; next: number | null } } }[] = [];
    const all = new Promise<void>((resolve) =>
      hostile.on('message', (data) => {
        answers.push(JSON.parse(data.toString()));
        if (answers.length === 40) resolve();
      }),
    );
    hostile.resume();
    await all;
    expect(answers.map((a) => a.id)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const expected = (await core.services.datasets.exportPage(datasetId, 'messages', 0, 16 * MIB)).value;
    expect(expected.text.length).toBeGreaterThan(15 * MIB);
    for (const answer of answers) expect(answer.result).toEqual({ ok: true, value: expected });
    hostile.close();
    other.socket.close();
  }, 120_000);
});

describe('a file that is not a regular file, named as the tokenizer model', () => {
  it.each([
    ['a FIFO', () => fifo, /is a named pipe \(FIFO\), not a regular file/],
    ['/dev/zero', () => '/dev/zero', /is a character device, not a regular file/],
    ['a folder', () => dir.path, /is a folder, not a regular file/],
    ['a socket', () => socketPath, /is a socket, not a regular file/],
  ])('refuses %s by name at once, while static files and other clients are served', async (_name, path, message) => {
    const hostile = await client();
    const other = await client();
    const refused = expect(hostile.api.datasets.setSettings({ tokenizerModel: path() })).rejects.toMatchObject({
      code: 'invalid_arguments',
      field: 'tokenizerModel',
      message: expect.stringMatching(message),
    });
    const [list, page] = await Promise.all([other.api.datasets.list({}), fetch(`http://127.0.0.1:${host.port}/`)]);
    expect(list.length).toBeGreaterThan(0);
    expect(page.status).toBe(200);
    await refused;
    // The same file given to one import is refused the same way, and nothing is stored.
    const { uploadId } = await hostile.api.datasets.beginUpload({ fileName: 'x.jsonl', size: 2 });
    await hostile.api.datasets.uploadChunk({ uploadId, offset: 0, data: Buffer.from('{}').toString('base64') });
    await expect(hostile.api.datasets.importUpload({ uploadId, tokenizerModel: path() })).rejects.toMatchObject({ field: 'tokenizerModel', message: expect.stringMatching(message) });
    expect(await hostile.api.datasets.settings({})).toEqual({ tokenizerModel: null });
    hostile.socket.close();
    other.socket.close();
  });
});

describe('uploads', () => {
  it('keep no file handle open between chunks: hundreds of begun uploads do not use up descriptors', async () => {
    if (!existsSync('/proc/self/fd')) return;
    const uploadsDir = join(core.dataDir, 'uploads');
    // Eight connections of eight uploads each (the per-connection bound): then the process-wide bound (64) refuses.
    const clients = [];
    for (let i = 0; i < 8; i++) clients.push(await client());
    const c = clients[0]!;
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    const begun = [];
    for (let i = 0; i < 64; i++) begun.push({ client: clients[i % 8]!, ...(await clients[i % 8]!.api.datasets.beginUpload({ fileName: `f${i}.jsonl`, size: 10 })) });
    const extra = await client();
    await expect(extra.api.datasets.beginUpload({ fileName: 'one-more.jsonl', size: 10 })).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('already has 64 uploads open'),
    });
    await expect(c.api.datasets.beginUpload({ fileName: 'ninth.jsonl', size: 10 })).rejects.toMatchObject({ message: expect.stringContaining('This connection already has 8 uploads open') });
    expect(fds() - before).toBeLessThan(8);
    expect(readdirSync(uploadsDir)).toHaveLength(64);
    for (const { client: owner, uploadId } of begun) await owner.api.datasets.discardUpload({ uploadId });
    expect(readdirSync(uploadsDir)).toHaveLength(0);
    for (const each of [...clients, extra]) each.socket.close();
  });

  it('answer one chunk at a time per connection and refuse a chunk past the declared size', async () => {
    const c = await client();
    const { uploadId } = await c.api.datasets.beginUpload({ fileName: 'x.jsonl', size: 4 });
    await expect(c.api.datasets.uploadChunk({ uploadId, offset: 0, data: Buffer.from('12345').toString('base64') })).rejects.toMatchObject({ field: 'args.data' });
    const results = await Promise.all([
      c.api.datasets.uploadChunk({ uploadId, offset: 0, data: Buffer.from('12').toString('base64') }),
      c.api.datasets.uploadChunk({ uploadId, offset: 2, data: Buffer.from('34').toString('base64') }),
    ]);
    // In order, one after the other: neither was refused as "busy".
    expect(results).toEqual([{ received: 2 }, { received: 4 }]);
    await c.api.datasets.discardUpload({ uploadId });
    c.socket.close();
  });
});

describe('uploads per connection', () => {
  const datasetsOnly = { datasets: datasetsService };
  let served: { service: DatasetService; host: HeadlessHost; uploadsDir: string } | undefined;

  /** A host over a DatasetService of its own, the connection reaching beginUpload as services.ts is to pass it (context.connection). */
  async function serve(name: string, uploadLimits: { perConnection?: number; idleMs?: number }) {
    const dataDir = join(dir.path, name);
    const service = new DatasetService({ store: core.services.store, clock: systemClock, learning: core.services.learning, dataDir, workerFile: await datasetWorker(), uploadLimits });
    const handlers: ServiceHandlers<typeof datasetsOnly> = {
      datasets: {
        list: () => service.list(),
        get: ({ id }) => service.get(id),
        examples: (args) => service.examples(args),
        rename: ({ id, name }) => service.rename(id, name),
        delete: ({ id }) => service.delete(id),
        beginUpload: ({ fileName, size }, { connection }) => service.beginUpload(fileName, size, connection),
        uploadChunk: ({ uploadId, offset, data }) => service.uploadChunk(uploadId, offset, data),
        discardUpload: ({ uploadId }) => service.discardUpload(uploadId),
        importUpload: (args, { signal }) => service.importUpload(args, { signal }),
        buildFromFeedback: (args, { signal }) => service.buildFromFeedback(args, { signal }),
        exportPage: ({ id, format, after, maxBytes }) => service.exportPage(id, format, after, maxBytes),
        settings: () => service.settings(),
        setSettings: (args) => service.setSettings(args),
      },
    };
    served = { service, host: await startHeadlessHost({ rpc: new RpcServer(datasetsOnly, handlers), staticDir }), uploadsDir: join(dataDir, 'uploads') };
    return served;
  }
  afterEach(async () => {
    await served?.host.close();
    await served?.service.dispose();
    served = undefined;
  });

  const connect = async (port: number, token: string) => {
    const socket = await openSocket(`ws://127.0.0.1:${port}/rpc?token=${token}`);
    const c = createClient(datasetsOnly, {
      send: (message) => socket.send(JSON.stringify(message)),
      onMessage: (listener) => {
        const handle = (data: WebSocket.RawData) => listener(JSON.parse(data.toString()));
        socket.on('message', handle);
        return () => void socket.off('message', handle);
      },
    });
    return { socket, api: c.api };
  };
  const until = async (check: () => boolean) => {
    for (let i = 0; i < 250 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(check()).toBe(true);
  };

  it('bounds the uploads one connection holds, and lets them go when it disconnects', async () => {
    const { host: own, uploadsDir } = await serve('bound', { perConnection: 3 });
    const hostile = await connect(own.port, own.token);
    for (let i = 0; i < 3; i++) await hostile.api.datasets.beginUpload({ fileName: `f${i}.jsonl`, size: 10 });
    await expect(hostile.api.datasets.beginUpload({ fileName: 'f3.jsonl', size: 10 })).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining('This connection already has 3 uploads open'),
    });
    // Another connection has its own.
    const other = await connect(own.port, own.token);
    const { uploadId } = await other.api.datasets.beginUpload({ fileName: 'mine.jsonl', size: 2 });
    expect(readdirSync(uploadsDir)).toHaveLength(4);
    hostile.socket.terminate();
    await until(() => readdirSync(uploadsDir).length === 1);
    expect(await other.api.datasets.uploadChunk({ uploadId, offset: 0, data: Buffer.from('{}').toString('base64') })).toEqual({ received: 2 });
    other.socket.close();
    await until(() => readdirSync(uploadsDir).length === 0);
  });

  it('discards an upload left idle, with a message saying so', async () => {
    const { host: own, uploadsDir } = await serve('idle', { idleMs: 300 });
    const c = await connect(own.port, own.token);
    const { uploadId } = await c.api.datasets.beginUpload({ fileName: 'slow.jsonl', size: 4 });
    await c.api.datasets.uploadChunk({ uploadId, offset: 0, data: Buffer.from('12').toString('base64') });
    await until(() => readdirSync(uploadsDir).length === 0);
    await expect(c.api.datasets.uploadChunk({ uploadId, offset: 2, data: Buffer.from('34').toString('base64') })).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringContaining('left idle too long'),
    });
    c.socket.close();
  });
});

it('a socket that closes mid-call leaves the host serving others', async () => {
  const hostile = new WebSocket(rpcUrl());
  await new Promise((resolve) => hostile.once('open', resolve));
  hostile.send(JSON.stringify({ type: 'call', id: 1, method: 'datasets.exportPage', args: { id: datasetId, maxBytes: 16 * MIB } }));
  hostile.terminate();
  const other = await client();
  expect((await other.api.datasets.list({})).length).toBeGreaterThan(0);
  other.socket.close();
});
