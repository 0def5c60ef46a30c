// Exporting and publishing a trained version through the contract (versions.export, versions.publish): a version
// the supervisor wrote on a tiny model with a Llama 2 chat template, the export child process, and the Ollama
// stand-in (tests/helpers/ollamaStandIn.ts: the real server cannot run here) for publishing.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Trainer } from '../../native/index';
import { createCore } from '../../electron/core/services';
import type { Core } from '../../electron/core/services';
import type { OperationProgress, Version } from '../../shared/contract/versions';
import { datasetWorker } from '../helpers/datasets';
import { testLlama } from '../helpers/llamaReference';
import { OllamaStandIn } from '../helpers/ollamaStandIn';
import type { CreateRequestBody } from '../helpers/ollamaStandIn';
import { makeTempDir } from '../helpers/tempDir';
import { writeTinyModel } from '../helpers/tinyModel';

const TRAINER = fileURLToPath(new URL('../../out/workers/trainer.js', import.meta.url));
const EXPORTER = fileURLToPath(new URL('../../out/workers/export.js', import.meta.url));
const LLAMA2_TEMPLATE =
  "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content | trim + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content | trim + ' ' + eos_token }}{% endif %}{% endfor %}";

const dir = makeTempDir('architect-version-ops-');
let core: Core;
let version: Version;
let ollama: OllamaStandIn;
const progress: OperationProgress[] = [];
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (e: { code: string; field?: string; message: string }) => e);

