// Generation with the real node-llama-cpp runtime on tiny generated models: streaming, what is stored,
// adapters switched without reloading the base, the shared rendering with the trainer, and bad input.
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Trainer } from '../../native/index';
import { createCore } from '../../electron/core/services';
import type { Core } from '../../electron/core/services';
import type { GenerateArgs } from '../../shared/contract/generation';
import { runCli } from '../helpers/cli';
import { FIXTURES, fixtureFolder } from '../helpers/fixtures';
import { testLlama } from '../helpers/llamaReference';
import { OllamaStandIn } from '../helpers/ollamaStandIn';
import { makeTempDir } from '../helpers/tempDir';
import { MEMORISE } from '../helpers/training';

let fixtures: ReturnType<typeof fixtureFolder>;
let core: Core;
let modelId: number;
let modelPath: string;
const dataDir = makeTempDir('architect-generation-');

beforeAll(async () => {
  const trainer = Trainer.forLlama(await testLlama());
  fixtures = fixtureFolder((type, values, row) => trainer.quantize(type, values, row));
  modelPath = fixtures.model('f32', FIXTURES.f32).path;
  core = await createCore({ dataDir: dataDir.path });
  modelId = (await core.services.models.import({ path: modelPath })).id;
  // One thread: CI has two cores and runs test files side by side; more threads would wait at barriers.
  core.services.generation.setSettings({ threads: 1 });
}, 60_000);

afterAll(async () => {
  await core?.dispose();
  fixtures?.remove();
  dataDir.remove();
});

let counter = 0;
const request = (overrides: Partial<GenerateArgs> = {}): GenerateArgs => ({
  generationId: `test-${++counter}-generation`,
  kind: 'code',
  requirements: 'A function that adds two numbers',
  model: { provider: 'local', modelId },
  sampling: { temperature: 0, maxTokens: 12, seed: 1 },
  ...overrides,
});

async function expectRefused(args: unknown, code: string, field: RegExp | undefined, message: RegExp): Promise<void> {
  const before = core.services.artifacts.list().total;
  const error = (await core.connect().api.generation.generate(args as GenerateArgs).then(
    () => undefined,
    (e: unknown) => e,
  )) as { code: string; field?: string; message: string } | undefined;
  expect(error, 'the call should fail').toBeDefined();
  expect(error!.code).toBe(code);
  if (field) expect(error!.field).toMatch(field);
  expect(error!.message).toMatch(message);
  expect(core.services.artifacts.list().total, 'nothing is stored').toBe(before);
}

