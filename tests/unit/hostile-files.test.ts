import { execFileSync } from 'node:child_process';
import { closeSync, openSync, ftruncateSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../bin/cli/command';
import { textFrom } from '../../bin/cli/withCore';
import { readExamplesFile } from '../../electron/core/datasets/readFile';
import { checkRegularFile, checkRegularFileSync, readChunksSync, readHead, readRegularFile, readRegularFileSync } from '../../electron/core/files';
import { createCore } from '../../electron/core/services';
import type { Core } from '../../electron/core/services';
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
