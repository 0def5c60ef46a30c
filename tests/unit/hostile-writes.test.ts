import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkTarget, checkTargetSync, writeFileAtomic } from '../../electron/core/files';
import { createCore } from '../../electron/core/services';
import { jobFiles } from '../../electron/core/training/jobData';
import { runCliBounded, within } from '../helpers/bounded';
import { datasetWorker } from '../helpers/datasets';
import { MEMORISE } from '../helpers/training';
import { storeVersion } from '../helpers/storedVersion';
import { makeTempDir } from '../helpers/tempDir';
import { writeTinyAdapter, writeTinyModel } from '../helpers/tinyModel';

// Every file the app writes where it was told to (an export's --out, a trained adapter) or in its own folders
// goes through files.ts: a FIFO, a folder or a device at the destination is refused by name and left as it was;
// the bytes go into a new file under a random name (O_EXCL), so a FIFO at any name the old code wrote first
// (`<out>.<pid>.tmp`, the native trainer's `<out>.tmp`) is never opened. Every call is bounded: a regression
// that blocks in open(2) fails as "did not return", not as a stuck run.

const dir = makeTempDir('architect-hostile-writes-');
const data = join(dir.path, 'data');
const model = join(dir.path, 'tiny.gguf');
const examples = join(dir.path, 'train.jsonl');
const f32 = (_type: string, values: Float32Array) => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
const mkfifo = (path: string) => execFileSync('mkfifo', [path]);
const isFifo = (path: string) => statSync(path).isFIFO();
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
/** The CLI, killed after 25 s: each test's own timeout (CASE_MS) is longer, so a run that blocks fails as timedOut. */
const cli = (args: string[], onSpawn?: Parameters<typeof runCliBounded>[2]) => runCliBounded([...args, '--data-dir', data], 25_000, onSpawn);
const CASE_MS = 60_000;
/** A new folder under the test's own, for one case's files. */
const folder = (name: string) => {
  const path = join(dir.path, name);
  mkdirSync(path);
  return path;
};
let adapter: string;
let socketServer: Server;

beforeAll(async () => {
  const spec = writeTinyModel(model, { type: 'f32', nEmbd: 16, nFf: 32, tiedOutput: true }, f32);
  writeFileSync(examples, MEMORISE.map((e) => JSON.stringify(e)).join('\n') + '\n');
  // A stored example to export, and a version v1 (its adapter a tiny LoRA) to export.
  const core = await createCore({ dataDir: data, datasetWorkerFile: await datasetWorker() });
  try {
    const { artifact } = await core.services.artifacts.add({ kind: 'erd', prompt: 'ERD for a blog', output: 'erDiagram\n  POST ||--o{ COMMENT : has', validate: false });
    await core.connect().api.feedback.record({ artifactId: artifact.id, type: 'explicit_positive' });
    const base = await core.services.models.import({ path: model });
    const versionDir = join(data, 'finetuned_models', 'tiny', 'v1');
    mkdirSync(versionDir, { recursive: true });
    adapter = join(versionDir, 'adapter.gguf');
    writeTinyAdapter(adapter, spec, { rank: 2, alpha: 4, targets: ['attn_q'] });
    storeVersion(core.services.store, base, adapter);
  } finally {
    await core.dispose();
  }
  socketServer = createServer().listen(join(dir.path, 'sock'));
}, 120_000);

afterAll(() => {
  socketServer?.close();
  dir.remove();
});

