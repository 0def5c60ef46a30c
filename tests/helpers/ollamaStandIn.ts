// A stand-in for an Ollama server, for tests: the real server cannot run here. It is a local HTTP server on
// 127.0.0.1 (a free port) that speaks the part of Ollama's documented REST API (docs/api.md of ollama/ollama)
// the app uses, with Ollama's wire format:
//   GET  /api/version  → {"version": "0.6.5"}
//   GET  /api/tags     → {"models": [{name, model, modified_at, size, digest, details: {...}}]}
//   POST /api/chat     → NDJSON (application/x-ndjson), one {"message": {"role": "assistant", "content"}, "done": false}
//                        per token, then a final object with "done": true, done_reason, prompt_eval_count,
//                        eval_count and the durations (ns); "stream": false gives one JSON object instead.
//                        An unknown model is a 404 {"error": "model \"x\" not found, try pulling it first"}.
//   HEAD /api/blobs/:digest → 200 when the stand-in holds the blob, else 404 (a digest not `sha256:<64 hex>`: 400).
//   POST /api/blobs/:digest → hashes the body as it arrives (never held whole) and keeps the blob: 201, or 200
//                        when it had it; bytes that do not hash to the digest: 400 {"error": "digest mismatch,
//                        expected \"sha256:…\", got \"sha256:…\""}, as server/routes.go CreateBlobHandler answers.
//   POST /api/create   → the JSON create request of server/create.go ({model, files, adapters, template,
//                        parameters, system, stream}): every digest it names must be an uploaded blob (else a 500
//                        {"error"} as Ollama's failed open), then NDJSON status lines ending {"status":"success"};
//                        the new model is listed by /api/tags from then on.
// Each request is recorded (method, path, headers, JSON body, body bytes) so tests can check what was sent. Modes
// make it misbehave the ways a real deployment can: slow answers (timeouts), slow streams (abort), garbage (a
// non-JSON body, or JSON of the wrong shape), an error in the middle of a stream, a full disk on upload, a create
// that fails part way.
// More routes plug in through `route()`; the newest route that matches wins, so a test can also replace a
// built-in one.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';

export interface StandInModel {
  name: string;
  size: number;
  /** Hex SHA-256 of the manifest, as /api/tags gives it (no `sha256:` prefix). */
  digest: string;
  family?: string;
  parameterSize?: string;
  quantization?: string;
}

export interface ChatRequestBody {
  model?: unknown;
  messages?: { role?: unknown; content?: unknown }[];
  stream?: unknown;
  options?: Record<string, unknown>;
}

export interface StandInSettings {
  version: string;
  models: StandInModel[];
  /** The reply's tokens, streamed one per line. Default: a short fixed text in 6 tokens. */
  reply: (request: ChatRequestBody) => string[];
  /** Delay between streamed tokens (a slow stream, for abort tests). */
  tokenDelayMs: number;
  /** Delay before any answer, headers included (a slow server, for timeout tests). */
  responseDelayMs: number;
  /** 'not-json': every route answers 200 with an HTML page; 'wrong-shape': JSON, but not what Ollama sends. */
  garbage: false | 'not-json' | 'wrong-shape';
  /** After this many tokens, the stream carries Ollama's in-stream error object and ends. */
  streamErrorAfter: number | null;
  /** done_reason of the final object; by default 'length' when options.num_predict cut the reply, else 'stop'. */
  doneReason: string | null;
  /** 'disk-full': a blob upload is read to its end, then answered 500 as Ollama does when its disk is full. */
  blobFailure: 'disk-full' | null;
  /** /api/create streams its first status lines, then this in-stream {"error"} instead of success. */
  createError: string | null;
  /** Delay between /api/create's status lines (a slow create, for abort tests). */
  createStepDelayMs: number;
}

/** The body of POST /api/create as server/create.go reads it (the fields the app sends). */
export interface CreateRequestBody {
  model?: unknown;
  from?: unknown;
  files?: Record<string, unknown>;
  adapters?: Record<string, unknown>;
  template?: unknown;
  system?: unknown;
  parameters?: Record<string, unknown>;
  stream?: unknown;
}

export type StreamOutcome = 'completed' | 'client-closed';

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, for routes that read one (undefined otherwise; the raw text when it is not JSON). */
  body: unknown;
  /** Tokens written to the client (streaming routes). */
  tokensSent: number;
  /** Bytes of the body read (blob uploads). */
  bodyBytes: number;
  /** Settles when the response is over: written to the end, or the client closed the connection first. */
  finished: Promise<StreamOutcome>;
}

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Capture groups of a RegExp route. */
  params: string[];
  record: RecordedRequest;
  settings: StandInSettings;
  /** Reads the body as JSON (recorded on `record.body`); undefined for a body that is not JSON. */
  readJson: () => Promise<unknown>;
  /** True once the client has gone away: stop writing. */
  clientClosed: () => boolean;
}

