// Publishing a version to Ollama (electron/core/versions/publish.ts) against the Ollama stand-in
// (tests/helpers/ollamaStandIn.ts): the real server cannot run here, so a local HTTP server speaks the part of
// Ollama's REST API publishing uses (version, blobs, create), hashing what it receives as Ollama does. The chat
// templates are checked on tiny GGUF files with real vocabularies and chat templates, read by node-llama-cpp.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import type { Llama } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OllamaProvider } from '../../electron/core/ollama';
import { ADAPTER_ROUTE_REMOVED_VERSION, MERGED_ROUTE_MIN_VERSION, ollamaChatFor, publishToOllama } from '../../electron/core/versions/publish';
import type { OllamaChat, PublishProgress, PublishRequest } from '../../electron/core/versions/publish';
import { AppError } from '../../shared/errors';
import { ValueType } from '../helpers/gguf/format';
import type { MetaValue } from '../helpers/gguf/format';
import { readGgufHeader } from '../helpers/gguf/reader';
import { writeGguf } from '../helpers/gguf/writer';
import { closedPort, standInsPerTest } from '../helpers/ollamaStandIn';
import type { CreateRequestBody, OllamaStandIn } from '../helpers/ollamaStandIn';
import { makeTempDir } from '../helpers/tempDir';
import { vocabPath, writeTinyAdapter, writeTinyModel } from '../helpers/tinyModel';

// Ollama's own templates (template/llama3-instruct.gotmpl, template/chatml.gotmpl of ollama/ollama).
const OLLAMA_LLAMA3 =
  '{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>\n{{- end }}<|start_header_id|>assistant<|end_header_id|>\n\n';
const OLLAMA_CHATML = '{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n';

