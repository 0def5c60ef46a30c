import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { exportDataset } from '../../electron/core/datasets/export';
import { createCore } from '../../electron/core/services';
import type { Core } from '../../electron/core/services';
import type { ImportOutcome, ImportProgress } from '../../shared/contract/datasets';
import { AppError } from '../../shared/errors';
import { flatPrompt, readRecord } from '../../shared/datasets/records';
import type { DatasetRecord } from '../../shared/datasets/records';
import { REPO } from '../helpers/cli';
import { datasetWorker, generatedLine, writeGeneratedFile } from '../helpers/datasets';
import { makeTempDir } from '../helpers/tempDir';

const VOCAB = `${REPO}node_modules/node-llama-cpp/llama/llama.cpp/models/ggml-vocab-llama-spm.gguf`;
const files = makeTempDir('architect-datasets-');
let workerFile: string;
let core: Core;
let dataDir: ReturnType<typeof makeTempDir>;

beforeAll(async () => {
  workerFile = await datasetWorker();
});
afterAll(() => files.remove());
beforeEach(async () => {
  dataDir = makeTempDir();
  core = await createCore({ dataDir: dataDir.path, datasetWorkerFile: workerFile });
});
afterEach(async () => {
  await core.dispose();
  dataDir.remove();
});

let fileCount = 0;
/** Writes a dataset file under a fresh name; returns its path. */
function file(text: string | string[], name = `set-${++fileCount}.jsonl`): string {
  const path = join(files.path, name);
  writeFileSync(path, Array.isArray(text) ? `${text.join('\n')}\n` : text);
  return path;
}

