import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/connection';
import { createStore } from '../../db/store';
import type { Store } from '../../db/store';
import { probeHardware } from '../../electron/core/hardware';
import { LlamaRuntime } from '../../electron/core/llama';
import { defaultCatalogFile, loadCatalog } from '../../electron/core/models/catalog';
import { readModelFile } from '../../electron/core/models/ggufInfo';
import { sha256File } from '../../electron/core/models/hash';
import { ModelService } from '../../electron/core/models/service';
import { checkDownloadUri, fileNameFor, resolveDownloadUrl } from '../../electron/core/models/uri';
import { CatalogEntry } from '../../shared/contract/models';
import type { Download, InstalledModel } from '../../shared/contract/models';
import type { HardwareInfo } from '../../shared/contract/system';
import { AppError } from '../../shared/errors';
import { availableFrom, estimateMemory, fitFor, kvCacheBytes, RAM_RESERVE_BYTES } from '../../shared/models/memory';
import { startModelServer, writeServedModel } from '../helpers/modelServer';
import type { ModelServer, ServedModel } from '../helpers/modelServer';
import { makeTempDir } from '../helpers/tempDir';
import { vocabPath, writeTinyAdapter, writeTinyModel } from '../helpers/tinyModel';

const f32 = (_type: string, data: Float32Array) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

let fixtures: ReturnType<typeof makeTempDir>;
let small: ServedModel;
let big: ServedModel;
let qwen: string;
let server: ModelServer;
const runtime = new LlamaRuntime();