// Chat templates as the models' GGUF files carry them (tokenizer.chat_template).
const JINJA = {
  llama3:
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}",
  // The tool-free core of Llama 3.1's: the system message always opens with the knowledge and today's date.
  llama31:
    "{{- bos_token }}{%- if not date_string is defined %}{%- set date_string = \"26 Jul 2024\" %}{%- endif %}{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}{%- set messages = messages[1:] %}{%- else %}{%- set system_message = \"\" %}{%- endif %}{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}{{- \"Cutting Knowledge Date: December 2023\\n\" }}{{- \"Today Date: \" + date_string + \"\\n\\n\" }}{{- system_message }}{{- \"<|eot_id|>\" }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}",
  gemma:
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}",
  phi3: "{{ bos_token }}{% for message in messages %}{{'<|' + message['role'] + '|>' + '\n' + message['content'] + '<|end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}",
  llama2:
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content | trim + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content | trim + ' ' + eos_token }}{% endif %}{% endfor %}",
  // Mistral 7B Instruct v0.1's: no system role, so node-llama-cpp folds the system text into the user turn.
  mistral01:
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}",
  // A format of no family Ollama is given here.
  plain: "{% for message in messages %}{{ message['role'] + ': ' + message['content'] + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}",
  deepseek:
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] }}{% endif %}{% for message in messages %}{% if message['role'] == 'user' %}{{ '<｜User｜>' + message['content'] }}{% elif message['role'] == 'assistant' %}{{ '<｜Assistant｜>' + message['content'] + '<｜end▁of▁sentence｜>' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<｜Assistant｜>' }}{% endif %}",
};

const dir = makeTempDir('architect-publish-');
let llama: Llama;

/**
 * A tiny GGUF with a real vocabulary (one of llama.cpp's vocab files: its tokenizer and header) and the given
 * chat template (null: none), holding one small tensor: enough for node-llama-cpp to read it vocabulary-only.
 */
function writeChatModel(name: string, vocab: string, chatTemplate: string | null, generalName?: string): string {
  const metadata = new Map<string, MetaValue>(readGgufHeader(vocabPath(vocab)).metadata);
  metadata.delete('tokenizer.chat_template');
  if (chatTemplate !== null) metadata.set('tokenizer.chat_template', { type: ValueType.String, value: chatTemplate });
  metadata.set('general.name', { type: ValueType.String, value: generalName ?? `tiny ${name}` });
  const weights = new Float32Array(4 * 32).map((_, i) => Math.sin(i));
  const path = join(dir.path, `${name}.gguf`);
  writeGguf(path, metadata, [{ name: 'token_embd.weight', dims: [4, 32], typeId: 0, data: new Uint8Array(weights.buffer) }]);
  return path;
}

const sha256 = (path: string) => `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;

const models: Record<'llama3' | 'llama31' | 'chatml', string> = { llama3: '', llama31: '', chatml: '' };
let base: { path: string };
let adapter: string;

beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.disabled });
  models.llama3 = writeChatModel('llama3', 'llama-bpe', JINJA.llama3);
  models.llama31 = writeChatModel('llama31', 'llama-bpe', JINJA.llama31);
  // The qwen2 vocabulary file carries Qwen2's own ChatML template: written back as it is.
  const qwen = readGgufHeader(vocabPath('qwen2')).metadata.get('tokenizer.chat_template');
  if (qwen?.type !== ValueType.String) throw new Error('the qwen2 vocabulary has no chat template');
  models.chatml = writeChatModel('qwen', 'qwen2', qwen.value);
  // A tiny llama model (the llama-spm vocabulary, no chat template) and a LoRA adapter for it.
  base = { path: join(dir.path, 'base.gguf') };
  const spec = writeTinyModel(base.path, { type: 'f32', nEmbd: 16, nFf: 32, tiedOutput: true }, (_type, data) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  adapter = join(dir.path, 'v2.lora.gguf');
  writeTinyAdapter(adapter, spec, { rank: 2, alpha: 4, targets: ['attn_q', 'attn_v'] });
}, 180_000);

afterAll(async () => {
  await llama?.dispose();
  dir.remove();
});

/** Each test's stand-ins are closed after it. */
const standIn = standInsPerTest();

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

/** What ollamaChatFor gives for the Llama 3 model (the first test below). */
const LLAMA3_CHAT: OllamaChat = { template: OLLAMA_LLAMA3, stop: ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'], parameters: {}, family: 'llama3' };

function request(server: OllamaStandIn, overrides: Partial<PublishRequest> = {}): PublishRequest & { events: PublishProgress[] } {
  const events: PublishProgress[] = [];
  return { host: server.host, name: 'architect-erd:v3', route: 'merged', modelPath: models.llama3, chat: LLAMA3_CHAT, onProgress: (p) => events.push(p), events, ...overrides };
}

const createBody = (server: OllamaStandIn) => server.requestsTo('/api/create', 'POST')[0]?.body as CreateRequestBody | undefined;

describe('ollamaChatFor: the Ollama template that frames prompts as training does', () => {
  it("gives Ollama's Llama 3 template and stop words for a Llama 3 base", async () => {
    expect(await ollamaChatFor(models.llama3, { llama })).toEqual(LLAMA3_CHAT);
  }, 90_000);

  it("gives Ollama's ChatML template for Qwen (ChatML), with its stop words", async () => {
    expect(await ollamaChatFor(models.chatml, { llama })).toEqual({ template: OLLAMA_CHATML, stop: ['<|im_start|>', '<|im_end|>'], parameters: {}, family: 'chatml' });
  }, 90_000);

  it("keeps Llama 3.1's fixed system header (its dates) in the template, where training has it", async () => {
    const chat = await ollamaChatFor(models.llama31, { llama });
    expect(chat.family).toBe('llama3');
    expect(chat.template).toBe(
      '{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ if eq .Role "system" }}Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n{{ end }}{{ .Content }}<|eot_id|>\n{{- end }}<|start_header_id|>assistant<|end_header_id|>\n\n',
    );
  }, 90_000);

  it('recognises Gemma, Phi-3, Llama 2, Mistral and DeepSeek bases', async () => {
    const cases = [
      { file: writeChatModel('gemma', 'llama-spm', JINJA.gemma), family: 'gemma', stop: '<end_of_turn>', frame: '<start_of_turn>user\n{{ if $system }}{{ $system }}\n\n---\n\n' },
      { file: writeChatModel('phi3', 'phi-3', JINJA.phi3), family: 'phi3', stop: '<|end|>', frame: '<|{{ .Role }}|>\n{{ .Content }}<|end|>' },
      { file: writeChatModel('llama2', 'llama-spm', JINJA.llama2), family: 'llama2', stop: '[/INST]', frame: '<<SYS>>' },
      { file: writeChatModel('mistral', 'llama-spm', null, 'Mistral 7B Instruct v0.3'), family: 'mistral', stop: '[INST]', frame: '[INST]{{ if and $.System' },
      { file: writeChatModel('deepseek', 'deepseek-llm', JINJA.deepseek), family: 'deepseek', stop: '<｜User｜>', frame: '<｜User｜>{{ .Content }}' },
    ];
    for (const c of cases) {
      const chat = await ollamaChatFor(c.file, { llama });
      expect(chat.family, c.file).toBe(c.family);
      expect(chat.stop).toContain(c.stop);
      expect(chat.template).toContain(c.frame);
    }
  }, 180_000);

  it("refuses a base whose training framing Ollama's template for its family would not reproduce, showing both", async () => {
    const file = writeChatModel('mistral01', 'llama-spm', JINJA.mistral01);
    const error = await rejection(ollamaChatFor(file, { llama }));
    expect(error.code).toBe('invalid_arguments');
    expect(error.message).toContain('mistral01.gguf is trained with prompts framed as "[INST] ### System message\\n\\n{system}\\n\\n----\\n\\n{user} [/INST]"');
    expect(error.message).toContain(`but Ollama's Mistral ([INST]) template frames them as "[INST]{system}\\n\\n{user}[/INST]"`);
    expect(error.message).toMatch(/Give an explicit Ollama template that renders the first\.$/);
  }, 90_000);

  it('refuses a chat format it does not know, listing those it does, unless a template is given', async () => {
    const file = writeChatModel('plain', 'llama-spm', JINJA.plain);
    const error = await rejection(ollamaChatFor(file, { llama }));
    expect(error.code).toBe('invalid_arguments');
    expect(error.message).toMatch(/^plain\.gguf is trained with prompts framed as "system: \{system\}\\nuser: \{user\}\\nassistant: " \(node-llama-cpp's [A-Za-z ]+ chat format\), which is none of those Ollama can be given here: /);
    expect(error.message).toContain('Llama 3 (<|start_header_id|>), ChatML, as Qwen (<|im_start|>), Gemma (<start_of_turn>), Phi-3 (<|user|>), DeepSeek (<｜User｜>), Llama 2 ([INST] <<SYS>>), Mistral ([INST])');
    expect(error.message).toMatch(/Give an explicit Ollama template for it\.$/);

    const template = '{{ range .Messages }}{{ .Role }}: {{ .Content }}\n{{ end }}assistant: ';
    expect(await ollamaChatFor(file, { template, stop: ['user:'] })).toEqual({ template, stop: ['user:'], parameters: {}, family: 'explicit' });
  }, 90_000);

  it('refuses what is no base model, and reads the vocabulary with its own runtime when given none', async () => {
    const missing = await rejection(ollamaChatFor(join(dir.path, 'nothing.gguf'), { llama }));
    expect(missing.code).toBe('not_found');
    const adapterError = await rejection(ollamaChatFor(adapter, { llama }));
    expect(adapterError.message).toContain('it is a LoRA adapter, not a base model');
    // The tiny llama base has no chat template: node-llama-cpp trains it in Llama 2's format (its BOS is <s>).
    expect((await ollamaChatFor(base.path)).family).toBe('llama2');
  }, 90_000);
});