const pc = (prompt: string, completion: string, kind?: string) => JSON.stringify({ prompt, completion, ...(kind ? { kind } : {}) });
const count = (table: string) => (core.services.store.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
const imported = (outcome: ImportOutcome) => {
  if (outcome.status !== 'imported') throw new Error(`expected an import, got ${JSON.stringify(outcome)}`);
  return outcome;
};
const leftovers = () => ['tmp', 'uploads'].flatMap((d) => (existsSync(join(dataDir.path, d)) ? readdirSync(join(dataDir.path, d)) : []));

describe('importing a file', () => {
  it('stores the examples of each shape with their lines, kinds and a 90/10 split, in a worker thread', async () => {
    const progress: ImportProgress[] = [];
    const lines = Array.from({ length: 40 }, (_, i) => pc(`prompt ${i}`, `completion ${i}`, i % 2 ? 'erd' : 'code'));
    const outcome = imported(await core.services.datasets.importFile(file(lines, 'diagrams.jsonl'), {}, { onProgress: (p) => progress.push(p) }));
    expect(outcome.dataset).toMatchObject({
      name: 'diagrams',
      source: 'file',
      sourceFile: 'diagrams.jsonl',
      container: 'jsonl',
      format: 'prompt-completion',
      examples: 40,
      train: 36,
      validation: 4,
      stratified: true,
      tokens: null,
      skipped: 0,
      duplicates: { within: 0, across: 0, dropped: 0 },
    });
    expect(outcome.report).toMatchObject({ records: 40, valid: 40, invalid: 0, errors: [] });
    expect(new Set(progress.map((p) => p.phase))).toEqual(new Set(['checking', 'reading', 'saving']));
    expect(core.services.datasets.get(outcome.dataset.id).byKind).toEqual([
      { kind: 'code', train: 18, validation: 2 },
      { kind: 'erd', train: 18, validation: 2 },
    ]);
    const page = core.services.datasets.examples({ id: outcome.dataset.id, offset: 0, limit: 3, clip: 16 });
    expect(page.total).toBe(40);
    expect(page.items.map((e) => [e.line, e.prompt, e.kind, e.clipped])).toEqual([
      [1, 'prompt 0', 'code', false],
      [2, 'prompt 1', 'erd', false],
      [3, 'prompt 2', 'code', false],
    ]);
    expect(leftovers()).toEqual([]);

    const chat = JSON.stringify({ messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }, { role: 'assistant', content: 'A' }] });
    const messages = imported(await core.services.datasets.importFile(file([chat])));
    expect(messages.dataset).toMatchObject({ format: 'messages', examples: 1, train: 1, validation: 0, stratified: false });
    const [example] = core.services.datasets.examples({ id: messages.dataset.id, offset: 0, limit: 1, clip: 100 }).items;
    expect(example).toMatchObject({ prompt: 'U', completion: 'A', context: [{ role: 'system', content: 'S' }] });

    const array = imported(await core.services.datasets.importFile(file(JSON.stringify([{ instruction: 'I', input: 'X', output: 'O' }], null, 2), 'alpaca.json')));
    expect(array.dataset).toMatchObject({ name: 'alpaca', container: 'json-array', format: 'alpaca', examples: 1 });
  });

  it('refuses a file with bad lines whole, listing each with its number; --skip-invalid imports the rest and keeps the report', async () => {
    const path = file([pc('a', 'b'), '{"prompt": ', pc('c', 'd'), JSON.stringify({ prompt: 'e' }), pc('f', 'g')]);
    const refused = await core.services.datasets.importFile(path);
    expect(refused).toMatchObject({ status: 'refused', reason: expect.stringContaining('2 bad records of 5: nothing was imported') });
    expect(refused.status === 'refused' && refused.report.errors).toEqual([
      { line: 2, message: expect.stringMatching(/^invalid JSON/) },
      { line: 4, message: '"completion" is missing' },
    ]);
    expect([count('datasets'), count('dataset_examples')]).toEqual([0, 0]);
    expect(leftovers()).toEqual([]);

    const skipped = imported(await core.services.datasets.importFile(path, { skipInvalid: true }));
    expect(skipped.dataset).toMatchObject({ examples: 3, skipped: 2 });
    const detail = core.services.datasets.get(skipped.dataset.id);
    expect(detail.report?.errors.map((e) => e.line)).toEqual([2, 4]);
  });

  it('refuses an empty, binary or all-bad file even with --skip-invalid', async () => {
    const empty = await core.services.datasets.importFile(file('\n\n'), { skipInvalid: true });
    expect(empty).toMatchObject({ status: 'refused', reason: 'The file has no examples; nothing was imported.' });
    const binary = file('');
    writeFileSync(binary, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x0a]));
    expect(await core.services.datasets.importFile(binary, { skipInvalid: true })).toMatchObject({
      status: 'refused',
      reason: expect.stringContaining('this is a binary file'),
    });
    expect(await core.services.datasets.importFile(file(['{}', '[]']), { skipInvalid: true })).toMatchObject({
      status: 'refused',
      reason: 'No record is valid (2 bad records); nothing was imported.',
    });
    expect(count('datasets')).toBe(0);
  });

  it('is idempotent by content: the same bytes under another name are reported, not imported again', async () => {
    const text = [pc('a', 'b'), pc('c', 'd')].join('\n');
    const first = imported(await core.services.datasets.importFile(file(text, 'one.jsonl')));
    const again = await core.services.datasets.importFile(file(text, 'two.jsonl'), { name: 'other name' });
    expect(again).toEqual({ status: 'duplicate', dataset: first.dataset });
    expect(count('datasets')).toBe(1);
    // A name in use is refused before anything is read.
    await expect(core.services.datasets.importFile(file(`${text}\n${pc('e', 'f')}`), { name: 'ONE' })).rejects.toMatchObject({ code: 'conflict', field: 'args.name' });
  });

  it('reports duplicates within the file and across datasets, and drops them on request', async () => {
    imported(await core.services.datasets.importFile(file([pc('a', '1'), pc('b', '2')])));
    const lines = [pc('a', '1'), pc('c', '3'), pc('c', '3'), JSON.stringify({ instruction: 'c', input: '', output: '3' }), pc('d', '4')];
    const kept = imported(await core.services.datasets.importFile(file(lines), { skipInvalid: true }));
    expect(kept.dataset).toMatchObject({ examples: 4, skipped: 1, duplicates: { within: 1, across: 1, dropped: 0 } }); // the Alpaca line is another shape
    const dropped = imported(await core.services.datasets.importFile(file([...lines.slice(0, 3), pc('e', '5')]), { dropDuplicates: true }));
    expect(dropped.dataset).toMatchObject({ examples: 1, duplicates: { within: 1, across: 3, dropped: 3 } });
    expect(core.services.datasets.examples({ id: dropped.dataset.id, offset: 0, limit: 10, clip: 10 }).items.map((e) => e.prompt)).toEqual(['e']);
    expect(core.services.datasets.get(kept.dataset.id).duplicatesAcrossNow).toBe(1); // a; the c's of the last file were dropped
    await expect(core.services.datasets.importFile(file([pc('a', '1')]), { dropDuplicates: true })).rejects.toMatchObject({ code: 'conflict' });
    expect(leftovers()).toEqual([]);
  });

  it('draws the same split from the same content and seed, stratified by kind', async () => {
    const kinds = ['erd', 'code', 'flowchart'];
    const lines = Array.from({ length: 90 }, (_, i) => pc(`p${i}`, `c${i}`, kinds[i % 3]));
    const validationOf = async (text: string[], args: { seed?: number; validationShare?: number }) => {
      const { dataset } = imported(await core.services.datasets.importFile(file(text), { ...args, name: `split ${++fileCount}` }));
      const items = core.services.datasets.examples({ id: dataset.id, split: 'validation', offset: 0, limit: 200, clip: 10 }).items;
      core.services.datasets.delete(dataset.id); // the next import of the same content is not a duplicate
      return { dataset, prompts: items.map((e) => e.prompt).sort() };
    };
    const first = await validationOf(lines, { seed: 7 });
    expect(first.dataset).toMatchObject({ train: 81, validation: 9, seed: 7 });
    expect(core.services.store.db.prepare('SELECT 1').get()).toBeTruthy();
    const again = await validationOf([...lines].reverse(), { seed: 7 }); // another line order: the same examples held out
    expect(again.prompts).toEqual(first.prompts);
    const other = await validationOf(lines, { seed: 8 });
    expect(other.prompts).not.toEqual(first.prompts);
    const perKind = (prompts: string[]) => kinds.map((k, r) => prompts.filter((p) => Number(p.slice(1)) % 3 === r).length);
    expect(perKind(first.prompts)).toEqual([3, 3, 3]);
    const fifth = await validationOf(lines, { seed: 7, validationShare: 0.2 });
    expect(fifth.dataset).toMatchObject({ train: 72, validation: 18 });
  });

  it("counts tokens with a model's tokenizer, as node-llama-cpp tokenizes", async () => {
    const records = [pc('Draw the tables of a shop', 'erDiagram\n  CUSTOMER ||--o{ ORDER : places'), pc('Hello world', 'Hi')];
    await core.services.datasets.setSettings({ tokenizerModel: VOCAB });
    const { dataset } = imported(await core.services.datasets.importFile(file(records)));
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.disabled });
    const model = await llama.loadModel({ modelPath: VOCAB, vocabOnly: true });
    const expected = records
      .map((line) => (readRecord(JSON.parse(line)) as { record: DatasetRecord }).record)
      .reduce((sum, r) => sum + model.tokenize(flatPrompt(r)).length + model.tokenize(r.completion).length, 0);
    await model.dispose();
    await llama.dispose();
    expect(dataset).toMatchObject({ tokens: expected, tokenizer: 'ggml-vocab-llama-spm.gguf' });
    expect(expected).toBeGreaterThan(15);
    const items = core.services.datasets.examples({ id: dataset.id, offset: 0, limit: 2, clip: 100 }).items;
    expect(items.reduce((sum, e) => sum + e.tokens!, 0)).toBe(expected);

    await expect(core.services.datasets.setSettings({ tokenizerModel: file('{}') })).rejects.toThrow(/is not a GGUF model file/);
    await expect(core.services.datasets.importFile(file([pc('x', 'y')]), { tokenizerModel: join(files.path, 'missing.gguf') })).rejects.toMatchObject({
      field: 'tokenizerModel',
    });
  });

  it('stops when cancelled, and stores nothing', async () => {
    const path = join(files.path, 'large.jsonl');
    writeGeneratedFile(path, 60_000);
    const controller = new AbortController();
    let reading: ImportProgress | undefined;
    const run = core.services.datasets.importFile(path, {}, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === 'reading' && p.done > 0 && !reading) {
          reading = p;
          controller.abort();
        }
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'cancelled' });
    expect(reading!.done).toBeLessThan(reading!.total); // it was stopped part-way
    expect([count('datasets'), count('dataset_examples')]).toEqual([0, 0]);
    expect(leftovers()).toEqual([]);
    // Nothing is held: the next import of the same file goes through.
    expect(imported(await core.services.datasets.importFile(path)).dataset.examples).toBe(60_000);
  });

  it('removes staging files and uploads left by a process that died, once they are stale', async () => {
    for (const dir of ['tmp', 'uploads']) mkdirSync(join(dataDir.path, dir), { recursive: true });
    const old = join(dataDir.path, 'tmp', 'import-dead.db');
    const fresh = join(dataDir.path, 'uploads', 'in-use.part');
    writeFileSync(old, 'x');
    writeFileSync(fresh, 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(old, twoHoursAgo, twoHoursAgo);
    const next = await createCore({ dataDir: dataDir.path, datasetWorkerFile: workerFile });
    await next.dispose();
    expect(existsSync(old)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
  });
});