beforeAll(async () => {
  fixtures = makeTempDir('architect-models-fixtures-');
  small = writeServedModel(fixtures.path, 'small.gguf', { nEmbd: 16, nFf: 32, tiedOutput: true });
  // ~41 MB: eight of ipull's 5 MiB chunks, so a paused download has whole chunks to keep.
  big = writeServedModel(fixtures.path, 'big.gguf', { nEmbd: 160, nFf: 64, nHead: 4, nHeadKv: 2, seed: 3 });
  qwen = join(fixtures.path, 'qwen.gguf');
  writeTinyModel(qwen, { type: 'f32', nEmbd: 16, nFf: 32, tiedOutput: true, architecture: 'qwen3' }, f32);
  writeFileSync(join(fixtures.path, 'notes.gguf'), 'These are meeting notes, not a model.\n'.repeat(100));
  server = await startModelServer({
    'small.gguf': small.path,
    'small-copy.gguf': small.path,
    'big.gguf': big.path,
    'Llama-Tiny-Q4_K_M.gguf': small.path,
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await runtime.dispose();
  fixtures?.remove();
});

// ---- the pure arithmetic ------------------------------------------------------------------------

const LLAMA3_8B = { layers: 32, width: 4096, heads: 32, kvHeads: 8, feedForward: 14336, vocabulary: 128256, contextLength: 8192 };

function hardware(gpuFree: number | null, ramTotal: number): HardwareInfo {
  return {
    cpu: { model: 'test', physicalCores: 4, logicalCores: 8 },
    memory: { totalBytes: ramTotal, freeBytes: ramTotal / 2 },
    disk: { path: '/', totalBytes: 1e12, freeBytes: 5e11 },
    gpus: [],
    compute: gpuFree === null ? { backend: 'cpu', deviceNames: [], vram: null } : { backend: 'cuda', deviceNames: ['GPU'], vram: { totalBytes: 24e9, usedBytes: 24e9 - gpuFree, freeBytes: gpuFree } },
    os: { platform: 'linux', release: '6', arch: 'x64' },
    probedAt: new Date(0).toISOString(),
  };
}

describe('memory estimate and fit (shared/models/memory.ts)', () => {
  it('counts the F16 KV cache as 2 × layers × context × kvHeads × head size × 2 bytes', () => {
    expect(kvCacheBytes(LLAMA3_8B, 4096)).toBe(2 * 32 * 4096 * 8 * 128 * 2);
    const e = estimateMemory(4.92e9, LLAMA3_8B);
    expect(e.contextTokens).toBe(4096);
    expect(e.contextBytes).toBe(536_870_912);
    expect(e.buffersBytes).toBe(Math.round((4.92e9 + 536_870_912) * 0.1));
    expect(e.totalBytes).toBe(e.weightsBytes + e.contextBytes + e.buffersBytes);
    // A model trained for less context is judged for its own.
    expect(estimateMemory(1e6, { ...LLAMA3_8B, contextLength: 512 }).contextTokens).toBe(512);
    // Unknown shape: weights and buffers only, and the summary says so.
    const unknown = estimateMemory(1e9, null);
    expect(unknown).toMatchObject({ contextBytes: 0, contextTokens: null, totalBytes: 1.1e9 });
    expect(fitFor(unknown, { gpuFreeBytes: null, ramTotalBytes: 16e9 }).summary).toMatch(/context unknown/);
  });

  it('picks the GPU when its free VRAM holds the estimate, else system memory less 1.5 GB, else nothing', () => {
    const e = estimateMemory(4.92e9, LLAMA3_8B); // ≈ 6.0 GB
    const gpu = fitFor(e, availableFrom(hardware(11.2e9, 32e9)));
    expect(gpu).toMatchObject({ where: 'gpu', requiredBytes: e.totalBytes, availableBytes: 11.2e9 });
    expect(gpu.summary).toBe('needs 6.0 GB (weights 4.9, context 0.5 for 4096 tokens, buffers 0.5); the GPU has 11.2 GB free');
    const cpu = fitFor(e, availableFrom(hardware(4e9, 16e9)));
    expect(cpu).toMatchObject({ where: 'cpu', availableBytes: 16e9 - RAM_RESERVE_BYTES });
    expect(cpu.summary).toMatch(/the GPU has only 4\.0 GB free, so it runs on the CPU in 14\.5 GB of system memory/);
    expect(fitFor(e, availableFrom(hardware(null, 16e9)))).toMatchObject({ where: 'cpu' });
    const none = fitFor(e, availableFrom(hardware(null, 7e9)));
    expect(none.where).toBe('none');
    expect(none.summary).toMatch(/more than 5\.5 GB of system memory \(7\.0 GB less 1\.5 GB/);
    // A CPU-only probe never counts VRAM, whatever the GPUs list says.
    expect(availableFrom(hardware(null, 8e9)).gpuFreeBytes).toBeNull();
  });
});

// ---- the catalog --------------------------------------------------------------------------------

describe('the catalog (resources/models.json)', () => {
  it('holds the six models, each with a 4-bit and an 8-bit GGUF of the llama architecture, and one small default', () => {
    const catalog = loadCatalog();
    expect(defaultCatalogFile()).toMatch(/resources[/\\]models\.json$/);
    expect(catalog.map((e) => e.id)).toEqual([
      'llama-3.2-1b-instruct',
      'codellama-7b-instruct',
      'llama-3-8b-instruct',
      'mistral-7b-instruct-v0.3',
      'deepseek-coder-6.7b-instruct',
      'mermaid-mistral-7b',
    ]);
    for (const entry of catalog) {
      expect(CatalogEntry.parse(entry)).toEqual(entry);
      expect(entry.architecture).toBe('llama');
      expect(entry.licence.length).toBeGreaterThan(3);
      expect(entry.files.map((f) => [f.quant, f.bits])).toEqual([['Q4_K_M', 4], ['Q8_0', 8]]);
      for (const file of entry.files) {
        expect(file.uri).toMatch(/^hf:[\w.-]+\/[\w.-]+\/[\w.-]+\.gguf$/);
        expect(checkDownloadUri(file.uri)).toBeUndefined();
        expect(fileNameFor(file.uri)).toBe(file.uri.split('/').pop());
        // A 4-bit file holds about 4.5 bits per weight; the 8-bit one about 8.5.
        const params = entry.shape.layers * (4 * entry.shape.width * entry.shape.width * (1 + entry.shape.kvHeads / entry.shape.heads) / 2 + 3 * entry.shape.width * entry.shape.feedForward) + 2 * entry.shape.width * entry.shape.vocabulary;
        const bitsPerWeight = (file.sizeBytes * 8) / params;
        // (Tied embeddings, as in Llama 3.2, make the estimate high.)
        expect(bitsPerWeight).toBeGreaterThan(file.bits === 4 ? 3.5 : 6.5);
        expect(bitsPerWeight).toBeLessThan(file.bits === 4 ? 6.5 : 9.5);
      }
    }
    const defaults = catalog.filter((e) => e.default);
    expect(defaults.map((e) => e.id)).toEqual(['llama-3.2-1b-instruct']);
    expect(defaults[0]!.files[0]!.sizeBytes).toBeLessThan(1e9);
    expect(catalog.find((e) => e.id === 'llama-3-8b-instruct')!.shape).toEqual(LLAMA3_8B);
  });

  it('a bad catalog file is refused with the file, the entry and the field', () => {
    const dir = makeTempDir();
    try {
      const file = join(dir.path, 'models.json');
      const entry = structuredClone(loadCatalog()[1]!) as Record<string, unknown>;
      const write = (models: unknown) => writeFileSync(file, JSON.stringify({ models }));
      write([{ ...entry, shape: { ...(entry.shape as object), layers: 'many' } }]);
      expect(() => loadCatalog(file)).toThrow(new RegExp(`${file}.*models\\[0\\] \\("codellama-7b-instruct"\\), field shape\\.layers`));
      write([{ ...entry, files: [{ quant: 'Q4_K_M', bits: 4, sizeBytes: 1, uri: 'ftp://example.com/x.gguf' }] }]);
      expect(() => loadCatalog(file)).toThrow(/field files\.0\.uri: "ftp:\/\/example\.com\/x\.gguf" is not a download address/);
      write([entry, entry]);
      expect(() => loadCatalog(file)).toThrow(/models\[1\].*used twice/);
      writeFileSync(file, '{ "models": [');
      expect(() => loadCatalog(file)).toThrow(/is invalid: not JSON/);
      expect(() => loadCatalog(join(dir.path, 'none.json'))).toThrow(/cannot be read \(ENOENT\)/);
    } finally {
      dir.remove();
    }
  });

  it('download addresses: hf: files and http(s) URLs only, each with what to do instead', () => {
    expect(checkDownloadUri('hf:bartowski/Llama-3.2-1B-Instruct-GGUF/Llama-3.2-1B-Instruct-Q4_K_M.gguf')).toBeUndefined();
    expect(checkDownloadUri('https://example.com/models/a.gguf')).toBeUndefined();
    expect(checkDownloadUri('hf:bartowski/Llama-3.2-1B-Instruct-GGUF')).toMatch(/names a repository, not a file: give the file, as hf:owner\/repo\/file\.gguf/);
    expect(checkDownloadUri('hf:bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M')).toMatch(/names a repository/);
    expect(checkDownloadUri('/home/me/model.gguf')).toMatch(/not a download address.*import it instead/);
    expect(checkDownloadUri('ftp://example.com/a.gguf')).toMatch(/not a download address: give an hf:owner\/repo\/file\.gguf URI or an http\(s\):\/\/ URL/);
    expect(checkDownloadUri('https://example.com/m-00001-of-00003.gguf')).toMatch(/split GGUF/);
    expect(resolveDownloadUrl('hf:a/b-GGUF/dir/c+d.gguf#dev', {})).toBe('https://huggingface.co/a/b-GGUF/resolve/dev/dir/c%2Bd.gguf?download=true');
    expect(resolveDownloadUrl('hf:a/b/c.gguf', { HF_ENDPOINT: 'http://127.0.0.1:9/hf' })).toBe('http://127.0.0.1:9/hf/a/b/resolve/main/c.gguf?download=true');
    expect(fileNameFor('https://example.com/get?id=3')).toBe('get.gguf');
    expect(fileNameFor('https://example.com/a%20b.gguf')).toBe('a_b.gguf');
  });
});

// ---- GGUF headers and hashing -------------------------------------------------------------------

describe('reading a model file header (node-llama-cpp readGgufFileInfo)', () => {
  it('gives the architecture, the file type in words, the shape, and whether our trainer takes it', async () => {
    const info = await readModelFile(small.path);
    expect(info).toEqual({
      path: small.path,
      sizeBytes: small.size,
      architecture: 'llama',
      fileType: 'ALL_F32',
      name: 'tiny-llama-f32',
      shape: { layers: 2, width: 16, heads: 4, kvHeads: 2, feedForward: 32, vocabulary: 32000, contextLength: 512 },
      trainable: true,
      trainReason: null,
    });
    const other = await readModelFile(qwen);
    expect(other).toMatchObject({ architecture: 'qwen3', trainable: false, shape: null });
    expect(other.trainReason).toBe('generation only: architecture qwen3 — our trainer trains llama-family models');
  });

  it('refuses what is no whole GGUF model, with the reason and the path', async () => {
    const refused = async (path: string, reason: RegExp) => {
      const error = await readModelFile(path).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ code: 'invalid_arguments', field: 'args.path' });
      expect((error as Error).message).toContain(path);
      expect((error as Error).message).toMatch(reason);
    };
    await refused(join(fixtures.path, 'notes.gguf'), /does not start with the GGUF signature/);
    const cut = join(fixtures.path, 'cut.gguf');
    writeFileSync(cut, readFileSync(small.path).subarray(0, Math.floor(small.size / 2)));
    await refused(cut, /truncated: its tensors need \d+ bytes but it has \d+/);
    const adapter = join(fixtures.path, 'adapter.gguf');
    writeTinyAdapter(adapter, writeTinyModel(join(fixtures.path, 'base.gguf'), { type: 'f32', nEmbd: 16, nFf: 32, tiedOutput: true }, f32), { rank: 2, alpha: 4, targets: ['attn_q'] });
    await refused(adapter, /LoRA adapter, not a base model/);
    await refused(vocabPath(), /holds no weights/);
    await refused(fixtures.path, /not a regular file/);
  });
});

describe('SHA-256 (hash.ts)', () => {
  it('streams the file in chunks and lets the event loop run meanwhile', async () => {
    let ticks = 0;
    let spinning = true;
    const spin = () => {
      ticks++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const seen: number[] = [];
    const digest = await sha256File(big.path, { onProgress: (b) => seen.push(b) });
    spinning = false;
    expect(digest).toBe(big.sha256);
    expect(seen.length).toBeGreaterThanOrEqual(Math.ceil(big.size / (4 * 1024 * 1024)));
    expect(seen.at(-1)).toBe(big.size);
    expect(ticks).toBeGreaterThan(seen.length);
  });
});

// ---- the service --------------------------------------------------------------------------------

interface Harness {
  readonly dir: string;
  readonly store: Store;
  readonly service: ModelService;
  readonly events: Download[];
  readonly changes: InstalledModel[][];
  readonly folder: string;
  reopen(): Harness;
  close(): Promise<void>;
}

const open: Harness[] = [];

function harness(options: { catalogFile?: string; dir?: string } = {}): Harness {
  const dir = options.dir ?? makeTempDir('architect-models-data-').path;
  const db = openDatabase(join(dir, 'architect.db'));
  const store = createStore(db);
  const events: Download[] = [];
  const changes: InstalledModel[][] = [];
  const service = new ModelService({
    store,
    clock: () => new Date(),
    dataDir: dir,
    hardware: () => probeHardware(dir, runtime),
    onDownload: (d) => events.push(d),
    onChanged: (models) => changes.push(models),
    ...(options.catalogFile ? { catalogFile: options.catalogFile } : {}),
  });
  let closed = false;
  const h: Harness = {
    dir,
    store,
    service,
    events,
    changes,
    folder: join(dir, 'models'),
    reopen: () => harness({ ...options, dir }),
    close: async () => {
      if (closed) return;
      closed = true;
      await service.dispose();
      db.close();
    },
  };
  open.push(h);
  return h;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

const files = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);

/** A catalog of one model whose files come from the test server. */
function testCatalog(dir: string, files: { quant: string; uri: string; sizeBytes: number; bits: number }[]): string {
  const path = join(dir, 'catalog.json');
  const entry = { ...loadCatalog()[0]!, id: 'tiny-llama', name: 'Tiny Llama', default: true, files };
  writeFileSync(path, JSON.stringify({ models: [entry] }));
  return path;
}

describe('import', () => {
  it('registers a file in place with its header and hash; the same file again gives the same row', async () => {
    const h = harness();
    const model = await h.service.import({ path: small.path });
    expect(model).toMatchObject({
      path: small.path,
      managed: false,
      sizeBytes: small.size,
      sha256: small.sha256,
      architecture: 'llama',
      fileType: 'ALL_F32',
      trainable: true,
      trainReason: null,
      source: 'import',
      catalogId: null,
      quant: null,
      missing: false,
      name: 'tiny-llama-f32',
    });
    expect(model.shape).toMatchObject({ layers: 2, width: 16 });
    expect(h.changes.at(-1)!.map((m) => m.id)).toEqual([model.id]);
    expect((await h.service.import({ path: small.path })).id).toBe(model.id);
    const link = join(h.dir, 'link.gguf');
    symlinkSync(small.path, link);
    expect((await h.service.import({ path: link })).id).toBe(model.id);
    // A copy elsewhere is another file: a row of its own, with the same hash.
    const copy = join(h.dir, 'copy.gguf');
    copyFileSync(small.path, copy);
    const other = await h.service.import({ path: copy });
    expect(other.id).not.toBe(model.id);
    expect(other.sha256).toBe(model.sha256);
    expect(h.service.get(model.id).path).toBe(small.path);
    expect(files(h.folder)).toEqual([]);
  });

  it('a file inside the models folder is managed; a vanished file is listed as missing, each with its fit', async () => {
    const h = harness();
    const inside = join(h.folder, 'mine.gguf');
    copyFileSync(small.path, inside);
    const model = await h.service.import({ path: inside });
    expect(model.managed).toBe(true);
    const outside = join(h.dir, 'elsewhere.gguf');
    copyFileSync(small.path, outside);
    const gone = await h.service.import({ path: outside });
    rmSync(outside);
    const { models, folder } = await h.service.list();
    expect(folder).toBe(h.folder);
    expect(models.map((m) => [m.id, m.missing])).toEqual([[model.id, false], [gone.id, true]]);
    for (const m of models) {
      expect(m.fit).not.toBeNull();
      expect(['gpu', 'cpu']).toContain(m.fit!.where);
      expect(m.fit!.summary).toMatch(/^needs 0\.\d+ GB \(weights/);
    }
    expect(h.service.get(gone.id).missing).toBe(true);
    const unknown = await refusal(Promise.resolve().then(() => h.service.get(999)));
    expect(unknown).toMatchObject({ code: 'not_found', field: 'args.id' });
  });

  it('non-llama architectures import for generation only, with the reason', async () => {
    const h = harness();
    const model = await h.service.import({ path: qwen });
    expect(model).toMatchObject({ architecture: 'qwen3', trainable: false, shape: null, fit: expect.objectContaining({ summary: expect.stringMatching(/context unknown/) }) });
    expect(model.trainReason).toBe('generation only: architecture qwen3 — our trainer trains llama-family models');
  });

  it('refuses anything but a regular GGUF model file by name, storing nothing', async () => {
    const h = harness();
    const fifo = join(h.dir, 'pipe.gguf');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const cases: [string, string, RegExp][] = [
      // The wording of the one file rule (electron/core/files.ts), as for every file the app is handed.
      [fifo, 'invalid_arguments', /pipe\.gguf is a named pipe \(FIFO\), not a regular file/],
      [fixtures.path, 'invalid_arguments', /is a folder, not a regular file/],
      ['/dev/null', 'invalid_arguments', /\/dev\/null is a character device, not a regular file/],
      [join(h.dir, 'none.gguf'), 'not_found', /none\.gguf does not exist/],
      [join(fixtures.path, 'notes.gguf'), 'invalid_arguments', /notes\.gguf is not a usable GGUF model: it does not start with the GGUF signature/],
    ];
    for (const [path, code, message] of cases) {
      const error = await refusal(h.service.import({ path }));
      expect(error).toMatchObject({ code, field: 'args.path' });
      expect(error.message).toMatch(message);
    }
    expect((await refusal(h.service.import({ path: '' }))).code).toBe('invalid_arguments');
    expect((await h.service.list()).models).toEqual([]);
  });
});

describe('delete', () => {
  it('deletes the file only inside the models folder, and the row in one go', async () => {
    const h = harness();
    const inside = join(h.folder, 'managed.gguf');
    copyFileSync(small.path, inside);
    const managed = await h.service.import({ path: inside });
    const outside = join(h.dir, 'kept.gguf');
    copyFileSync(small.path, outside);
    const unmanaged = await h.service.import({ path: outside });

    expect(await h.service.delete({ id: managed.id })).toEqual({ fileDeleted: true, path: inside });
    expect(existsSync(inside)).toBe(false);
    expect(await h.service.delete({ id: unmanaged.id })).toEqual({ fileDeleted: false, path: outside });
    expect(existsSync(outside)).toBe(true);
    expect(h.store.models.list()).toEqual([]);
    expect(h.changes.at(-1)).toEqual([]);
    expect(await refusal(h.service.delete({ id: managed.id }))).toMatchObject({ code: 'not_found', field: 'args.id' });
  });

  it('a model file in the folder that became a link to a file outside counts as outside', async () => {
    const h = harness();
    const inside = join(h.folder, 'linked.gguf');
    copyFileSync(small.path, inside);
    const model = await h.service.import({ path: inside });
    const precious = join(h.dir, 'precious.gguf');
    copyFileSync(small.path, precious);
    rmSync(inside);
    symlinkSync(precious, inside);
    expect(await h.service.delete({ id: model.id })).toEqual({ fileDeleted: false, path: inside });
    expect(statSync(precious).size).toBe(small.size);
    expect(h.store.models.get(model.id)).toBeUndefined();
  });
});

describe('downloads (node-llama-cpp downloader, a local server)', () => {
  it('downloads a catalog file with progress events, hashes and registers it; a second download is refused', async () => {
    const dir = makeTempDir('architect-models-catalog-');
    const h = harness({ catalogFile: testCatalog(dir.path, [{ quant: 'Q4_K_M', bits: 4, sizeBytes: small.size, uri: `${server.url}/files/small.gguf` }]) });
    const started = await h.service.download({ catalogId: 'tiny-llama' });
    expect(started).toMatchObject({ state: 'downloading', catalogId: 'tiny-llama', quant: 'Q4_K_M', fileName: 'small.gguf', totalBytes: small.size, modelId: null });
    const end = await h.service.waitForDownload(started.id);
    expect(end).toMatchObject({ state: 'done', bytes: small.size, totalBytes: small.size, error: null });
    const model = h.service.get(end.modelId!);
    expect(model).toMatchObject({ path: join(h.folder, 'small.gguf'), managed: true, source: 'catalog', catalogId: 'tiny-llama', quant: 'Q4_K_M', sha256: small.sha256, name: 'Tiny Llama (Q4_K_M)' });
    const states = h.events.filter((e) => e.id === started.id).map((e) => e.state);
    expect(states[0]).toBe('downloading');
    expect(states.slice(-2)).toEqual(['verifying', 'done']);
    expect(h.changes.at(-1)!.map((m) => m.id)).toEqual([model.id]);
    expect(h.service.downloads().downloads).toEqual([]);
    expect(h.store.models.getDownload(started.id)).toMatchObject({ state: 'done', modelId: model.id, ownerPid: null });
    const { items } = await h.service.catalog();
    expect(items[0]!.files[0]).toMatchObject({ installedModelId: model.id, fit: expect.objectContaining({ where: expect.stringMatching(/gpu|cpu/) }) });
    expect(await refusal(h.service.download({ catalogId: 'tiny-llama' }))).toMatchObject({ code: 'conflict', field: 'args.catalogId', message: expect.stringMatching(/already installed as model/) });
    expect(await refusal(h.service.download({ catalogId: 'nope' }))).toMatchObject({ code: 'not_found', field: 'args.catalogId', message: expect.stringMatching(/tiny-llama/) });
    expect(await refusal(h.service.download({ catalogId: 'tiny-llama', quant: 'Q2_K' }))).toMatchObject({ code: 'not_found', field: 'args.quant', message: expect.stringMatching(/Q4_K_M/) });
    // Deleting the model keeps the finished download's row, without the model.
    await h.service.delete({ id: model.id });
    expect(h.store.models.getDownload(started.id)!.modelId).toBeNull();
    expect(files(h.folder)).toEqual([]);
    dir.remove();
  });

  it('another address with the same file name gets a name of its own; the same address again is refused', async () => {
    const h = harness();
    server.throttle(null);
    const first = await h.service.waitForDownload((await h.service.download({ uri: `${server.url}/files/small.gguf` })).id);
    const second = await h.service.waitForDownload((await h.service.download({ uri: `${server.url}/slow/small.gguf` })).id);
    expect([first.fileName, second.fileName]).toEqual(['small.gguf', 'small-2.gguf']);
    expect([first.state, second.state]).toEqual(['done', 'done']);
    expect(files(h.folder)).toEqual(['small-2.gguf', 'small.gguf']);
    expect(await refusal(h.service.download({ uri: `${server.url}/files/small.gguf` }))).toMatchObject({ code: 'conflict', field: 'args.uri', message: expect.stringMatching(new RegExp(`already installed as model ${first.modelId}`)) });
    server.throttle(2e6);
  });

  it('takes hf: URIs through HF_ENDPOINT, as node-llama-cpp resolves them', async () => {
    const h = harness();
    const previous = process.env.HF_ENDPOINT;
    process.env.HF_ENDPOINT = `${server.url}/hf/`;
    try {
      const started = await h.service.download({ uri: 'hf:test/Tiny-GGUF/Llama-Tiny-Q4_K_M.gguf' });
      expect(started.fileName).toBe('Llama-Tiny-Q4_K_M.gguf');
      const end = await h.service.waitForDownload(started.id);
      expect(end.state).toBe('done');
      expect(h.service.get(end.modelId!)).toMatchObject({ source: 'url', sha256: small.sha256, path: join(h.folder, 'Llama-Tiny-Q4_K_M.gguf') });
      expect(server.requests.some((r) => r.url === '/hf/test/Tiny-GGUF/resolve/main/Llama-Tiny-Q4_K_M.gguf')).toBe(true);
    } finally {
      if (previous === undefined) delete process.env.HF_ENDPOINT;
      else process.env.HF_ENDPOINT = previous;
    }
  });

  it('refuses up front what cannot be downloaded: other schemes, a missing file, too little disk — no row, no file', async () => {
    const dir = makeTempDir('architect-models-catalog-');
    const h = harness({ catalogFile: testCatalog(dir.path, [{ quant: 'Q4_K_M', bits: 4, sizeBytes: 1e15, uri: `${server.url}/truncated/small.gguf` }]) });
    for (const [uri, pattern] of [
      ['ftp://example.com/model.gguf', /is not a download address: give an hf:owner\/repo\/file\.gguf URI or an http\(s\):\/\/ URL/],
      [small.path, /import it instead/],
      ['hf:owner/repo', /names a repository, not a file/],
    ] as const) {
      expect(await refusal(h.service.download({ uri }))).toMatchObject({ code: 'invalid_arguments', field: 'args.uri', message: expect.stringMatching(pattern) });
    }
    const missing = await refusal(h.service.download({ uri: `${server.url}/missing/model.gguf` }));
    expect(missing).toMatchObject({ code: 'not_found', field: 'args.uri', message: expect.stringMatching(/has no file at .*\/missing\/model\.gguf \(HTTP 404\): check the address/) });
    const huge = await refusal(h.service.download({ uri: `${server.url}/huge/model.gguf` }));
    expect(huge).toMatchObject({ code: 'unavailable', field: 'args.uri' });
    expect(huge.message).toMatch(/Not enough free disk space in .*models: the download needs 1010000\.\d GB \(1000000\.0 GB of file and a margin\) and [\d.]+ GB is free\. Free some space/);
    // The catalog's size counts when the server does not say one.
    const catalogHuge = await refusal(h.service.download({ catalogId: 'tiny-llama' }));
    expect(catalogHuge).toMatchObject({ code: 'unavailable', field: 'args.catalogId', message: expect.stringMatching(/Not enough free disk space/) });
    const port = await closedPort();
    const unreachable = await refusal(h.service.download({ uri: `http://127.0.0.1:${port}/model.gguf` }));
    expect(unreachable).toMatchObject({ code: 'unavailable', message: expect.stringMatching(new RegExp(`Cannot reach 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\): check the network`)) });
    expect(h.service.downloads().downloads).toEqual([]);
    expect(h.store.db.prepare('SELECT COUNT(*) AS n FROM downloads').get()).toEqual({ n: 0 });
    expect(files(h.folder)).toEqual([]);
    dir.remove();
  });

  it('a truncated body and a file that is no GGUF fail with the reason, leaving no model and no file', async () => {
    const h = harness();
    const cut = await h.service.download({ uri: `${server.url}/truncated/small.gguf` });
    const cutEnd = await h.service.waitForDownload(cut.id);
    expect(cutEnd).toMatchObject({ state: 'failed', modelId: null });
    expect(cutEnd.error).toMatch(/refused and deleted: .*small\.gguf is not a usable GGUF model: the file is truncated/);
    const junk = await h.service.download({ uri: `${server.url}/not-gguf/junk.gguf` });
    const junkEnd = await h.service.waitForDownload(junk.id);
    expect(junkEnd).toMatchObject({ state: 'failed', modelId: null });
    expect(junkEnd.error).toMatch(/junk\.gguf is not a usable GGUF model: it does not start with the GGUF signature/);
    expect(h.store.models.list()).toEqual([]);
    expect(files(h.folder)).toEqual([]);
    // Failed downloads are listed with their reason until discarded.
    expect(h.service.downloads().downloads.map((d) => [d.id, d.state])).toEqual([[cut.id, 'failed'], [junk.id, 'failed']]);
    expect(await h.service.cancelDownload({ id: cut.id, discard: true })).toMatchObject({ state: 'cancelled' });
    expect(h.service.downloads().downloads.map((d) => d.id)).toEqual([junk.id]);
  });

  it('a 404 after the download started fails it with the status, leaving no model and no file', async () => {
    const h = harness();
    const started = await h.service.download({ uri: `${server.url}/gone/model.gguf` });
    const end = await h.service.waitForDownload(started.id);
    expect(end).toMatchObject({ state: 'failed', modelId: null });
    expect(end.error).toMatch(/The server answered HTTP 404.* for .*\/gone\/model\.gguf: check the address/);
    expect(h.store.models.list()).toEqual([]);
    expect(files(h.folder)).toEqual([]);
  });

  it('cancel pauses and keeps the partial file; resume continues it (fewer bytes than the file) to the right SHA-256', async () => {
    const h = harness();
    server.throttle(3e6);
    server.reset();
    const started = await h.service.download({ uri: `${server.url}/slow/big.gguf` });
    await until(() => h.events.some((e) => e.id === started.id && e.state === 'downloading' && e.bytes >= big.size * 0.55), 20_000);
    const paused = await h.service.cancelDownload({ id: started.id });
    expect(paused).toMatchObject({ state: 'paused', bytesPerSecond: 0, etaSeconds: null, modelId: null });
    // The bytes kept are whole 5 MiB chunks of ipull's; the ones in flight are fetched again.
    expect(paused.bytes % (5 * 1024 * 1024)).toBe(0);
    expect(paused.bytes).toBeGreaterThanOrEqual(2 * 5 * 1024 * 1024);
    expect(files(h.folder)).toEqual(['big.gguf.ipull']);
    expect(h.store.models.getDownload(started.id)).toMatchObject({ state: 'paused', ownerPid: null });
    expect(h.service.downloads().downloads.map((d) => [d.id, d.state])).toEqual([[started.id, 'paused']]);

    // Progress came at most every ~250 ms, with a speed and an ETA.
    const progress = h.events.filter((e) => e.id === started.id && e.state === 'downloading' && e.bytes > 0);
    expect(progress.length).toBeGreaterThan(4);
    const gaps = progress.slice(1).map((e, i) => Date.parse(e.updatedAt) - Date.parse(progress[i]!.updatedAt));
    expect(Math.min(...gaps.filter((g) => g > 0))).toBeGreaterThanOrEqual(200);
    const last = progress.at(-1)!;
    expect(last.totalBytes).toBe(big.size);
    expect(last.bytesPerSecond).toBeGreaterThan(1e6);
    expect(last.etaSeconds).toBeGreaterThan(0);

    server.throttle(null);
    server.reset();
    h.events.length = 0;
    const resumed = await h.service.resumeDownload({ id: started.id });
    expect(resumed.state).toBe('downloading');
    const end = await h.service.waitForDownload(started.id);
    expect(end.state).toBe('done');
    const model = h.service.get(end.modelId!);
    expect(model.sha256).toBe(big.sha256);
    expect(createHash('sha256').update(readFileSync(model.path)).digest('hex')).toBe(big.sha256);
    // It did not start over: only the missing chunks were fetched.
    // (A stream that runs into a chunk another one fetches stops, after what was already on its way.)
    expect(server.rangeBytes()).toBeGreaterThanOrEqual(big.size - paused.bytes);
    expect(server.rangeBytes()).toBeLessThan(Math.min(big.size, big.size - paused.bytes + 3 * 5 * 1024 * 1024));
    expect(h.events.find((e) => e.state === 'downloading' && e.bytes > 0)!.bytes).toBeGreaterThanOrEqual(paused.bytes);
    expect(files(h.folder)).toEqual(['big.gguf']);
  }, 60_000);

  it('download() of a paused address resumes it; discard removes the partial file; dispose leaves it paused', async () => {
    const h = harness();
    server.throttle(2e6);
    const uri = `${server.url}/slow/big.gguf`;
    const started = await h.service.download({ uri });
    // ipull writes a 5 MiB chunk once it has all of it: wait until one is on disk.
    await until(() => h.events.some((e) => e.id === started.id && e.bytes > 18e6), 20_000);
    await h.close();

    const again = h.reopen();
    expect(again.service.downloads().downloads).toMatchObject([{ id: started.id, state: 'paused' }]);
    expect(files(again.folder)).toEqual(['big.gguf.ipull']);
    const resumed = await again.service.download({ uri });
    expect(resumed).toMatchObject({ id: started.id, state: 'downloading' });
    expect(await again.service.download({ uri })).toMatchObject({ id: started.id });
    await until(() => again.events.some((e) => e.id === started.id && e.state === 'downloading' && e.bytes > 0), 20_000);
    const discarded = await again.service.cancelDownload({ id: started.id, discard: true });
    expect(discarded.state).toBe('cancelled');
    expect(files(again.folder)).toEqual([]);
    expect(again.service.downloads().downloads).toEqual([]);
    expect(await refusal(again.service.resumeDownload({ id: started.id }))).toMatchObject({ code: 'conflict', message: expect.stringMatching(/discarded; start a new one/) });
    expect(await refusal(again.service.waitForDownload(999))).toMatchObject({ code: 'not_found' });
    server.throttle(2e6);
  }, 60_000);

  it('a download left "downloading" by a process that died is paused at start and resumes', async () => {
    const h = harness();
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const now = new Date().toISOString();
    const id = h.store.models.insertDownload({
      uri: `${server.url}/files/small.gguf`,
      catalogId: null,
      quant: null,
      fileName: 'small.gguf',
      state: 'downloading',
      bytes: 1000,
      totalBytes: small.size,
      ownerPid: dead,
      createdAt: now,
      now,
    });
    // One owned by a live process (this one, through another service) is left alone.
    const live = h.store.models.insertDownload({ uri: `${server.url}/files/x.gguf`, catalogId: null, quant: null, fileName: 'x.gguf', state: 'downloading', bytes: 0, totalBytes: null, ownerPid: process.ppid, createdAt: now, now });
    const after = h.reopen();
    expect(after.store.models.getDownload(id)).toMatchObject({ state: 'paused', ownerPid: null });
    expect(after.store.models.getDownload(live)).toMatchObject({ state: 'downloading', ownerPid: process.ppid });
    expect(await refusal(after.service.resumeDownload({ id: live }))).toMatchObject({ code: 'conflict', message: expect.stringMatching(/running in another process/) });
    await after.service.resumeDownload({ id });
    const end = await after.service.waitForDownload(id);
    expect(end.state).toBe('done');
    expect(after.service.get(end.modelId!).sha256).toBe(small.sha256);
    after.store.models.updateDownload(live, { state: 'failed', ownerPid: null }, now);
  });
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  return port;
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