describe('publishToOllama (against the Ollama stand-in)', () => {
  it('uploads the GGUF as a blob whose digest matches the file, and creates the model with the template and stop words', async () => {
    const server = await standIn();
    const req = request(server, { system: 'You write Mermaid ER diagrams.' });
    const result = await publishToOllama(req);

    const digest = sha256(models.llama3);
    expect(result).toEqual({ name: 'architect-erd:v3', digest, route: 'merged', serverVersion: '0.6.5' });
    expect(server.blobs.get(digest)).toBe(readFileSync(models.llama3).length);
    const [upload] = server.requestsTo(`/api/blobs/${digest}`, 'POST');
    expect(upload!.headers['content-length']).toBe(String(readFileSync(models.llama3).length));
    expect(createBody(server)).toEqual({
      model: 'architect-erd:v3',
      stream: true,
      files: { 'llama3.gguf': digest },
      template: OLLAMA_LLAMA3,
      parameters: { stop: ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'] },
      system: 'You write Mermaid ER diagrams.',
    });
    // The order of the protocol: the version first, then the blob, then create.
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/version', `HEAD /api/blobs/${digest}`, `POST /api/blobs/${digest}`, 'POST /api/create']);
    // The app's Ollama provider now lists it.
    const status = await new OllamaProvider(() => server.host).status();
    expect(status.models.map((m) => m.name)).toContain('architect-erd:v3');
  });

  it('reports progress: hashing and uploading by bytes, each status line of create, then done', async () => {
    const server = await standIn();
    const req = request(server);
    await publishToOllama(req);
    const size = readFileSync(models.llama3).length;
    expect([...new Set(req.events.map((e) => e.phase))]).toEqual(['hashing', 'uploading', 'creating', 'done']);
    const hashing = req.events.filter((e) => e.phase === 'hashing');
    expect(hashing.at(-1)).toMatchObject({ done: size, total: size, message: 'Hashing llama3.gguf' });
    const uploading = req.events.filter((e) => e.phase === 'uploading');
    expect(uploading.at(-1)).toMatchObject({ done: size, total: size, message: 'Uploading llama3.gguf' });
    for (const events of [hashing, uploading]) expect(events.map((e) => e.done)).toEqual([...events.map((e) => e.done)].sort((a, b) => a - b));
    expect(req.events.filter((e) => e.phase === 'creating').map((e) => e.message)).toEqual([
      'Creating architect-erd:v3',
      'parsing GGUF',
      `using existing layer ${sha256(models.llama3)}`,
      expect.stringMatching(/^creating new layer sha256:/),
      expect.stringMatching(/^creating new layer sha256:/),
      'writing manifest',
      'success',
    ]);
    expect(req.events.at(-1)).toEqual({ phase: 'done', done: 1, total: 1, message: `Created architect-erd:v3 on Ollama 0.6.5 at ${server.host}` });
  });

  it('does not upload a blob the server already has', async () => {
    const server = await standIn();
    await publishToOllama(request(server));
    const again = request(server, { name: 'architect-erd:v4' });
    await publishToOllama(again);
    const digest = sha256(models.llama3);
    expect(server.requestsTo(`/api/blobs/${digest}`, 'POST')).toHaveLength(1);
    expect(server.requestsTo(`/api/blobs/${digest}`, 'HEAD')).toHaveLength(2);
    expect(server.requestsTo('/api/create', 'POST')).toHaveLength(2);
    expect(again.events).toContainEqual({ phase: 'uploading', done: 0, total: 0, message: `llama3.gguf is already on the server (${digest})` });
  });

  it('says how to start Ollama when nothing answers at the host, before reading the file', async () => {
    const host = `http://127.0.0.1:${await closedPort()}`;
    const req = { ...request(await standIn()), host };
    const error = await rejection(publishToOllama(req));
    expect(error.code).toBe('unavailable');
    expect(error.message).toBe(`No Ollama server answers at ${host}. Start it with \`ollama serve\`, or change the host on the Models page.`);
    expect(req.events).toEqual([]);
  });

  it('quotes the server when it rejects an upload whose bytes do not match the digest (the file changed)', async () => {
    const server = await standIn();
    const copy = join(dir.path, 'changing.gguf');
    writeFileSync(copy, readFileSync(models.llama3));
    const digest = sha256(copy);
    const req = request(server, { modelPath: copy });
    req.onProgress = (p) => {
      req.events.push(p);
      // Between hashing and uploading, one byte near the end changes (the size stays).
      if (p.phase === 'uploading' && req.events.filter((e) => e.phase === 'uploading').length === 1) {
        const bytes = readFileSync(copy);
        bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
        writeFileSync(copy, bytes);
      }
    };
    const error = await rejection(publishToOllama(req));
    expect(error.code).toBe('unavailable');
    expect(error.message).toMatch(
      new RegExp(`^Ollama at ${server.host} refused changing\\.gguf: what it received does not hash to ${digest} \\(HTTP 400: "digest mismatch, expected "${digest}", got "sha256:[0-9a-f]{64}""\\)\\. Did the file change while it was published\\? Publish again\\.$`),
    );
    expect(server.blobs.size).toBe(0);
    expect(server.requestsTo('/api/create')).toHaveLength(0);

    // A file cut short between hashing and uploading never reaches the server whole.
    writeFileSync(copy, readFileSync(models.llama3));
    const shrinking = request(server, { modelPath: copy });
    shrinking.onProgress = (p) => {
      if (p.phase === 'uploading' && p.done === 0) writeFileSync(copy, readFileSync(models.llama3).subarray(0, 1000));
    };
    const short = await rejection(publishToOllama(shrinking));
    expect(short.message).toBe(`${copy} got shorter while it was uploaded (it had ${readFileSync(models.llama3).length} bytes when hashed). Is something still writing it? Publish again once it is done.`);
    expect(server.blobs.size).toBe(0);
  });

  it('says the disk is full when the server cannot store the upload', async () => {
    const server = await standIn({ blobFailure: 'disk-full' });
    const error = await rejection(publishToOllama(request(server)));
    expect(error.code).toBe('unavailable');
    expect(error.message).toContain(`Ollama at ${server.host} could not store llama3.gguf (HTTP 500: "write /root/.ollama/models/blobs/sha256-`);
    expect(error.message).toContain('no space left on device"). Its disk looks full: free space where Ollama keeps models (OLLAMA_MODELS, by default ~/.ollama/models), then publish again.');
    expect(server.requestsTo('/api/create')).toHaveLength(0);
  });

  it("quotes Ollama's error when create fails part way, and when it refuses the request", async () => {
    const server = await standIn({ createError: 'unsupported architecture "tinyllama"' });
    const failed = await rejection(publishToOllama(request(server)));
    expect(failed.code).toBe('unavailable');
    expect(failed.message).toBe(`Ollama at ${server.host} could not create "architect-erd:v3": "unsupported architecture "tinyllama"".`);
    expect((await new OllamaProvider(() => server.host).status()).models.map((m) => m.name)).not.toContain('architect-erd:v3');

    server.settings.createError = null;
    const refused = await rejection(publishToOllama(request(server, { name: 'Not A Name!' })));
    expect(refused.message).toBe(`Ollama at ${server.host} refused to create "Not A Name!" (HTTP 400: "invalid model name").`);
  });

  it(`refuses the adapter route on Ollama ${ADAPTER_ROUTE_REMOVED_VERSION} and later, sending nothing`, async () => {
    for (const version of [ADAPTER_ROUTE_REMOVED_VERSION, '0.35.2']) {
      const server = await standIn({ version });
      const req = request(server, { route: 'adapter', modelPath: base.path, adapterPath: adapter });
      const error = await rejection(publishToOllama(req));
      expect(error.code).toBe('invalid_arguments');
      expect(error.field).toBe('route');
      expect(error.message).toBe(
        `Ollama ${version} at ${server.host} no longer creates a model from a LoRA adapter (Ollama 0.34.1 and later refuse it). Publish the merged version instead: it runs on any Ollama from ${MERGED_ROUTE_MIN_VERSION} on.`,
      );
      expect(server.requests.map((r) => r.path)).toEqual(['/api/version']);
    }
    const dev = await standIn({ version: '0.0.0' });
    const unknown = await rejection(publishToOllama(request(dev, { route: 'adapter', modelPath: base.path, adapterPath: adapter })));
    expect(unknown.message).toContain('reports version "0.0.0", so it cannot be told whether it still creates a model from a LoRA adapter');
  });

  it('uses the adapter route on an older Ollama: the base and the adapter uploaded, the adapter named in create', async () => {
    const server = await standIn({ version: '0.33.1' });
    const req = request(server, { route: 'adapter', modelPath: base.path, adapterPath: adapter });
    const result = await publishToOllama(req);
    expect(result).toEqual({ name: 'architect-erd:v3', digest: sha256(adapter), route: 'adapter', serverVersion: '0.33.1' });
    expect(server.blobs.has(sha256(base.path))).toBe(true);
    expect(server.blobs.has(sha256(adapter))).toBe(true);
    expect(createBody(server)).toMatchObject({ model: 'architect-erd:v3', files: { 'base.gguf': sha256(base.path) }, adapters: { 'v2.lora.gguf': sha256(adapter) } });
    const total = readFileSync(base.path).length + readFileSync(adapter).length;
    expect(req.events.filter((e) => e.phase === 'hashing').at(-1)).toMatchObject({ done: total, total });
  });

  it(`refuses an Ollama older than ${MERGED_ROUTE_MIN_VERSION}, which takes no uploaded files in create`, async () => {
    const server = await standIn({ version: '0.5.4' });
    const error = await rejection(publishToOllama(request(server)));
    expect(error.code).toBe('unavailable');
    expect(error.message).toBe(
      `Ollama 0.5.4 at ${server.host} is too old to create a model from an uploaded GGUF: /api/create takes uploaded files from Ollama 0.5.5 on, for the merged and the adapter route alike. Upgrade Ollama, then publish again.`,
    );
  });

  it('refuses requests that cannot be published, before asking the server', async () => {
    const server = await standIn();
    const cases: [Partial<PublishRequest>, string, string][] = [
      [{ name: ' ' }, 'name', 'Give the Ollama model a name'],
      [{ route: 'adapter' }, 'adapterPath', 'The adapter route needs the adapter GGUF'],
      [{ adapterPath: adapter }, 'adapterPath', 'The merged route uploads one standalone GGUF'],
      [{ chat: { ...LLAMA3_CHAT, template: '' } }, 'chat.template', 'The chat template is empty'],
    ];
    for (const [overrides, field, message] of cases) {
      const error = await rejection(publishToOllama(request(server, overrides)));
      expect(error).toMatchObject({ code: 'invalid_arguments', field });
      expect(error.message).toContain(message);
    }
    expect(server.requests).toHaveLength(0);

    const notFound = await rejection(publishToOllama(request(server, { modelPath: join(dir.path, 'gone.gguf') })));
    expect(notFound).toMatchObject({ code: 'not_found', field: 'modelPath' });
    const text = join(dir.path, 'notes.gguf');
    writeFileSync(text, 'not a model');
    const notGguf = await rejection(publishToOllama(request(server, { modelPath: text })));
    expect(notGguf.message).toBe(`${text} is not a GGUF file (it does not start with "GGUF"); Ollama creates models from GGUF files.`);
  });

  it('stops on abort: during the upload, during create, and before the start', async () => {
    const uploadServer = await standIn();
    const controller = new AbortController();
    const uploading = request(uploadServer, { signal: controller.signal });
    uploading.onProgress = (p) => {
      uploading.events.push(p);
      if (p.phase === 'uploading') controller.abort();
    };
    const stopped = await rejection(publishToOllama(uploading));
    expect(stopped.code).toBe('cancelled');
    expect(stopped.message).toBe(`Publishing architect-erd:v3 to Ollama at ${uploadServer.host} was stopped.`);
    expect(uploadServer.blobs.size).toBe(0);
    expect(uploadServer.requestsTo('/api/create')).toHaveLength(0);

    const slowCreate = await standIn({ createStepDelayMs: 300 });
    const later = new AbortController();
    const creating = request(slowCreate, { signal: later.signal });
    creating.onProgress = (p) => {
      creating.events.push(p);
      if (p.message === 'parsing GGUF') later.abort();
    };
    const started = performance.now();
    expect((await rejection(publishToOllama(creating))).code).toBe('cancelled');
    expect(performance.now() - started).toBeLessThan(2000);
    const [create] = slowCreate.requestsTo('/api/create', 'POST');
    expect(await create!.finished).toBe('client-closed');
    expect((await new OllamaProvider(() => slowCreate.host).status()).models.map((m) => m.name)).not.toContain('architect-erd:v3');

    const idle = await standIn();
    expect((await rejection(publishToOllama(request(idle, { signal: AbortSignal.abort() })))).code).toBe('cancelled');
    expect(idle.requests).toHaveLength(0);
  });
});
