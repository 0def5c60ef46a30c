import { execFileSync } from 'node:child_process';
import { closeSync, openSync, ftruncateSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../bin/cli/command';
import { textFrom } from '../../bin/cli/withCore';
import { readExamplesFile } from '../../electron/core/datasets/readFile';
import { checkRegularFile, checkRegularFileSync, heldPath, openRegularFile, readChunksSync, readHead, readRegularFile, readRegularFileSync } from '../../electron/core/files';
import { readModelFile } from '../../electron/core/models/ggufInfo';
import { sha256File } from '../../electron/core/models/hash';
import { createCore } from '../../electron/core/services';
import type { Core } from '../../electron/core/services';
import { MAX_VALIDATED_CHARS, ValidationService } from '../../electron/core/validation';
import { MAX_TEXT_BYTES } from '../../shared/contract/validation';
import type { ArtifactKind } from '../../shared/contract/validation';
import { runCliBounded, within } from '../helpers/bounded';
import { datasetWorker } from '../helpers/datasets';
import { makeTempDir } from '../helpers/tempDir';

// The one rule for every file the app is handed (electron/core/files.ts), for each kind of file that is
// not a regular one, through each way in: the async reads of the services, the sync reads of the CLI and
// the trainer, and the dataset service's own entry points.

const MIB = 1024 * 1024;
const dir = makeTempDir('architect-hostile-files-');
const paths = { fifo: join(dir.path, 'pipe'), socket: join(dir.path, 'sock'), regular: join(dir.path, 'ok.jsonl'), sparse: join(dir.path, 'huge.bin') };
let socketServer: Server;
let core: Core;

beforeAll(async () => {
  execFileSync('mkfifo', [paths.fifo]);
  socketServer = createServer().listen(paths.socket);
  writeFileSync(paths.regular, `${JSON.stringify({ prompt: 'p', completion: 'c' })}\n`);
  // 64 GiB that take no disk: a reader that checked the size only after reading would never finish.
  const fd = openSync(paths.sparse, 'w');
  ftruncateSync(fd, 64 * 1024 * MIB);
  closeSync(fd);
  core = await createCore({ dataDir: join(dir.path, 'data'), datasetWorkerFile: await datasetWorker() });
});

afterAll(async () => {
  socketServer?.close();
  await core?.dispose();
  dir.remove();
});

const HOSTILE: [string, () => string, RegExp][] = [
  ['a FIFO (mkfifo)', () => paths.fifo, /is a named pipe \(FIFO\), not a regular file/],
  ['/dev/zero', () => '/dev/zero', /is a character device, not a regular file/],
  ['a folder', () => dir.path, /is a folder, not a regular file/],
  ['a socket', () => paths.socket, /is a socket, not a regular file/],
];
const ref = { field: 'file', what: 'The file' };

describe.each(HOSTILE)('%s', (_name, path, message) => {
  it('is refused by name by every reader, async and sync, before anything is read', async () => {
    await expect(checkRegularFile(path(), ref)).rejects.toMatchObject({ code: 'invalid_arguments', field: 'file', message: expect.stringMatching(message) });
    await expect(readRegularFile(path(), { ...ref, maxBytes: MIB })).rejects.toThrow(message);
    await expect(readHead(path(), 4, ref)).rejects.toThrow(message);
    expect(() => checkRegularFileSync(path(), ref)).toThrow(message);
    expect(() => readRegularFileSync(path(), { ...ref, maxBytes: MIB })).toThrow(message);
    expect(() => readExamplesFile(path())).toThrow(message);
    // The CLI's --file flags: a usage error naming the flag.
    expect(() => textFrom({ file: path() }, 'text', 'file')).toThrow(UsageError);
    expect(() => textFrom({ file: path() }, 'text', 'file')).toThrow(new RegExp(`--file .*${message.source}`));
  });

  it('is refused by the dataset service as the file to import and as the tokenizer model; nothing is stored', async () => {
    await expect(core.services.datasets.importFile(path())).rejects.toMatchObject({ field: 'file', message: expect.stringMatching(message) });
    await expect(core.services.datasets.importFile(paths.regular, { tokenizerModel: path() })).rejects.toMatchObject({
      field: 'tokenizerModel',
      message: expect.stringMatching(message),
    });
    await expect(core.services.datasets.setSettings({ tokenizerModel: path() })).rejects.toMatchObject({ field: 'tokenizerModel' });
    expect(core.services.datasets.settings()).toEqual({ tokenizerModel: null });
    expect(core.services.datasets.list()).toEqual([]);
  });
});

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe.each(HOSTILE)('%s as a model file', (_name, path, message) => {
  it('is refused by the model service, the header reader and the hash, by name and at once; nothing is stored', async () => {
    const named = (what: string) => expect.stringMatching(new RegExp(`^${what} ${escaped(path())} ${message.source}`));
    await expect(within(5000, core.services.models.import({ path: path() }))).rejects.toMatchObject({ code: 'invalid_arguments', field: 'args.path', message: named('The model file') });
    await expect(within(5000, readModelFile(path(), 'modelPath'))).rejects.toMatchObject({ code: 'invalid_arguments', field: 'modelPath', message: named('The model file') });
    await expect(within(5000, sha256File(path(), { ref: { field: 'adapterPath', what: 'The adapter' } }))).rejects.toMatchObject({ field: 'adapterPath', message: named('The adapter') });
    expect((await core.services.models.list()).models).toEqual([]);
  });

  it('is refused by `architect models import` with the path and what it is, exit 1, at once', async () => {
    const run = await runCliBounded(['models', 'import', path(), '--data-dir', join(dir.path, 'cli-data')], 30_000);
    expect(run.timedOut).toBe(false);
    expect(run).toMatchObject({ status: 1, stderr: expect.stringMatching(new RegExp(`The model file ${escaped(path())} ${message.source}`)) });
  });
});

it('a file swapped for a FIFO after it was checked is read, through heldPath, as the file that was checked', async () => {
  // node-llama-cpp's GGUF reader opens the path again for every read: it is given heldPath, never the name.
  const file = join(dir.path, 'swapped.gguf');
  writeFileSync(file, 'the checked bytes');
  const opened = await openRegularFile(file, ref);
  try {
    const fifo = join(dir.path, 'swap-in');
    execFileSync('mkfifo', [fifo]);
    renameSync(fifo, file);
    expect(statSync(file).isFIFO()).toBe(true);
    expect(await within(5000, readFile(heldPath(file, opened.handle.fd), 'utf8'), 'reading the held file')).toBe('the checked bytes');
  } finally {
    await opened.handle.close();
  }
});

describe('size limits', () => {
  it('are enforced while reading: a 64 GiB file is refused at byte limit + 1, in little time and memory', async () => {
    const started = performance.now();
    await expect(readRegularFile(paths.sparse, { ...ref, maxBytes: MIB })).rejects.toThrow(/is larger than 1\.0 MiB \(the limit is 1048576 bytes\)/);
    expect(() => readRegularFileSync(paths.sparse, { ...ref, maxBytes: MIB })).toThrow(/is larger than 1\.0 MiB/);
    expect(() => textFrom({ file: paths.sparse }, 'text', 'file')).toThrow(/--file .*huge\.bin is larger than 1\.0 MiB/);
    // Zeros are refused as binary after the first chunk; blank lines are read on until the limit.
    expect(readExamplesFile(paths.sparse, { maxBytes: 4 * MIB }).errors[0]?.message).toMatch(/binary file/);
    const blank = join(dir.path, 'blank.jsonl');
    writeFileSync(blank, '\n'.repeat(5 * MIB));
    expect(() => readExamplesFile(blank, { maxBytes: 4 * MIB })).toThrow(/blank\.jsonl is larger than 4\.0 MiB/);
    let read = 0;
    expect(() => readChunksSync(paths.sparse, { ...ref, maxBytes: 3 * MIB }, (chunk) => void (read += chunk.length))).toThrow(/larger than 3\.0 MiB/);
    expect(read).toBeLessThanOrEqual(3 * MIB);
    // Generous: reading all 64 GiB would take minutes.
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('let a regular file at the limit through whole', async () => {
    expect((await readRegularFile(paths.regular, { ...ref, maxBytes: 32 })).toString()).toBe(`${JSON.stringify({ prompt: 'p', completion: 'c' })}\n`);
    await expect(readRegularFile(paths.regular, { ...ref, maxBytes: 31 })).rejects.toThrow(/larger than/);
    expect(readExamplesFile(paths.regular).examples).toEqual([{ prompt: 'p', completion: 'c' }]);
  });
});

it('a missing file is named with its path and the reason', async () => {
  await expect(checkRegularFile(join(dir.path, 'nope'), ref)).rejects.toMatchObject({ code: 'not_found', message: expect.stringMatching(/Cannot read the file .*nope: no such file \(ENOENT\)/) });
});

describe('texts too large to validate', () => {
  /** A text of `kind` exactly `length` characters long. */
  const textOf = (kind: ArtifactKind, length: number) => {
    const head = { erd: 'erDiagram\n', flowchart: 'flowchart TD\n', sequence: 'sequenceDiagram\n', 'api-doc': 'openapi: 3.0.3\npaths:\n', code: '', other: '' }[kind];
    const line = kind === 'code' ? 'export const a = 1;\n' : kind === 'api-doc' ? '  /a: { get: {} }\n' : '  A --> B\n';
    return (head + line.repeat(Math.ceil(length / line.length))).slice(0, length);
  };
  const limits: [ArtifactKind, number][] = [
    ['erd', MAX_VALIDATED_CHARS.diagram],
    ['sequence', MAX_VALIDATED_CHARS.diagram],
    ['api-doc', MAX_VALIDATED_CHARS['api-doc']],
    ['code', MAX_VALIDATED_CHARS.code],
  ];

  it('are refused by the validator with their length and the limit, before anything reaches the worker', async () => {
    // 8 MiB cannot even load the parsers: a text that reached the worker would fail as "stopped unexpectedly".
    const cramped = new ValidationService({ maxHeapMb: 8 });
    try {
      for (const [kind, max] of limits) {
        await expect(within(5000, cramped.check({ kind, text: textOf(kind, max + 1) }))).rejects.toMatchObject({
          code: 'invalid_arguments',
          field: 'text',
          message: expect.stringMatching(new RegExp(`^The ${kind} text is ${max + 1} characters long: validation takes at most ${max} \\(${max / 1024} Ki\\)`)),
        });
      }
    } finally {
      await cramped.dispose();
    }
  });

  it('an OpenAPI document is parsed in the worker, not on the main thread; Markdown needs no parser', async () => {
    // A worker given 1 ms for each parse (it cannot even start in that time): an OpenAPI document fails as it would
    // only if its YAML went there.
    const cramped = new ValidationService({ timeoutMs: 1 });
    try {
      const openapi = 'openapi: 3.0.0\ninfo: { title: t, version: "1" }\npaths:\n  /a: { get: { responses: { "200": { description: ok } } } }\n';
      await expect(within(10_000, cramped.check({ kind: 'api-doc', text: openapi }))).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/^Parsing did not finish within 0.001 s/) });
      expect(await within(5000, cramped.check({ kind: 'api-doc', text: '# API\n\n## POST /login\nLogs in.' }))).toMatchObject({ kind: 'api-doc' });
    } finally {
      await cramped.dispose();
    }
  });

  it('code at the limit is still parsed', async () => {
    const service = new ValidationService();
    try {
      const result = await within(30_000, service.check({ kind: 'code', text: textOf('code', MAX_VALIDATED_CHARS.code), language: 'typescript' }));
      expect(result).toMatchObject({ kind: 'code', validator: expect.stringMatching(/^typescript /) });
    } finally {
      await service.dispose();
    }
  });

  it("over the contract's 1 MiB, are refused by the RPC layer by field before any service runs", async () => {
    const api = core.connect().api;
    const big = 'x'.repeat(MAX_TEXT_BYTES + 1);
    const over = expect.stringMatching(/is over 1 MiB \(the limit is 1048576 bytes of UTF-8\)/);
    await expect(within(5000, api.validation.check({ kind: 'erd', text: big }))).rejects.toMatchObject({ code: 'invalid_arguments', field: 'args.text', message: over });
    await expect(within(5000, api.artifacts.add({ kind: 'code', prompt: 'p', output: big }))).rejects.toMatchObject({ code: 'invalid_arguments', field: 'args.output', message: over });
    await expect(within(5000, api.feedback.record({ artifactId: 1, type: 'correction', text: big }))).rejects.toMatchObject({ code: 'invalid_arguments', field: 'args.text', message: over });
    expect((await api.artifacts.list({})).total).toBe(0);
  });

  it('a parse whose worker runs out of heap fails with the reason; the process lives on and the next parse gets a new worker', async () => {
    // 32 MiB loads TypeScript (24 MiB does), but 512 KiB of code, under the limit, needs more to parse.
    const service = new ValidationService({ maxHeapMb: 32, timeoutMs: 30_000 });
    const large = textOf('code', 512 * 1024);
    try {
      for (let i = 0; i < 2; i++) {
        await expect(within(30_000, service.check({ kind: 'code', text: large, language: 'typescript' }))).rejects.toMatchObject({
          code: 'unavailable',
          message: expect.stringMatching(/^The validator stopped unexpectedly \(validator exited with code 1\): Error.*: Worker terminated due to reaching memory limit: JS heap out of memory/),
        });
        const next = await within(30_000, service.check({ kind: 'code', text: 'export const a = 1;\n', language: 'typescript' }));
        expect(next).toMatchObject({ kind: 'code', validator: expect.stringMatching(/^typescript /) });
      }
    } finally {
      await service.dispose();
    }
  });
});