export type RouteHandler = (context: RouteContext) => Promise<void> | void;

interface Route {
  method: string;
  path: string | RegExp;
  handler: RouteHandler;
}

const DEFAULT_REPLY = ['erDiagram\n', '  USER', ' ||--o{', ' ORDER', ' : places', '\n'];

export const STAND_IN_MODELS: StandInModel[] = [
  {
    name: 'codellama:7b',
    size: 3_825_819_519,
    digest: '8fdf8f752f6e80de33e82f381aba784c025982752cd1ae9377add66449d2225f',
    family: 'llama',
    parameterSize: '7B',
    quantization: 'Q4_0',
  },
  {
    name: 'llama3.2:latest',
    size: 2_019_393_189,
    digest: 'a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72',
    family: 'llama',
    parameterSize: '3.2B',
    quantization: 'Q4_K_M',
  },
];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const words = (text: string) => text.split(/\s+/).filter(Boolean).length;

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function sendHtml(res: ServerResponse): void {
  const body = '<!doctype html>\n<html>\n<head><title>Welcome</title></head>\n<body>It works!</body>\n</html>\n';
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Ollama's name matching: `llama3.2` means `llama3.2:latest`. */
function findModel(models: StandInModel[], name: unknown): StandInModel | undefined {
  if (typeof name !== 'string') return undefined;
  const full = name.includes(':') ? name : `${name}:latest`;
  return models.find((m) => m.name === name || m.name === full);
}

const DIGEST = /^sha256[:-]([0-9a-f]{64})$/;

export class OllamaStandIn {
  readonly requests: RecordedRequest[] = [];
  readonly settings: StandInSettings;
  /** The blobs it holds: `sha256:<hex>` → size in bytes. */
  readonly blobs = new Map<string, number>();
  private readonly routes: Route[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
    settings: StandInSettings,
  ) {
    this.settings = settings;
  }

  /** `http://127.0.0.1:PORT`, what the app's Ollama host setting would hold. */
  get host(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(settings: Partial<StandInSettings> = {}): Promise<OllamaStandIn> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const standIn = new OllamaStandIn(server, (server.address() as AddressInfo).port, {
      version: '0.6.5',
      models: STAND_IN_MODELS.map((m) => ({ ...m })),
      reply: () => DEFAULT_REPLY,
      tokenDelayMs: 0,
      responseDelayMs: 0,
      garbage: false,
      streamErrorAfter: null,
      doneReason: null,
      blobFailure: null,
      createError: null,
      createStepDelayMs: 0,
      ...settings,
    });
    server.on('request', (req, res) => void standIn.handle(req, res));
    standIn.route('GET', '/api/version', (c) => standIn.version(c));
    standIn.route('GET', '/api/tags', (c) => standIn.tags(c));
    standIn.route('POST', '/api/chat', (c) => standIn.chat(c));
    standIn.route('HEAD', /\/api\/blobs\/([^/]+)/, (c) => standIn.headBlob(c));
    standIn.route('POST', /\/api\/blobs\/([^/]+)/, (c) => standIn.pushBlob(c));
    standIn.route('POST', '/api/create', (c) => standIn.create(c));
    return standIn;
  }

  /** Adds a route; the newest match wins. A RegExp matches the whole path, its groups become `params`. */
  route(method: string, path: string | RegExp, handler: RouteHandler): void {
    this.routes.unshift({ method, path, handler });
  }

  /** The recorded requests to one path (optionally of one method). */
  requestsTo(path: string, method?: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path && (method === undefined || r.method === method));
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    let settle!: (outcome: StreamOutcome) => void;
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      headers: req.headers,
      body: undefined,
      tokensSent: 0,
      bodyBytes: 0,
      finished: new Promise<StreamOutcome>((resolve) => (settle = resolve)),
    };
    this.requests.push(record);
    res.on('close', () => settle(res.writableFinished ? 'completed' : 'client-closed'));
    const context: RouteContext = {
      req,
      res,
      url,
      params: [],
      record,
      settings: this.settings,
      readJson: async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          record.body = JSON.parse(text);
        } catch {
          record.body = text;
          return undefined;
        }
        return record.body;
      },
      clientClosed: () => res.destroyed || res.closed,
    };
    try {
      if (this.settings.responseDelayMs > 0) await sleep(this.settings.responseDelayMs);
      if (context.clientClosed()) return;
      for (const route of this.routes) {
        if (route.method !== record.method) continue;
        if (typeof route.path === 'string') {
          if (route.path !== url.pathname) continue;
        } else {
          const match = new RegExp(`^(?:${route.path.source})$`, route.path.flags).exec(url.pathname);
          if (!match) continue;
          context.params = match.slice(1);
        }
        await route.handler(context);
        return;
      }
      // Ollama (gin) answers an unknown route with a plain-text 404.
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('404 page not found');
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, { error: `stand-in failure: ${String(error)}` });
      else res.destroy();
    }
  }

  private version({ res, settings }: RouteContext): void {
    if (settings.garbage === 'not-json') return sendHtml(res);
    if (settings.garbage === 'wrong-shape') return sendJson(res, 200, { v: 6, build: null });
    sendJson(res, 200, { version: settings.version });
  }

  private tags({ res, settings }: RouteContext): void {
    if (settings.garbage === 'not-json') return sendHtml(res);
    if (settings.garbage === 'wrong-shape') return sendJson(res, 200, { models: [{ name: 7, size: 'big' }] });
    sendJson(res, 200, {
      models: settings.models.map((m) => ({
        name: m.name,
        model: m.name,
        modified_at: '2025-01-15T10:20:30.123456789Z',
        size: m.size,
        digest: m.digest,
        details: {
          parent_model: '',
          format: 'gguf',
          family: m.family ?? '',
          families: m.family ? [m.family] : null,
          parameter_size: m.parameterSize ?? '',
          quantization_level: m.quantization ?? '',
        },
      })),
    });
  }

  private async chat(context: RouteContext): Promise<void> {
    const { res, settings, record } = context;
    const body = (await context.readJson()) as ChatRequestBody | undefined;
    if (settings.garbage === 'not-json') return sendHtml(res);
    if (!body || typeof body !== 'object') return sendJson(res, 400, { error: 'invalid character looking for beginning of value' });
    if (typeof body.model !== 'string' || body.model === '') return sendJson(res, 400, { error: 'model is required' });
    const model = findModel(settings.models, body.model);
    if (!model) return sendJson(res, 404, { error: `model "${body.model}" not found, try pulling it first` });

    const messages = Array.isArray(body.messages) ? body.messages : [];
    const promptTokens = messages.reduce((n, m) => n + words(typeof m.content === 'string' ? m.content : '') + 4, 0);
    let tokens = settings.reply(body);
    const limit = body.options?.num_predict;
    let cut = false;
    if (typeof limit === 'number' && limit >= 0 && tokens.length > limit) {
      tokens = tokens.slice(0, limit);
      cut = true;
    }
    const doneReason = settings.doneReason ?? (cut ? 'length' : 'stop');
    const createdAt = () => new Date().toISOString();
    const final = (content: string) => ({
      model: body.model,
      created_at: createdAt(),
      message: { role: 'assistant', content },
      done: true,
      done_reason: doneReason,
      total_duration: 1_500_000_000,
      load_duration: 20_000_000,
      prompt_eval_count: promptTokens,
      prompt_eval_duration: 100_000_000,
      eval_count: tokens.length,
      eval_duration: 1_300_000_000,
    });

    if (body.stream === false) {
      if (settings.garbage === 'wrong-shape') return sendJson(res, 200, { answer: tokens.join('') });
      record.tokensSent = tokens.length;
      return sendJson(res, 200, final(tokens.join('')));
    }

    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    const line = (value: unknown) => res.write(`${JSON.stringify(value)}\n`);
    for (const [i, token] of tokens.entries()) {
      if (context.clientClosed()) return;
      if (settings.streamErrorAfter !== null && i >= settings.streamErrorAfter) {
        line({ error: 'llama runner process has terminated: signal: killed' });
        res.end();
        return;
      }
      if (settings.garbage === 'wrong-shape') line({ text: token, finished: 'no' });
      else line({ model: body.model, created_at: createdAt(), message: { role: 'assistant', content: token }, done: false });
      record.tokensSent = i + 1;
      if (settings.tokenDelayMs > 0) await sleep(settings.tokenDelayMs);
    }
    if (context.clientClosed()) return;
    if (settings.garbage !== 'wrong-shape') line(final(''));
    res.end();
  }
  private headBlob({ res, params }: RouteContext): void {
    const digest = DIGEST.exec(params[0] ?? '');
    if (!digest) return sendJson(res, 400, { error: 'invalid digest format' });
    if (this.blobs.has(`sha256:${digest[1]}`)) {
      res.writeHead(200);
      res.end();
      return;
    }
    sendJson(res, 404, { error: `blob "${params[0]}" not found` });
  }

  private async pushBlob({ req, res, params, record, settings }: RouteContext): Promise<void> {
    const match = DIGEST.exec(params[0] ?? '');
    if (!match) return sendJson(res, 400, { error: 'invalid digest format' });
    const digest = `sha256:${match[1]}`;
    const hash = createHash('sha256');
    for await (const chunk of req) {
      hash.update(chunk as Buffer);
      record.bodyBytes += (chunk as Buffer).length;
    }
    if (this.blobs.has(digest)) {
      res.writeHead(200);
      res.end();
      return;
    }
    if (settings.blobFailure === 'disk-full') {
      return sendJson(res, 500, { error: `write /root/.ollama/models/blobs/sha256-${match[1]}-partial: no space left on device` });
    }
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== digest) return sendJson(res, 400, { error: `digest mismatch, expected "${digest}", got "${got}"` });
    this.blobs.set(digest, record.bodyBytes);
    res.writeHead(201);
    res.end();
  }

  private async create(context: RouteContext): Promise<void> {
    const { res, settings } = context;
    const body = (await context.readJson()) as CreateRequestBody | undefined;
    if (!body || typeof body !== 'object') return sendJson(res, 400, { error: 'invalid character looking for beginning of value' });
    if (typeof body.model !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*(:[A-Za-z0-9._-]+)?$/.test(body.model)) {
      return sendJson(res, 400, { error: 'invalid model name' });
    }
    if (body.from === undefined && body.files === undefined) return sendJson(res, 400, { error: "neither 'from' or 'files' was specified" });
    const files = Object.entries(body.files ?? {});
    const adapters = Object.entries(body.adapters ?? {});
    if (adapters.length > 1) return sendJson(res, 400, { error: 'only one adapter is currently supported' });
    let size = 0;
    for (const [, digest] of [...files, ...adapters]) {
      const held = typeof digest === 'string' ? this.blobs.get(digest.replace('-', ':')) : undefined;
      if (held === undefined) return sendJson(res, 500, { error: `open /root/.ollama/models/blobs/${String(digest).replace(':', '-')}: no such file or directory` });
      size += held;
    }

    const layer = (value: unknown) => `sha256:${createHash('sha256').update(JSON.stringify(value)).digest('hex')}`;
    const lines: object[] = [{ status: 'parsing GGUF' }];
    for (const [, digest] of [...files, ...adapters]) lines.push({ status: `using existing layer ${String(digest)}` });
    if (body.template !== undefined) lines.push({ status: `creating new layer ${layer(body.template)}` });
    if (body.system !== undefined) lines.push({ status: `creating new layer ${layer(body.system)}` });
    if (body.parameters !== undefined) lines.push({ status: `creating new layer ${layer(body.parameters)}` });
    lines.push({ status: 'writing manifest' });

    const name = body.model.includes(':') ? body.model : `${body.model}:latest`;
    const succeed = () => {
      settings.models = [...settings.models.filter((m) => m.name !== name), { name, size, digest: layer(body).slice('sha256:'.length), family: 'llama' }];
    };
    if (body.stream === false) {
      if (settings.createError) return sendJson(res, 500, { error: settings.createError });
      succeed();
      return sendJson(res, 200, { status: 'success' });
    }
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    for (const [i, line] of lines.entries()) {
      if (context.clientClosed()) return;
      if (settings.createError && i === 1) {
        res.write(`${JSON.stringify({ error: settings.createError })}\n`);
        res.end();
        return;
      }
      res.write(`${JSON.stringify(line)}\n`);
      if (settings.createStepDelayMs > 0) await sleep(settings.createStepDelayMs);
    }
    if (context.clientClosed()) return;
    succeed();
    res.write(`${JSON.stringify({ status: 'success' })}\n`);
    res.end();
  }
}

/**
 * Starts stand-ins for a test file: each is closed after the test that started it. Call at the file's top level
 * (it registers an afterEach).
 */
export function standInsPerTest(): (settings?: Partial<StandInSettings>) => Promise<OllamaStandIn> {
  const started: OllamaStandIn[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.close()));
  });
  return async (settings = {}) => {
    const server = await OllamaStandIn.start(settings);
    started.push(server);
    return server;
  };
}

/** A port on 127.0.0.1 nothing listens on (bound, then released): an Ollama that is down. */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