describe('generation with a local model', () => {
  it('streams chunks in order and stores the artifact with its model, sampling and timing', async () => {
    const client = core.connect();
    const args = request();
    const chunks: { index: number; text: string }[] = [];
    const phases: string[] = [];
    const offChunk = client.on('generation.chunk', (c) => c.generationId === args.generationId && chunks.push(c));
    const offStatus = client.on('generation.status', (s) => s.generationId === args.generationId && phases.push(s.phase));
    const result = await client.api.generation.generate(args);
    offChunk();
    offStatus();
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, i) => i));
    expect(chunks.map((c) => c.text).join('')).toBe(result.artifact.output);
    expect(phases).toEqual(expect.arrayContaining(['loading-model', 'evaluating-prompt', 'validating']));
    const g = result.generation;
    const model = core.services.models.get(modelId);
    expect(g).toMatchObject({ provider: 'local', modelId, modelHash: model.sha256, adapter: null, contextSize: 512 });
    expect(g.sampling).toEqual({ temperature: 0, topP: 0.9, maxTokens: 12, seed: 1 });
    expect(g.promptTokens).toBeGreaterThan(20);
    expect(g.outputTokens).toBeGreaterThan(0);
    expect(g.outputTokens).toBeLessThanOrEqual(12);
    expect(g.durationMs).toBeGreaterThan(0);
    expect(g.tokensPerSecond).toBeGreaterThan(0);
    // Stored with it, and flows into validation as a pasted artifact does.
    const stored = await client.api.artifacts.get({ id: result.artifact.id });
    expect(stored.generation).toEqual(g);
    expect(stored.modelVersion).toBe('base');
    expect(stored.events.some((e) => e.type === 'validation') || result.validationError !== null).toBe(true);
  });

  it('is deterministic for a seed: the same request gives the same text', async () => {
    const api = core.connect().api;
    const sampling = { temperature: 0.8, maxTokens: 10, seed: 1234 };
    const a = await api.generation.generate(request({ sampling }));
    const b = await api.generation.generate(request({ sampling }));
    expect(b.artifact.output).toBe(a.artifact.output);
  });

  it('switches adapters on one loaded base: a new context each time, never a reload', async () => {
    const spec = fixtures.model('f32', FIXTURES.f32).spec;
    const first = fixtures.adapter('switch-a', spec, ['attn_q', 'attn_v']);
    const second = fixtures.adapter('switch-b', spec, ['ffn_up']);
    const host = core.services.generation.host;
    await core.connect().api.generation.generate(request()); // the base is loaded
    const loads = host.loads;
    const contexts = host.contexts;
    const api = core.connect().api;
    const withFirst = await api.generation.generate(request({ model: { provider: 'local', modelId, adapterPath: first } }));
    await api.generation.generate(request({ model: { provider: 'local', modelId, adapterPath: second } }));
    await api.generation.generate(request());
    expect(host.loads).toBe(loads);
    expect(host.contexts).toBe(contexts + 3);
    expect(withFirst.generation.adapter).toMatchObject({ path: first, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(withFirst.artifact.modelVersion).toBe('switch-a.lora.gguf');
  });

  it('stops on request and stores what was written so far', async () => {
    const client = core.connect();
    const args = request({ sampling: { temperature: 1, maxTokens: 400, seed: 3 } });
    let stopped = false;
    const off = client.on('generation.chunk', (c) => {
      if (c.generationId === args.generationId && c.index >= 2 && !stopped) {
        stopped = true;
        void client.api.generation.stop({ generationId: args.generationId });
      }
    });
    const result = await client.api.generation.generate(args);
    off();
    expect(result.generation.finish).toBe('stopped');
    expect(result.generation.outputTokens).toBeLessThan(400);
  });

  it('unwraps a fenced diagram to its Mermaid', async () => {
    const { unwrapMermaid } = await import('../../shared/prompts');
    expect(unwrapMermaid('Here it is:\n```mermaid\nerDiagram\n  A ||--o{ B : has\n```\nDone.')).toEqual({ text: 'erDiagram\n  A ||--o{ B : has', unwrapped: true });
    expect(unwrapMermaid('erDiagram\n  A ||--o{ B : has')).toEqual({ text: 'erDiagram\n  A ||--o{ B : has', unwrapped: false });
  });
});

describe('bad input is refused with a clear error and nothing stored', () => {
  it('an unknown kind, empty requirements, an unknown model', async () => {
    await expectRefused({ ...request(), kind: 'poem' }, 'invalid_arguments', /args\.kind/, /kind/i);
    await expectRefused(request({ requirements: '   ' }), 'invalid_arguments', /args\.requirements/, /empty/);
    await expectRefused(request({ model: { provider: 'local', modelId: 9999 } }), 'not_found', undefined, /9999/);
  });

  it('requirements longer than the context: refused with the token counts, not cut', async () => {
    await expectRefused(request({ requirements: 'customers place many orders '.repeat(200), contextSize: 256 }), 'invalid_arguments', /args\.requirements/, /tokens.*context holds 256/);
  });

  it('a model file that vanished', async () => {
    const copy = join(fixtures.dir, 'vanishing.gguf');
    copyFileSync(modelPath, copy);
    const gone = await core.services.models.import({ path: copy });
    rmSync(copy);
    await expectRefused(request({ model: { provider: 'local', modelId: gone.id } }), 'not_found', /args\.model\.modelId/, /gone/);
  });

  it('an adapter made for another base, a file that is no adapter, a missing adapter', async () => {
    const wide = fixtures.model('f32-wide', { type: 'f32', nEmbd: 128, nHead: 4, nHeadKv: 2 }).spec;
    const foreign = fixtures.adapter('foreign', wide, ['attn_q']);
    await expectRefused(request({ model: { provider: 'local', modelId, adapterPath: foreign } }), 'invalid_arguments', /adapterPath/, /another base model.*lora_a/);
    await expectRefused(request({ model: { provider: 'local', modelId, adapterPath: modelPath } }), 'invalid_arguments', /adapterPath/, /no LoRA adapter/);
    const text = join(fixtures.dir, 'notes.txt');
    writeFileSync(text, 'not a gguf');
    await expectRefused(request({ model: { provider: 'local', modelId, adapterPath: text } }), 'invalid_arguments', /adapterPath/, /not a GGUF/);
    await expectRefused(request({ model: { provider: 'local', modelId, adapterPath: join(fixtures.dir, 'none.gguf') } }), 'not_found', /adapterPath/, /does not exist/);
  });

  it('a broken prompt template in the data folder names its file and line', async () => {
    const dir = join(dataDir.path, 'prompts');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'code.md'), 'A system message\n---\nno slot here\n');
    try {
      await expectRefused(request(), 'invalid_arguments', undefined, /prompts\/code\.md:3: .*\{\{requirements\}\}/);
    } finally {
      rmSync(join(dir, 'code.md'));
    }
  });
});