beforeAll(async () => {
  for (const file of [TRAINER, EXPORTER]) if (!existsSync(file)) throw new Error(`${file} is not built: run \`npm run build\` (npm test does).`);
  const trainer = Trainer.forLlama(await testLlama());
  const modelPath = join(dir.path, 'tiny-chat.gguf');
  writeTinyModel(modelPath, { type: 'f16', tiedOutput: true, chatTemplate: LLAMA2_TEMPLATE }, (type, values, row) => trainer.quantize(type, values, row));
  ollama = await OllamaStandIn.start();
  core = await createCore({
    dataDir: join(dir.path, 'data'),
    runJobs: true,
    datasetWorkerFile: await datasetWorker(),
    exportEntry: EXPORTER,
    supervisor: { pollMs: 50, jobDefaults: { threads: 1 }, trainerEntry: TRAINER },
  });
  core.connect().on('versions.progress', (p) => progress.push(p));
  const api = core.connect().api;
  const modelId = (await core.services.models.import({ path: modelPath })).id;
  const bytes = Buffer.from(`${JSON.stringify({ prompt: 'ERD for a blog', completion: 'erDiagram\n  POST ||--o{ COMMENT : has', kind: 'erd' })}\n`);
  const { uploadId } = await api.datasets.beginUpload({ fileName: 'blog.jsonl', size: bytes.length });
  await api.datasets.uploadChunk({ uploadId, offset: 0, data: bytes.toString('base64') });
  const outcome = await api.datasets.importUpload({ uploadId, name: 'blog', validationShare: 0 });
  if (outcome.status === 'refused') throw new Error(outcome.reason);
  const job = await api.training.start({ modelId, datasetId: outcome.dataset.id, config: { epochs: 2, batchSize: 1, rank: 4, alpha: 8, valSplit: 0, maxLength: 256 } });
  for (let i = 0; ; i++) {
    const j = core.services.supervisor.get(job.id);
    if (j.status === 'succeeded') break;
    if (['failed', 'cancelled', 'paused'].includes(j.status) || i > 2400) throw new Error(`the job ended ${j.status}: ${j.message}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  version = (await api.versions.list({})).versions[0]!;
}, 240_000);

afterAll(async () => {
  await core?.dispose();
  await ollama?.close();
  dir.remove();
});

describe('versions.export', () => {
  it('writes the adapter alone, and merged into its base, atomically, with progress', async () => {
    const api = core.connect().api;
    const out = makeTempDir('architect-export-out-');
    try {
      const adapter = await api.versions.export({ versionId: version.id, merged: false, outPath: join(out.path, 'adapter.gguf'), operationId: 'export-adapter-1' });
      expect(adapter).toMatchObject({ path: join(out.path, 'adapter.gguf'), sha256: version.adapterSha256 });
      expect(sha256(adapter.path)).toBe(version.adapterSha256);
      const merged = await api.versions.export({ versionId: version.id, merged: true, outPath: join(out.path, 'merged.gguf'), operationId: 'export-merged-1' });
      expect(sha256(merged.path)).toBe(merged.sha256);
      expect(merged.bytes).toBe(readFileSync(merged.path).length);
      expect(readdirSync(out.path).sort()).toEqual(['adapter.gguf', 'merged.gguf']);
      const phases = progress.filter((p) => p.operationId === 'export-merged-1').map((p) => p.phase);
      expect(phases).toContain('merging');
      expect(phases.at(-1)).toBe('done');
    } finally {
      out.remove();
    }
  }, 120_000);

  it('an export to a folder that is not there, or of an unknown version, fails clearly and leaves the registry as it was', async () => {
    const api = core.connect().api;
    const before = await api.versions.list({});
    expect(await failure(api.versions.export({ versionId: version.id, merged: true, outPath: join(dir.path, 'no-such-folder', 'x.gguf'), operationId: 'export-missing-1' }))).toMatchObject({
      code: 'not_found',
      field: 'args.outPath',
    });
    expect(existsSync(join(dir.path, 'no-such-folder'))).toBe(false);
    expect(await failure(api.versions.export({ versionId: 999, merged: false, outPath: join(dir.path, 'x.gguf'), operationId: 'export-missing-2' }))).toMatchObject({ code: 'not_found', field: 'args.versionId' });
    expect(await api.versions.list({})).toEqual(before);
  }, 60_000);
});

describe('versions.publish', () => {
  it('uploads the merged GGUF as a blob whose digest matches the file, then creates architect-erd:v1 with the base’s chat template', async () => {
    const api = core.connect().api;
    const out = makeTempDir('architect-publish-out-');
    try {
      const merged = await api.versions.export({ versionId: version.id, merged: true, outPath: join(out.path, 'merged.gguf'), operationId: 'publish-ref-1' });
      const published = await api.versions.publish({ versionId: version.id, host: ollama.host, operationId: 'publish-1' });
      expect(published).toMatchObject({ name: 'architect-erd:v1', route: 'merged', digest: `sha256:${merged.sha256}` });
      expect(ollama.blobs.get(`sha256:${merged.sha256}`)).toBe(merged.bytes);
      const create = ollama.requests.find((r) => r.path === '/api/create')!.body as CreateRequestBody;
      expect(create.model).toBe('architect-erd:v1');
      expect(Object.values(create.files ?? {})).toEqual([`sha256:${merged.sha256}`]);
      expect(create.template).toEqual(expect.stringContaining('[INST]'));
      expect(progress.filter((p) => p.operationId === 'publish-1').map((p) => p.phase)).toEqual(expect.arrayContaining(['merging', 'uploading', 'creating', 'done']));
      // The merged file made for the upload is not left behind.
      expect(readdirSync(join(core.dataDir, 'exports'))).toEqual([]);
    } finally {
      out.remove();
    }
  }, 120_000);

  it('a server that is down, or too old for the merged route, is a clear error; nothing is left behind', async () => {
    const api = core.connect().api;
    const down = await OllamaStandIn.start();
    const host = down.host;
    await down.close();
    expect(await failure(api.versions.publish({ versionId: version.id, host, operationId: 'publish-down-1' }))).toMatchObject({ message: expect.stringMatching(/No Ollama server answers at/) });
    const old = await OllamaStandIn.start({ version: '0.5.0' });
    try {
      expect(await failure(api.versions.publish({ versionId: version.id, host: old.host, operationId: 'publish-old-1' }))).toMatchObject({ message: expect.stringMatching(/0\.5\.0/) });
      expect(old.requests.some((r) => r.path.startsWith('/api/blobs'))).toBe(false);
    } finally {
      await old.close();
    }
    expect(readdirSync(join(core.dataDir, 'exports'))).toEqual([]);
    expect(await failure(api.versions.publish({ versionId: version.id, name: 'Not A Name', operationId: 'publish-bad-1' }))).toMatchObject({ code: 'invalid_arguments', field: 'args.name' });
  }, 120_000);
});
