// The Ollama provider against a stand-in for the Ollama server (tests/helpers/ollamaStandIn.ts): the real
// server cannot run here, so a local HTTP server speaks the part of Ollama's REST API the app uses.
import { describe, expect, it } from 'vitest';
import { OllamaProvider } from '../../electron/core/ollama';
import type { OllamaGenerateRequest } from '../../electron/core/ollama';
import { closedPort, STAND_IN_MODELS, standInsPerTest } from '../helpers/ollamaStandIn';
import type { ChatRequestBody } from '../helpers/ollamaStandIn';
import { AppError } from '../../shared/errors';
import { OllamaStatus } from '../../shared/contract/models';



/** Each test's stand-ins are closed after it. */
const standIn = standInsPerTest();

const sampling = { temperature: 0.3, topP: 0.85, maxTokens: 256, seed: 1234 };

function request(overrides: Partial<OllamaGenerateRequest> = {}): OllamaGenerateRequest & { chunks: string[] } {
  const chunks: string[] = [];
  return { model: 'codellama:7b', system: 'You write Mermaid ERDs.', user: 'Users place orders.', sampling, onChunk: (t) => chunks.push(t), chunks, ...overrides };
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe('OllamaProvider.status (against the Ollama stand-in)', () => {
  it('lists the models and the version of a server that answers', async () => {
    const server = await standIn();
    const status = await new OllamaProvider(() => server.host).status();
    expect(OllamaStatus.parse(status)).toEqual(status);
    expect(status).toEqual({
      host: server.host,
      reachable: true,
      version: '0.6.5',
      error: null,
      models: [
        { name: 'codellama:7b', sizeBytes: 3_825_819_519, family: 'llama', parameterSize: '7B', quantization: 'Q4_0' },
        { name: 'llama3.2:latest', sizeBytes: 2_019_393_189, family: 'llama', parameterSize: '3.2B', quantization: 'Q4_K_M' },
      ],
    });
    expect(server.requestsTo('/api/version', 'GET')).toHaveLength(1);
    expect(server.requestsTo('/api/tags', 'GET')).toHaveLength(1);
  });

  it('reads the host on every call', async () => {
    const first = await standIn({ version: '0.6.1' });
    const second = await standIn({ version: '0.6.2', models: [] });
    let host = first.host;
    const provider = new OllamaProvider(() => host);
    expect((await provider.status()).version).toBe('0.6.1');
    host = second.host;
    expect(await provider.status()).toMatchObject({ host: second.host, version: '0.6.2', models: [] });
  });

  it('says how to start the server when nothing answers, well within the timeout', async () => {
    const host = `http://127.0.0.1:${await closedPort()}`;
    const started = performance.now();
    const status = await new OllamaProvider(() => host).status();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(status).toEqual({
      host,
      reachable: false,
      version: null,
      models: [],
      error: `No Ollama server answers at ${host}. Start it with \`ollama serve\`, or change the host on the Models page. Local models keep working.`,
    });
  });

  it('gives up on a slow server after the timeout', async () => {
    const server = await standIn({ responseDelayMs: 10_000 });
    const started = performance.now();
    const status = await new OllamaProvider(() => server.host, { timeoutMs: 300 }).status();
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1500);
    expect(status.reachable).toBe(false);
    expect(status.error).toBe(`The server at ${server.host} did not answer within 300 ms. Is Ollama busy, or is the host on the Models page wrong? Local models keep working.`);
  });

  it('explains a server that answers a web page instead of JSON, without throwing', async () => {
    const server = await standIn({ garbage: 'not-json' });
    const status = await new OllamaProvider(() => server.host).status();
    expect(status).toMatchObject({ host: server.host, reachable: false, version: null, models: [] });
    expect(status.error).toMatch(new RegExp(`^The server at ${server.host} answered the status request, but not as an Ollama server does \\(HTTP 200, text/html`));
    expect(status.error).toMatch(/Check the host on the Models page\. Local models keep working\.$/);
  });

  it('explains JSON of the wrong shape, naming the field, without throwing', async () => {
    const server = await standIn({ garbage: 'wrong-shape' });
    const status = await new OllamaProvider(() => server.host).status();
    expect(status.reachable).toBe(false);
    expect(status.error).toMatch(/not as an Ollama server does \(GET \/api\/(version: version: missing \(string expected\)|tags: models\.0\.name: .*)\)\. /);
    expect(status.error).not.toMatch(/TypeError/);
  });

  it('refuses a host that is not an address, as a setting to fix', async () => {
    const status = await new OllamaProvider(() => 'ftp://example.org').status();
    expect(status).toMatchObject({ reachable: false, models: [] });
    expect(status.error).toMatch(/^The Ollama host "ftp:\/\/example.org" is not an http:\/\/ or https:\/\/ address/);
  });
});