describe('building from feedback', () => {
  it('takes eligible examples (corrections give the corrected text), filtered by kind, reward and date', async () => {
    const { artifacts, feedback, datasets } = core.services;
    const add = async (kind: 'erd' | 'code', prompt: string) => (await artifacts.add({ kind, prompt, output: `${prompt} output`, validate: false })).artifact.id;
    const liked = await add('erd', 'liked erd');
    feedback.record({ artifactId: liked, type: 'explicit_positive' }); // +1.0
    const corrected = await add('erd', 'corrected erd');
    feedback.record({ artifactId: corrected, type: 'correction', text: 'the corrected text' }); // +0.2 … +0.6
    const disliked = await add('code', 'disliked code');
    feedback.record({ artifactId: disliked, type: 'explicit_negative' });
    const code = await add('code', 'liked code');
    feedback.record({ artifactId: code, type: 'explicit_positive' });

    const all = imported(await datasets.buildFromFeedback({ name: 'all eligible' }));
    expect(all.dataset).toMatchObject({ source: 'feedback', sourceFile: null, examples: 3, stratified: true, filters: {} });
    const texts = datasets.examples({ id: all.dataset.id, offset: 0, limit: 10, clip: 100 }).items.map((e) => [e.line, e.prompt, e.completion, e.kind]);
    expect(texts).toEqual([
      [liked, 'liked erd', 'liked erd output', 'erd'],
      [corrected, 'corrected erd', 'the corrected text', 'erd'],
      [code, 'liked code', 'liked code output', 'code'],
    ]);
    const erd = imported(await datasets.buildFromFeedback({ filters: { kind: 'erd', minReward: 0.9 } }));
    expect(erd.dataset).toMatchObject({ examples: 1, name: expect.stringMatching(/^Feedback \(erd\) \d{4}-\d\d-\d\d \d\d:\d\d$/) });
    expect(await datasets.buildFromFeedback({ filters: { from: new Date(Date.now() + 3600_000).toISOString() } })).toMatchObject({
      status: 'refused',
      reason: 'No eligible training example matches these filters; nothing was stored.',
    });
    // The same examples again (other filters, same outcome): the build is reported as already there.
    expect(await datasets.buildFromFeedback({ filters: { to: new Date(Date.now() + 3600_000).toISOString() }, name: 'until later' })).toEqual({
      status: 'duplicate',
      dataset: all.dataset,
    });
    await expect(datasets.buildFromFeedback({ filters: { minReward: 0.1 } })).rejects.toMatchObject({ code: 'invalid_arguments', field: 'args.filters.minReward' });
  });
});