describe('architect export examples --out', () => {
  it('refuses a FIFO as the destination by name, and leaves it a FIFO', async () => {
    const where = folder('examples-fifo');
    const out = join(where, 'examples.jsonl');
    mkfifo(out);
    const run = await cli(['export', 'examples', '--out', out]);
    expect(run.timedOut).toBe(false);
    expect(run).toMatchObject({ status: 1, stderr: expect.stringContaining(`The output file ${out} is a named pipe (FIFO), not a regular file`) });
    expect(isFifo(out)).toBe(true);
    expect(readdirSync(where)).toEqual(['examples.jsonl']);
  }, CASE_MS);

  it('refuses a folder as the destination by name, and leaves it as it was', async () => {
    const where = folder('examples-folder');
    const out = join(where, 'examples.jsonl');
    mkdirSync(out);
    writeFileSync(join(out, 'kept.txt'), 'mine');
    const run = await cli(['export', 'examples', '--out', out]);
    expect(run.timedOut).toBe(false);
    expect(run).toMatchObject({ status: 1, stderr: expect.stringContaining(`The output file ${out} is a folder, not a regular file`) });
    expect(readdirSync(where)).toEqual(['examples.jsonl']);
    expect(readdirSync(out)).toEqual(['kept.txt']);
  }, CASE_MS);

  it('writes through FIFOs at the temporary names the old code used, never opening them', async () => {
    const where = folder('examples-temp');
    const out = join(where, 'examples.jsonl');
    mkfifo(`${out}.tmp`);
    // `<out>.<pid>.tmp` was the name: put there as soon as the child has a pid, long before it writes.
    let pidName = '';
    const run = await cli(['export', 'examples', '--out', out], (child) => {
      pidName = `${out}.${child.pid}.tmp`;
      mkfifo(pidName);
    });
    expect(run.timedOut).toBe(false);
    expect(run).toMatchObject({ status: 0, stderr: expect.stringContaining(`Wrote 1 training examples to ${out}`) });
    expect(readFileSync(out, 'utf8')).toBe(`${JSON.stringify({ prompt: 'ERD for a blog', completion: 'erDiagram\n  POST ||--o{ COMMENT : has' })}\n`);
    expect(isFifo(`${out}.tmp`) && isFifo(pidName)).toBe(true);
    expect(readdirSync(where).sort()).toEqual(['examples.jsonl', 'examples.jsonl.tmp', pidName.slice(where.length + 1)].sort());
  }, CASE_MS);

  it('names the missing folder', async () => {
    const out = join(dir.path, 'no-such-folder', 'examples.jsonl');
    const run = await cli(['export', 'feedback', '--out', out]);
    expect(run).toMatchObject({ timedOut: false, status: 1, stderr: expect.stringContaining(`Cannot write the output file ${out}: its folder ${join(dir.path, 'no-such-folder')} does not exist`) });
  }, CASE_MS);
});

describe('architect export VERSION --out', () => {
  it('refuses a FIFO and a folder as the destination by name, leaving them as they were', async () => {
    const where = folder('version-hostile');
    const fifo = join(where, 'v1.gguf');
    mkfifo(fifo);
    const byPipe = await cli(['export', 'v1', '--out', fifo]);
    expect(byPipe.timedOut).toBe(false);
    expect(byPipe).toMatchObject({ status: 1, stderr: expect.stringContaining(`The export target ${fifo} is a named pipe (FIFO), not a regular file`) });
    expect(isFifo(fifo)).toBe(true);
    const sub = join(where, 'folder.gguf');
    mkdirSync(sub);
    const byFolder = await cli(['export', 'v1', '--out', sub]);
    expect(byFolder).toMatchObject({ timedOut: false, status: 1, stderr: expect.stringContaining(`The export target ${sub} is a folder, not a regular file`) });
    expect(readdirSync(where).sort()).toEqual(['folder.gguf', 'v1.gguf']);
  }, CASE_MS);

  it('writes the adapter, replacing a regular file, and leaves no temporary file', async () => {
    const where = folder('version-ok');
    const out = join(where, 'v1.gguf');
    writeFileSync(out, 'an older export');
    const run = await cli(['export', 'v1', '--out', out]);
    expect(run).toMatchObject({ timedOut: false, status: 0 });
    expect(sha256(out)).toBe(sha256(adapter));
    expect(readdirSync(where)).toEqual(['v1.gguf']);
  }, CASE_MS);
});