describe('a model the machine cannot hold', () => {
  it('is refused before loading, with the estimate and what would fit (stand-in probe: a 1 GB machine without a GPU)', async () => {
    const small = makeTempDir('architect-generation-small-');
    const real = await core.connect().api.system.hardware({});
    const machine = await createCore({ dataDir: small.path, hardware: async () => ({ ...real, gpus: [], compute: { ...real.compute, backend: 'cpu', vram: null }, memory: { totalBytes: 1e9, freeBytes: 5e8 } }) });
    try {
      const id = (await machine.services.models.import({ path: modelPath })).id;
      const error = await machine.connect().api.generation.generate(request({ model: { provider: 'local', modelId: id } })).catch((e: unknown) => e as { code: string; message: string });
      expect(error).toMatchObject({ code: 'unavailable' });
      expect((error as { message: string }).message).toMatch(/does not fit this machine: needs [\d.]+ (GB|MB).*Download a smaller model/);
      expect(machine.services.generation.host.loads).toBe(0);
      expect(machine.services.artifacts.list().total).toBe(0);
    } finally {
      await machine.dispose();
      small.remove();
    }
  });
});

describe('Ollama as a second provider (stand-in server: no Ollama runs here)', () => {
  it('generates through the stand-in, streamed, and stores the artifact', async () => {
    const standIn = await OllamaStandIn.start();
    try {
      const api = core.connect().api;
      await api.generation.setSettings({ ollamaHost: standIn.host });
      const status = await api.models.ollama({});
      expect(status.reachable).toBe(true);
      const name = status.models[0]!.name;
      const client = core.connect();
      const args = request({ kind: 'erd', model: { provider: 'ollama', model: name } });
      const chunks: string[] = [];
      const off = client.on('generation.chunk', (c) => c.generationId === args.generationId && chunks.push(c.text));
      const result = await client.api.generation.generate(args);
      off();
      expect(chunks.length).toBeGreaterThan(1);
      expect(result.generation).toMatchObject({ provider: 'ollama', modelName: `ollama:${name}`, modelId: null });
      // The erd template reached the server as the system and user messages.
      const sent = standIn.requests.find((r) => r.path === '/api/chat');
      expect(JSON.stringify(sent?.body)).toContain('erDiagram');
    } finally {
      await standIn.close();
      await core.connect().api.generation.setSettings({ ollamaHost: 'http://127.0.0.1:11434' });
    }
  });
});

describe('training and generation share one rendering', () => {
  it('an adapter trained by `architect finetune` to memorise completions is reproduced by `architect generate --adapter` from the prompts alone', () => {
    const cliData = makeTempDir('architect-generation-cli-');
    try {
      const data = join(fixtures.dir, 'memorise-kinds.jsonl');
      const examples = MEMORISE.map((e, i) => ({ ...e, kind: (['erd', 'api-doc', 'flowchart'] as const)[i]! }));
      writeFileSync(data, examples.map((e) => JSON.stringify(e)).join('\n') + '\n');
      const adapter = join(fixtures.dir, 'memorised-kinds.gguf');
      const train = runCli(['finetune', '--data-dir', cliData.path, '--model', modelPath, '--data', data, '--out', adapter, '--epochs', '40', '--lr', '1e-2', '--batch-size', '3', '--rank', '16', '--alpha', '32', '--dropout', '0', '--val-split', '0', '--schedule', 'constant', '--threads', '1']);
      expect(train.stderr).not.toMatch(/error/i);
      expect(train.status).toBe(0);
      for (const example of examples) {
        const run = runCli(['generate', '--data-dir', cliData.path, '--model', modelPath, '--adapter', adapter, '--kind', example.kind, '--prompt', example.prompt, '--temperature', '0', '--max-tokens', '40', '--threads', '1', '--json']);
        expect(run.status, run.stderr).toBe(0);
        const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; text?: string; artifact?: { output: string } });
        const streamed = lines.filter((l) => l.type === 'chunk').map((l) => l.text).join('');
        expect(streamed).toBe(example.completion);
        expect(lines.at(-1)!.artifact!.output).toBe(example.completion);
      }
    } finally {
      cliData.remove();
    }
  }, 240_000);
});