describe('OllamaProvider.generate (against the Ollama stand-in)', () => {
  it('streams the chunks in order and returns the counts, timings and digest', async () => {
    const server = await standIn({ reply: () => ['erDiagram\n', '  USER', ' ||--o{', ' ORDER : places'] });
    const req = request();
    const result = await new OllamaProvider(() => server.host).generate(req);
    expect(req.chunks).toEqual(['erDiagram\n', '  USER', ' ||--o{', ' ORDER : places']);
    expect(result).toMatchObject({
      text: 'erDiagram\n  USER ||--o{ ORDER : places',
      outputTokens: 4,
      finish: 'stop',
      digest: STAND_IN_MODELS[0]!.digest,
    });
    // The stand-in counts 4 per message plus its words: (4 + 4) + (4 + 3).
    expect(result.promptTokens).toBe(15);
    expect(result.firstTokenMs).not.toBeNull();
    expect(result.firstTokenMs!).toBeLessThanOrEqual(result.durationMs);
  });

  it('sends the messages and maps the sampling settings to Ollama options', async () => {
    const server = await standIn();
    await new OllamaProvider(() => server.host).generate(request());
    const [chat] = server.requestsTo('/api/chat', 'POST');
    expect(chat!.body).toEqual({
      model: 'codellama:7b',
      stream: true,
      messages: [
        { role: 'system', content: 'You write Mermaid ERDs.' },
        { role: 'user', content: 'Users place orders.' },
      ],
      options: { temperature: 0.3, top_p: 0.85, num_predict: 256, seed: 1234 },
    });
  });

  it("reports 'max-tokens' when Ollama's done_reason is 'length'", async () => {
    const server = await standIn();
    const req = request({ sampling: { ...sampling, maxTokens: 2 } });
    const result = await new OllamaProvider(() => server.host).generate(req);
    expect(req.chunks).toHaveLength(2);
    expect(result).toMatchObject({ finish: 'max-tokens', outputTokens: 2 });

    server.settings.doneReason = 'length';
    expect((await new OllamaProvider(() => server.host).generate(request())).finish).toBe('max-tokens');
  });

  it("stops on abort with the text so far, and the server sees the connection closed", async () => {
    const tokens = Array.from({ length: 200 }, (_, i) => `t${i} `);
    const server = await standIn({ reply: () => tokens, tokenDelayMs: 20 });
    const controller = new AbortController();
    const req = request({ signal: controller.signal });
    req.onChunk = (t) => {
      req.chunks.push(t);
      if (req.chunks.length === 3) controller.abort();
    };
    const started = performance.now();
    const result = await new OllamaProvider(() => server.host).generate(req);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(result).toMatchObject({ finish: 'stopped', text: 't0 t1 t2 ', outputTokens: 3, promptTokens: 0 });
    expect(result.digest).toBe(STAND_IN_MODELS[0]!.digest);
    const [chat] = server.requestsTo('/api/chat', 'POST');
    expect(await chat!.finished).toBe('client-closed');
    expect(chat!.tokensSent).toBeLessThan(tokens.length);
  });

  it('stops at the abort even when the next lines already arrived in the same read', async () => {
    const server = await standIn({ reply: () => Array.from({ length: 200 }, (_, i) => `t${i} `) });
    const controller = new AbortController();
    const req = request({ signal: controller.signal });
    req.onChunk = (t) => {
      req.chunks.push(t);
      controller.abort();
    };
    const result = await new OllamaProvider(() => server.host).generate(req);
    expect(req.chunks).toEqual(['t0 ']);
    expect(result).toMatchObject({ finish: 'stopped', text: 't0 ', outputTokens: 1 });
  });

  it('passes on what onChunk throws as it is', async () => {
    const server = await standIn();
    const failure = new RangeError('the window closed');
    const error = await new OllamaProvider(() => server.host)
      .generate(request({ onChunk: () => { throw failure; } }))
      .catch((e: unknown) => e);
    expect(error).toBe(failure);
  });

  it('gives unavailable for a host setting that is not an address', async () => {
    const error = await rejection(new OllamaProvider(() => 'http://exa mple:11434').generate(request()));
    expect(error.code).toBe('unavailable');
    expect(error.message).toMatch(/^The Ollama host "http:\/\/exa mple:11434" is not an address; set one like http:\/\/127\.0\.0\.1:11434 on the Models page\.$/);
  });

  it('stops at once on a signal aborted before the start, sending nothing', async () => {
    const server = await standIn();
    const result = await new OllamaProvider(() => server.host).generate(request({ signal: AbortSignal.abort() }));
    expect(result).toMatchObject({ finish: 'stopped', text: '', outputTokens: 0, firstTokenMs: null });
    expect(server.requestsTo('/api/chat')).toHaveLength(0);
  });

  it('stops while the server has not answered yet (a model still loading)', async () => {
    const server = await standIn();
    const provider = new OllamaProvider(() => server.host);
    server.settings.responseDelayMs = 10_000;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const started = performance.now();
    const result = await provider.generate(request({ signal: controller.signal }));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(result).toMatchObject({ finish: 'stopped', text: '', digest: null });
  });

  it("gives not_found naming the model and the host for a model Ollama doesn't have", async () => {
    const server = await standIn();
    const error = await rejection(new OllamaProvider(() => server.host).generate(request({ model: 'mistral:7b' })));
    expect(error.code).toBe('not_found');
    expect(error.message).toContain('"mistral:7b"');
    expect(error.message).toContain(server.host);
    expect(error.message).toContain('ollama pull mistral:7b');
  });

  it('gives unavailable naming host and model when the server is down', async () => {
    const host = `http://127.0.0.1:${await closedPort()}`;
    const error = await rejection(new OllamaProvider(() => host).generate(request()));
    expect(error.code).toBe('unavailable');
    expect(error.message).toContain(`No Ollama server answers at ${host}`);
    expect(error.message).toContain('codellama:7b');
  });

  it('gives unavailable for garbage: a web page, or a stream of the wrong shape', async () => {
    const server = await standIn({ garbage: 'not-json' });
    const page = await rejection(new OllamaProvider(() => server.host).generate(request()));
    expect(page.code).toBe('unavailable');
    expect(page.message).toMatch(/not as an Ollama server does \(HTTP 200, text\/html/);
    expect(page.message).toContain('codellama:7b');

    server.settings.garbage = 'wrong-shape';
    const shape = await rejection(new OllamaProvider(() => server.host).generate(request()));
    expect(shape.code).toBe('unavailable');
    expect(shape.message).toMatch(/a streamed object is not a chat response: done: /);
    expect(shape.message).not.toMatch(/TypeError/);
  });

  it("passes on Ollama's in-stream error as unavailable", async () => {
    const server = await standIn({ streamErrorAfter: 2 });
    const req = request();
    const error = await rejection(new OllamaProvider(() => server.host).generate(req));
    expect(req.chunks).toHaveLength(2);
    expect(error.code).toBe('unavailable');
    expect(error.message).toBe(`Ollama at ${server.host} failed while generating with "codellama:7b": llama runner process has terminated: signal: killed.`);
  });

  it('leaves out an empty system message and finds the digest of an implied :latest tag', async () => {
    const server = await standIn({ reply: (body: ChatRequestBody) => [`${body.messages?.length} message(s)`] });
    const result = await new OllamaProvider(() => server.host).generate(request({ model: 'llama3.2', system: '' }));
    expect(result.text).toBe('1 message(s)');
    expect(result.digest).toBe(STAND_IN_MODELS[1]!.digest);
  });

  it('caches the digest briefly, and still generates when /api/tags fails', async () => {
    const server = await standIn();
    const provider = new OllamaProvider(() => server.host);
    await provider.generate(request());
    await provider.generate(request());
    expect(server.requestsTo('/api/tags')).toHaveLength(1);

    const other = await standIn();
    other.route('GET', '/api/tags', ({ res }) => {
      res.writeHead(500, { 'Content-Type': 'application/json; charset=utf-8' });
      res.end('{"error":"boom"}');
    });
    const result = await new OllamaProvider(() => other.host).generate(request());
    expect(result).toMatchObject({ finish: 'stop', digest: null });
    expect(other.requestsTo('/api/tags')).toHaveLength(1);
  });
});