describe('exporting', () => {
  it('writes any dataset in each of the three shapes, and each export imports back to the same examples', async () => {
    const chat = JSON.stringify({
      messages: [
        { role: 'system', content: 'S' },
        { role: 'user', content: 'U1' },
        { role: 'assistant', content: 'A1' },
        { role: 'user', content: 'U2' },
        { role: 'assistant', content: 'A2' },
      ],
    });
    const source = imported(await core.services.datasets.importFile(file([chat, JSON.stringify({ messages: [{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'R' }] })])));
    const exported = (format: 'prompt-completion' | 'messages' | 'alpaca') => {
      let text = '';
      expect(exportDataset(core.services.store, source.dataset.id, format, (chunk) => (text += chunk))).toBe(2);
      return text;
    };
    expect(exported('messages').split('\n')[0]).toBe(chat);
    expect(exported('prompt-completion').split('\n')[0]).toBe(pc('System: S\n\nUser: U1\n\nAssistant: A1\n\nUser: U2', 'A2'));
    expect(JSON.parse(exported('alpaca').split('\n')[1]!)).toEqual({ instruction: 'Q', input: '', output: 'R' });
    // Paged through the contract: two pages of one line each, then the end.
    const first = (await core.services.datasets.exportPage(source.dataset.id, 'messages', 0, 1024)).value;
    expect(first).toMatchObject({ count: 2, next: null });
    const small = (await core.services.datasets.exportPage(source.dataset.id, 'messages', 0, 10)).value;
    expect(small.count).toBe(1);
    expect((await core.services.datasets.exportPage(source.dataset.id, 'messages', small.next!, 10)).value).toMatchObject({ count: 1, next: null });
    // Flattened shapes are other content (the turns are in the prompt); the messages export is the same file.
    const again = await core.services.datasets.importFile(file(exported('messages')));
    expect(again.status).toBe('duplicate');
  });
});