describe('architect finetune --out', () => {
  const fast = ['--epochs', '1', '--batch-size', '3', '--threads', '1', '--targets', 'attn_q,attn_v', '--val-split', '0', '--json'];

  it("trains and writes the adapter with a FIFO at the native writer's temporary name <out>.tmp, never opening it", async () => {
    const where = folder('finetune-temp');
    const out = join(where, 'adapter.gguf');
    mkfifo(`${out}.tmp`);
    const run = await runCliBounded(['finetune', '--model', model, '--data', examples, '--out', out, ...fast], 60_000);
    expect(run.timedOut).toBe(false);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toMatchObject({ type: 'done', status: 'completed', adapterPath: out });
    expect(statSync(out).isFile()).toBe(true);
    expect(readFileSync(out).subarray(0, 4).toString()).toBe('GGUF');
    expect(isFifo(`${out}.tmp`)).toBe(true);
    // No private staging folder is left beside it.
    expect(readdirSync(where).sort()).toEqual(['adapter.gguf', 'adapter.gguf.checkpoints', 'adapter.gguf.tmp']);
  }, 90_000);

  it('refuses a FIFO as --out by name before training', async () => {
    const where = folder('finetune-fifo');
    const out = join(where, 'adapter.gguf');
    mkfifo(out);
    const run = await runCliBounded(['finetune', '--model', model, '--data', examples, '--out', out, ...fast], 25_000);
    expect(run.timedOut).toBe(false);
    expect(run.status).toBe(1);
    expect(run.stdout + run.stderr).toContain(`The adapter file ${out} is a named pipe (FIFO), not a regular file`);
    expect(run.stdout).not.toContain('"type":"step"');
    expect(isFifo(out)).toBe(true);
  }, CASE_MS);
});

describe('files.ts writing', () => {
  const ref = { field: 'out', what: 'The output file' };

  it('refuses a FIFO, a folder, a socket and a device as the target by name; writes nothing and changes none of them', async () => {
    const where = folder('targets');
    const fifo = join(where, 'pipe');
    mkfifo(fifo);
    const cases: [string, RegExp][] = [
      [fifo, /is a named pipe \(FIFO\), not a regular file: only a regular file is replaced, so nothing was written\./],
      [where, /is a folder, not a regular file/],
      [join(dir.path, 'sock'), /is a socket, not a regular file/],
      ['/dev/null', /is a character device, not a regular file/],
    ];
    for (const [path, message] of cases) {
      const named = expect.stringMatching(new RegExp(`^The output file ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} ${message.source}`));
      await expect(within(5000, checkTarget(path, ref))).rejects.toMatchObject({ code: 'invalid_arguments', field: 'out', message: named });
      expect(() => checkTargetSync(path, ref)).toThrow(message);
    }
    // Only what writes nothing is pointed at /dev/null: a write that got past the check would replace it.
    for (const [path, message] of cases.slice(0, 3)) await expect(within(5000, writeFileAtomic(path, 'x', ref))).rejects.toThrow(message);
    expect(isFifo(fifo)).toBe(true);
    expect(readdirSync(where)).toEqual(['pipe']);
  });

  it('replaces a regular file whole and leaves no temporary file; a missing folder is named', async () => {
    const where = folder('atomic');
    const out = join(where, 'out.json');
    writeFileSync(out, 'old');
    expect(await within(5000, writeFileAtomic(out, 'new', ref))).toBe(out);
    expect(readFileSync(out, 'utf8')).toBe('new');
    expect(readdirSync(where)).toEqual(['out.json']);
    const lost = join(where, 'gone', 'out.json');
    await expect(within(5000, writeFileAtomic(lost, 'x', ref))).rejects.toMatchObject({
      code: 'not_found',
      field: 'out',
      message: `Cannot write the output file ${lost}: its folder ${join(where, 'gone')} does not exist (ENOENT); nothing was written.`,
    });
  });

  it("a training job's data files are written with FIFOs at the names the old code wrote first", async () => {
    const dataDir = folder('job-data');
    const jobDir = join(dataDir, 'jobs', '7');
    mkdirSync(jobDir, { recursive: true });
    for (const name of ['examples.jsonl.tmp', 'validation.jsonl.tmp', 'meta.json.tmp']) mkfifo(join(jobDir, name));
    const files = await within(10_000, jobFiles(dataDir, 7, async () => ({ train: [...MEMORISE], validation: [MEMORISE[0]!], parent: null })), 'jobFiles');
    expect(files).toMatchObject({ examples: 3, validation: 1 });
    expect(readFileSync(files.examplesFile, 'utf8').trim().split('\n')).toHaveLength(3);
    expect(readdirSync(jobDir).sort()).toEqual(['examples.jsonl', 'examples.jsonl.tmp', 'meta.json', 'meta.json.tmp', 'validation.jsonl', 'validation.jsonl.tmp']);
    expect(isFifo(join(jobDir, 'meta.json.tmp'))).toBe(true);
  });
});
