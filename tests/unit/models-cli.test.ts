import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/connection';
import { createStore } from '../../db/store';
import type { CatalogItem, Download, InstalledModel } from '../../shared/contract/models';
import { REPO } from '../helpers/cli';
import { startModelServer, writeServedModel } from '../helpers/modelServer';
import type { ModelServer, ServedModel } from '../helpers/modelServer';
import { makeTempDir } from '../helpers/tempDir';

const LAUNCHER = join(REPO, 'bin', 'architect.js');

let fixtures: ReturnType<typeof makeTempDir>;
let small: ServedModel;
let big: ServedModel;
let server: ModelServer;

beforeAll(async () => {
  if (!existsSync(join(REPO, 'out', 'cli', 'index.js'))) throw new Error('The CLI is not built: run `npm run build` (npm test does).');
  fixtures = makeTempDir('architect-models-cli-');
  small = writeServedModel(fixtures.path, 'small.gguf', { nEmbd: 16, nFf: 32, tiedOutput: true });
  big = writeServedModel(fixtures.path, 'big.gguf', { nEmbd: 160, nFf: 64, seed: 5 });
  server = await startModelServer({
    'small.gguf': small.path,
    'Llama-3.2-1B-Instruct-Q4_K_M.gguf': small.path,
    'big.gguf': big.path,
    'crash.gguf': big.path,
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
  fixtures?.remove();
});

interface Running {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<number | null>;
}

/** The real `architect` command, in the background: the test server lives in this process, so nothing may block it. */
function start(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [LAUNCHER, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  child.stdin!.end();
  const exited = new Promise<number | null>((resolve) => child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const r = start(args, env);
  const timer = setTimeout(() => r.child.kill('SIGKILL'), 90_000);
  const status = await r.exited;
  clearTimeout(timer);
  return { status, stdout: r.stdout(), stderr: r.stderr() };
}

const jsonLines = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; download: Download; model?: InstalledModel | null });

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!condition()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what} did not happen in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const progressOf = (r: Running) => jsonLines(r.stdout()).filter((l) => l.type === 'progress').map((l) => l.download);

describe('architect models', () => {
  it('lists nothing installed and the catalog with what fits, as text and as JSON', async () => {
    const data = makeTempDir();
    try {
      const text = await run(['models', '--data-dir', data.path]);
      expect(text.stderr).toBe('');
      expect(text.status).toBe(0);
      expect(text.stdout).toContain(`Installed models (folder ${join(data.path, 'models')}):`);
      expect(text.stdout).toContain('none yet — `architect models download llama-3.2-1b-instruct` gets Llama 3.2 1B Instruct');
      expect(text.stdout).toMatch(/^ {2}mermaid-mistral-7b — MermaidMistral 7B, Apache-2\.0$/m);
      expect(text.stdout).toMatch(/^ {6}Q4_K_M +[\d.]+ MiB {2}fits on the (CPU|GPU) \(needs 1\.0 GB of [\d.]+ GB (usable RAM|free VRAM)\)$/m);

      const json = await run(['models', '--json', '--data-dir', data.path]);
      expect(json.status).toBe(0);
      const listing = JSON.parse(json.stdout) as { models: InstalledModel[]; folder: string; catalog: CatalogItem[]; downloads: Download[] };
      expect(listing.models).toEqual([]);
      expect(listing.downloads).toEqual([]);
      expect(listing.folder).toBe(join(data.path, 'models'));
      expect(listing.catalog).toHaveLength(6);
      for (const item of listing.catalog) {
        for (const file of item.files) {
          expect(file.installedModelId).toBeNull();
          expect(file.fit.summary).toMatch(/^needs [\d.]+ GB \(weights [\d.]+, context [\d.]+ for 4096 tokens, buffers [\d.]+\); /);
        }
      }
    } finally {
      data.remove();
    }
  }, 60_000);

  it('imports a file in place (twice gives the same model) and deletes it only with --yes when not asked on a terminal', async () => {
    const data = makeTempDir();
    try {
      const file = join(data.path, 'mine.gguf');
      copyFileSync(small.path, file);
      const first = await run(['models', 'import', file, '--json', '--data-dir', data.path]);
      expect(first.status).toBe(0);
      const model = JSON.parse(first.stdout) as InstalledModel;
      expect(model).toMatchObject({ path: file, managed: false, sha256: small.sha256, architecture: 'llama', trainable: true, source: 'import' });
      const again = await run(['models', 'import', file, '--data-dir', data.path]);
      expect(again.status).toBe(0);
      expect(again.stdout).toMatch(new RegExp(`^Model ${model.id}: tiny-llama-f32\\npath ${file} \\(imported in place\\)\\nllama, ALL_F32, `));
      expect(again.stdout).toContain('trainable (LoRA)');
      const listed = await run(['models', '--data-dir', data.path]);
      expect(listed.stdout).toMatch(new RegExp(`^ +${model.id} {2}tiny-llama-f32$`, 'm'));

      const refused = await run(['models', 'delete', String(model.id), '--data-dir', data.path]);
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain('refusing to delete without --yes: standard input is not a terminal to confirm on');
      const bad = await run(['models', 'import', join(data.path, 'none.gguf'), '--data-dir', data.path]);
      expect(bad).toMatchObject({ status: 1, stderr: expect.stringContaining('none.gguf does not exist') });
      const deleted = await run(['models', 'delete', String(model.id), '--yes', '--data-dir', data.path]);
      expect(deleted.status).toBe(0);
      expect(deleted.stdout).toBe(`Deleted model ${model.id} "tiny-llama-f32"; its file ${file} was left in place.\n`);
      expect(existsSync(file)).toBe(true);
      const gone = await run(['models', 'delete', String(model.id), '--yes', '--data-dir', data.path]);
      expect(gone).toMatchObject({ status: 1, stderr: expect.stringContaining(`There is no installed model with id ${model.id}`) });
    } finally {
      data.remove();
    }
  }, 90_000);

  it.skipIf(spawnSync('script', ['--version']).status !== 0)('asks before deleting on a terminal', async () => {
    const data = makeTempDir();
    try {
      const file = join(data.path, 'models', 'managed.gguf');
      expect((await run(['models', '--json', '--data-dir', data.path])).status).toBe(0);
      copyFileSync(small.path, file);
      const imported = await run(['models', 'import', file, '--json', '--data-dir', data.path]);
      const id = (JSON.parse(imported.stdout) as InstalledModel).id;
      const ask = (answer: string) =>
        new Promise<{ status: number | null; out: string }>((resolve) => {
          const command = [process.execPath, LAUNCHER, 'models', 'delete', String(id), '--data-dir', data.path].map((a) => `'${a}'`).join(' ');
          const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
          let out = '';
          child.stdout.on('data', (c: Buffer) => {
            out += c.toString();
            if (out.includes('[y/N]') && !child.stdin.writableEnded) child.stdin.end(`${answer}\n`);
          });
          child.once('close', (status) => resolve({ status, out }));
        });
      const no = await ask('n');
      expect(no.out).toContain(`Delete model ${id} "tiny-llama-f32"? Its file ${file} will be deleted. [y/N]`);
      expect(no.out).toContain('Nothing deleted.');
      expect(no.status).toBe(1);
      expect(existsSync(file)).toBe(true);
      const yes = await ask('y');
      expect(yes.status).toBe(0);
      expect(yes.out).toContain(`Deleted model ${id}`);
      expect(existsSync(file)).toBe(false);
    } finally {
      data.remove();
    }
  }, 60_000);

  it('downloads a catalog model (through HF_ENDPOINT) with a JSON line per progress event, then the result', async () => {
    const data = makeTempDir();
    try {
      const env = { HF_ENDPOINT: `${server.url}/hf/` };
      const r = await run(['models', 'download', 'llama-3.2-1b-instruct', '--json', '--data-dir', data.path], env);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const lines = jsonLines(r.stdout);
      expect(lines[0]).toMatchObject({ type: 'progress', download: { state: 'downloading', catalogId: 'llama-3.2-1b-instruct', quant: 'Q4_K_M', totalBytes: small.size } });
      const result = lines.at(-1)!;
      expect(result.type).toBe('result');
      expect(result.download).toMatchObject({ state: 'done', bytes: small.size });
      expect(result.model).toMatchObject({ name: 'Llama 3.2 1B Instruct (Q4_K_M)', catalogId: 'llama-3.2-1b-instruct', quant: 'Q4_K_M', sha256: small.sha256, managed: true, path: join(data.path, 'models', 'Llama-3.2-1B-Instruct-Q4_K_M.gguf') });
      expect(server.requests.some((q) => q.url === '/hf/bartowski/Llama-3.2-1B-Instruct-GGUF/resolve/main/Llama-3.2-1B-Instruct-Q4_K_M.gguf')).toBe(true);
      const listing = JSON.parse((await run(['models', '--json', '--data-dir', data.path])).stdout) as { catalog: CatalogItem[] };
      expect(listing.catalog[0]!.files[0]!.installedModelId).toBe(result.model!.id);
      const twice = await run(['models', 'download', 'llama-3.2-1b-instruct', '--data-dir', data.path], env);
      expect(twice).toMatchObject({ status: 1, stderr: expect.stringContaining('is already installed as model') });
    } finally {
      data.remove();
    }
  }, 90_000);

  it('shows a progress bar on standard error and the installed model on standard output', async () => {
    const data = makeTempDir();
    try {
      server.throttle(4e6);
      const r = await run(['models', 'download', `${server.url}/slow/big.gguf`, '--data-dir', data.path]);
      expect(r.status).toBe(0);
      const bars = r.stderr.trim().split('\n');
      expect(bars.length).toBeGreaterThan(3);
      expect(bars[0]).toMatch(/^\[-{24}\] +0% {2}0 B of 40\.\d MiB$/);
      expect(bars.some((l) => /^\[#+-*\] +\d+% {2}[\d.]+ MiB of 40\.\d MiB {2}[\d.]+ MiB\/s {2}ETA \d+s$/.test(l))).toBe(true);
      expect(bars.at(-1)).toMatch(/^\[#{24}\] +100% {2}40\.\d MiB of 40\.\d MiB {2}done$/);
      expect(r.stdout).toMatch(/^Installed model 1: tiny-llama-f32\npath .*big\.gguf\n/);
    } finally {
      data.remove();
    }
  }, 90_000);

  it('Ctrl-C pauses the download; the same command again resumes it without starting over', async () => {
    const data = makeTempDir();
    try {
      server.throttle(3e6);
      const args = ['models', 'download', `${server.url}/slow/big.gguf`, '--json', '--data-dir', data.path];
      const first = start(args);
      await until(() => progressOf(first).some((d) => d.bytes >= big.size * 0.55), 30_000, 'half the download');
      first.child.kill('SIGINT');
      expect(await first.exited).toBe(130);
      expect(first.stderr()).toMatch(/Paused at [\d.]+ MiB of 40\.\d MiB; the partial file is kept\. Run the same command again to resume\./);
      const paused = jsonLines(first.stdout()).at(-1)!;
      expect(paused).toMatchObject({ type: 'result', download: { state: 'paused' }, model: null });
      expect(paused.download.bytes).toBeGreaterThan(0);
      expect(readdirSync(join(data.path, 'models'))).toEqual(['big.gguf.ipull']);

      server.throttle(null);
      server.reset();
      const second = await run(args);
      expect(second.status).toBe(0);
      const result = jsonLines(second.stdout).at(-1)!;
      expect(result.model).toMatchObject({ sha256: big.sha256 });
      // Only what the partial file lacked was fetched again.
      expect(server.rangeBytes()).toBeGreaterThanOrEqual(big.size - paused.download.bytes);
      expect(server.rangeBytes()).toBeLessThan(big.size);
      expect(jsonLines(second.stdout).find((l) => l.download.bytes > 0)!.download.bytes).toBe(paused.download.bytes);
      expect(readdirSync(join(data.path, 'models'))).toEqual(['big.gguf']);
    } finally {
      data.remove();
    }
  }, 90_000);

  it('a killed download is left resumable: the next run continues from its partial file', async () => {
    const data = makeTempDir();
    try {
      server.throttle(3e6);
      const args = ['models', 'download', `${server.url}/slow/crash.gguf`, '--json', '--data-dir', data.path];
      const first = start(args);
      await until(() => progressOf(first).some((d) => d.bytes >= big.size * 0.55), 30_000, 'half the download');
      // Let the store see progress, then kill without a chance to clean up.
      await new Promise((r) => setTimeout(r, 1100));
      first.child.kill('SIGKILL');
      await first.exited;
      const db = openDatabase(join(data.path, 'architect.db'));
      const row = createStore(db).models.openDownloads()[0];
      db.close();
      expect(row).toMatchObject({ state: 'downloading', ownerPid: first.child.pid });
      expect(row!.bytes).toBeGreaterThan(0);

      server.throttle(null);
      server.reset();
      const second = await run(args);
      expect(second.status).toBe(0);
      const lines = jsonLines(second.stdout);
      expect(lines.at(-1)!.model).toMatchObject({ sha256: big.sha256 });
      // It went on from the chunks the killed process had written.
      expect(lines[0]!.download).toMatchObject({ state: 'downloading', id: row!.id });
      expect(lines[0]!.download.bytes % (5 * 1024 * 1024)).toBe(0);
      expect(lines[0]!.download.bytes).toBeGreaterThan(0);
      expect(server.rangeBytes()).toBeLessThan(big.size);
    } finally {
      data.remove();
    }
  }, 90_000);

  it('answers bad input with a clear error and a non-zero exit', async () => {
    const data = makeTempDir();
    try {
      const d = ['--data-dir', data.path];
      expect(await run(['models', 'download', ...d])).toMatchObject({ status: 2, stderr: expect.stringContaining('download takes a catalog ID or a URI') });
      expect(await run(['models', 'frobnicate', 'x', ...d])).toMatchObject({ status: 2, stderr: expect.stringContaining("expected download, import or delete, got 'frobnicate'") });
      expect(await run(['models', 'download', 'https://example.com/a.gguf', '--quant', 'Q8_0', ...d])).toMatchObject({ status: 2, stderr: expect.stringContaining('--quant picks a file of a catalog model') });
      expect(await run(['models', 'delete', 'abc', '--yes', ...d])).toMatchObject({ status: 2, stderr: expect.stringContaining('ID must be a positive whole number') });
      expect(await run(['models', 'download', 'no-such-model', ...d])).toMatchObject({ status: 1, stderr: expect.stringContaining('There is no catalog model "no-such-model"') });
      expect(await run(['models', 'download', 'llama-3.2-1b-instruct', '--quant', 'Q2_K', ...d])).toMatchObject({ status: 1, stderr: expect.stringContaining('has no Q2_K file; choose one of Q4_K_M, Q8_0') });
      expect(await run(['models', 'download', 'ftp://example.com/a.gguf', ...d])).toMatchObject({ status: 1, stderr: expect.stringContaining('is not a download address') });
      expect(await run(['models', 'download', `${server.url}/missing/a.gguf`, ...d])).toMatchObject({ status: 1, stderr: expect.stringContaining('(HTTP 404): check the address') });
    } finally {
      data.remove();
    }
  }, 90_000);
});