describe('the datasets contract', () => {
  it('lists, renames (names unique ignoring case) and deletes, each with a clear error', async () => {
    const { api } = core.connect();
    const a = imported(await core.services.datasets.importFile(file([pc('a', 'b')], 'first.jsonl')));
    imported(await core.services.datasets.importFile(file([pc('c', 'd')], 'second.jsonl')));
    expect((await api.datasets.list({})).map((d) => d.name).sort()).toEqual(['first', 'second']);
    await expect(api.datasets.rename({ id: a.dataset.id, name: 'SECOND' })).rejects.toMatchObject({ code: 'conflict', field: 'args.name' });
    await expect(api.datasets.rename({ id: a.dataset.id, name: '  ' })).rejects.toMatchObject({ code: 'invalid_arguments', field: 'args.name' });
    expect(await api.datasets.rename({ id: a.dataset.id, name: 'renamed' })).toMatchObject({ name: 'renamed' });
    expect(await api.datasets.delete({ id: a.dataset.id })).toEqual({ deleted: a.dataset.id });
    await expect(api.datasets.get({ id: a.dataset.id })).rejects.toMatchObject({ code: 'not_found' });
    expect(count('dataset_examples')).toBe(1);
  });

  it('imports a file uploaded in chunks, with progress events; the upload is gone afterwards', async () => {
    const client = core.connect();
    const { api } = client;
    const bytes = Buffer.from([pc('a', 'b', 'erd'), pc('c', 'd', 'erd')].join('\r\n'));
    const { uploadId, chunkBytes } = await api.datasets.beginUpload({ fileName: 'C:\\Users\\me\\uploaded.jsonl', size: bytes.length });
    expect(chunkBytes).toBe(4 * 1024 * 1024);
    await expect(api.datasets.importUpload({ uploadId })).rejects.toMatchObject({ field: 'args.uploadId', message: expect.stringContaining('incomplete: 0 of') });
    await expect(api.datasets.uploadChunk({ uploadId, offset: 5, data: bytes.toString('base64') })).rejects.toMatchObject({ field: 'args.offset' });
    await expect(api.datasets.uploadChunk({ uploadId, offset: 0, data: 'not base64!' })).rejects.toMatchObject({ code: 'invalid_arguments', field: 'args.data' });
    expect(await api.datasets.uploadChunk({ uploadId, offset: 0, data: bytes.subarray(0, 10).toString('base64') })).toEqual({ received: 10 });
    expect(await api.datasets.uploadChunk({ uploadId, offset: 10, data: bytes.subarray(10).toString('base64') })).toEqual({ received: bytes.length });
    await expect(api.datasets.uploadChunk({ uploadId, offset: bytes.length, data: 'AAAA' })).rejects.toMatchObject({ field: 'args.data' });
    const events: ImportProgress[] = [];
    client.on('datasets.progress', (p) => events.push(p));
    const changed = vi.fn();
    client.on('datasets.changed', changed);
    const outcome = imported(await api.datasets.importUpload({ uploadId, validationShare: 0.5 }));
    expect(outcome.dataset).toMatchObject({ name: 'uploaded', sourceFile: 'uploaded.jsonl', examples: 2, train: 1, validation: 1 });
    await vi.waitFor(() => expect(changed).toHaveBeenCalled());
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.jobId === uploadId)).toBe(true);
    expect(leftovers()).toEqual([]);
    await expect(api.datasets.importUpload({ uploadId })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('cancels an import when the caller cancels the call, and leaves nothing behind', async () => {
    const { api } = core.connect();
    const path = join(files.path, 'upload-large.jsonl');
    writeGeneratedFile(path, 60_000);
    const bytes = readFileSync(path);
    const { uploadId, chunkBytes } = await api.datasets.beginUpload({ fileName: 'large.jsonl', size: bytes.length });
    for (let offset = 0; offset < bytes.length; offset += chunkBytes) {
      await api.datasets.uploadChunk({ uploadId, offset, data: bytes.subarray(offset, offset + chunkBytes).toString('base64') });
    }
    const controller = new AbortController();
    const stop = core.connect().on('datasets.progress', (p) => p.phase === 'reading' && p.done > 0 && controller.abort());
    await expect(api.datasets.importUpload({ uploadId }, { signal: controller.signal })).rejects.toEqual(new AppError('cancelled', 'The call was cancelled.'));
    stop();
    // The server side stops the worker, removes the staging file and the upload.
    await vi.waitFor(() => expect(leftovers()).toEqual([]), { timeout: 10_000 });
    expect([count('datasets'), count('dataset_examples')]).toEqual([0, 0]);
  });
});

describe('the store after an import', () => {
  it('holds a consistent dataset: counts match the examples and the database checks out', async () => {
    const path = join(files.path, 'consistent.jsonl');
    writeFileSync(path, `${Array.from({ length: 500 }, (_, i) => generatedLine(i)).join('\n')}\n`);
    const { dataset } = imported(await core.services.datasets.importFile(path));
    const raw = new Database(join(dataDir.path, 'architect.db'), { readonly: true });
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(raw.prepare("SELECT COUNT(*) AS n, SUM(split = 'validation') AS v FROM dataset_examples WHERE dataset_id = ?").get(dataset.id)).toEqual({ n: 500, v: 50 });
    raw.close();
  });
});
