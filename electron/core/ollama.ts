import { Ollama } from 'ollama';
import type { AbortableAsyncIterator, ChatResponse, Message } from 'ollama';
import { z } from 'zod';
import { AppError } from '../../shared/errors';
import type { OllamaModel, OllamaStatus } from '../../shared/contract/models';

/**
 * Ollama as an optional second generation provider, through the `ollama` package (never hand-made HTTP).
 *
 * The package hands the server's JSON through untyped (and `response.json()` throws a bare SyntaxError on a body
 * that is not JSON), so everything read from it is checked here with zod; a server that is down, slow or not an
 * Ollama server gives a message a person can act on, never an unexplained TypeError.
 */

const DEFAULT_HOST = 'http://127.0.0.1:11434';
const DIGEST_TTL_MS = 30_000;
const LOCAL_KEEP_WORKING = 'Local models keep working.';

const VersionResponse = z.object({ version: z.string() });

const TagsResponse = z.object({
  models: z.array(
    z.object({
      name: z.string().min(1),
      model: z.string().optional(),
      size: z.number().int().nonnegative(),
      digest: z.string().optional(),
      details: z
        .object({
          family: z.string().nullish(),
          parameter_size: z.string().nullish(),
          quantization_level: z.string().nullish(),
        })
        .nullish(),
    }),
  ),
});
type TagsResponse = z.infer<typeof TagsResponse>;

const Count = z.number().int().nonnegative();
/** One object of /api/chat's NDJSON stream; the final one has `done: true` and the counts. */
const ChatChunk = z.object({
  message: z.object({ content: z.string().default('') }).nullish(),
  done: z.boolean(),
  done_reason: z.string().nullish(),
  prompt_eval_count: Count.nullish(),
  eval_count: Count.nullish(),
});

export interface OllamaGenerateRequest {
  /** The model's name as Ollama lists it, e.g. `codellama:7b` (`llama3.2` means `llama3.2:latest`). */
  model: string;
  system: string;
  user: string;
  sampling: { temperature: number; topP: number; maxTokens: number; seed: number };
  signal?: AbortSignal;
  onChunk: (text: string) => void;
}

export interface OllamaGenerateResult {
  text: string;
  /** Ollama's prompt_eval_count; 0 when stopped before the final object (Ollama sends the counts only there). */
  promptTokens: number;
  /** Ollama's eval_count; when stopped early, the number of streamed pieces (Ollama streams one per token). */
  outputTokens: number;
  durationMs: number;
  /** Time to the first non-empty piece of text; null when none came. */
  firstTokenMs: number | null;
  finish: 'stop' | 'max-tokens' | 'stopped';
  /** The model's digest from /api/tags when it answered, else null. */
  digest: string | null;
}

class NotOllama extends Error {}

/** What the caller's `onChunk` threw: passed on as it is, not as a server failure. */
class ConsumerError extends Error {
  constructor(readonly inner: unknown) {
    super('onChunk threw');
  }
}

/**
 * The `fetch` the package calls: it also ends when `signal` does (the package takes no signal on list/version),
 * and refuses a body that is not JSON before the package parses it (Ollama answers JSON or NDJSON everywhere we
 * ask; the package would drop non-JSON stream lines with a console warning, or throw a bare SyntaxError).
 */
function ollamaFetch(signal: AbortSignal | undefined): typeof fetch {
  return async (input, init) => {
    const combined = signal && init?.signal ? AbortSignal.any([init.signal, signal]) : (signal ?? init?.signal);
    const response = await fetch(input, { ...init, signal: combined });
    const type = response.headers.get('content-type') ?? '';
    if (/json/i.test(type)) return response;
    // An error page is short: its text says what answered. A 200 body may be endless: it is not read.
    const sample = response.ok ? '' : brief(await response.text().catch(() => ''));
    if (response.ok) await response.body?.cancel().catch(() => undefined);
    throw new NotOllama(`HTTP ${response.status}, ${type || 'no content type'}${sample ? `: "${sample}"` : ''}; Ollama sends JSON`);
  };
}

/** The error's code and its causes' codes (undici puts ECONNREFUSED on `cause`). */
function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors)) codes.push(...errors.flatMap(errorCodes));
  }
  return codes;
}

const isResponseError = (error: unknown): error is Error & { status_code: number; error: string } =>
  error instanceof Error && error.name === 'ResponseError' && typeof (error as { status_code?: unknown }).status_code === 'number';

function brief(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

function zodDetail(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => {
      const where = i.path.length ? i.path.join('.') : 'the body';
      return i.code === 'invalid_type' && /received undefined$/.test(i.message) ? `${where}: missing (${i.expected} expected)` : `${where}: ${i.message}`;
    })
    .join('; ');
}

/** Why a request to the server failed, in words: down, not an Ollama server, or what it said. */
function describeFailure(host: string, what: string, error: unknown): string {
  const codes = errorCodes(error);
  if (codes.some((c) => ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'].includes(c))) {
    return `No Ollama server answers at ${host}. Start it with \`ollama serve\`, or change the host on the Models page.`;
  }
  if (codes.some((c) => ['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE'].includes(c))) {
    return `The connection to the server at ${host} broke during ${what}. Did Ollama stop or crash? Check \`ollama serve\`.`;
  }
  if (isResponseError(error)) {
    return `The server at ${host} answered ${what} with HTTP ${error.status_code}: ${brief(error.error)}. Is it an Ollama server? Check the host on the Models page.`;
  }
  if (error instanceof SyntaxError || error instanceof z.ZodError || error instanceof NotOllama) {
    const detail = error instanceof z.ZodError ? zodDetail(error) : brief(error.message);
    return `The server at ${host} answered ${what}, but not as an Ollama server does (${detail}). Check the host on the Models page.`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `Ollama at ${host} could not be reached (${brief(message)}${codes.length ? `, ${codes[0]}` : ''}). Check that \`ollama serve\` runs and the host on the Models page.`;
}

/** The configured host checked, so that a typo reads as a typo and not as a network failure. */
function checkHost(raw: string): string {
  const host = raw.trim() || DEFAULT_HOST;
  let url: URL;
  try {
    url = new URL(host.includes('://') ? host : `http://${host}`);
  } catch {
    throw new AppError('unavailable', `The Ollama host "${host}" is not an address; set one like ${DEFAULT_HOST} on the Models page.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AppError('unavailable', `The Ollama host "${host}" is not an http:// or https:// address; set one like ${DEFAULT_HOST} on the Models page.`);
  }
  return host;
}

function toModel(entry: TagsResponse['models'][number]): OllamaModel {
  const orNull = (s: string | null | undefined) => (s ? s : null);
  return {
    name: entry.name,
    sizeBytes: entry.size,
    family: orNull(entry.details?.family),
    parameterSize: orNull(entry.details?.parameter_size),
    quantization: orNull(entry.details?.quantization_level),
  };
}

/** The /api/tags entry `model` means: exact, or with Ollama's implied `:latest`. */
function digestFor(digests: Map<string, string>, model: string): string | null {
  return digests.get(model) ?? (model.includes(':') ? undefined : digests.get(`${model}:latest`)) ?? null;
}

export class OllamaProvider {
  private readonly timeoutMs: number;
  private digests: { host: string; at: number; byName: Map<string, string> } | undefined;

  /** `host` is read on every call (the setting can change), e.g. 'http://127.0.0.1:11434'. */
  constructor(
    private readonly host: () => string,
    options: { timeoutMs?: number } = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 2000;
  }

  /**
   * Whether a server answers at the host, its version and models. Never throws: a server that is down, slow
   * (over `timeoutMs`) or answers garbage gives `reachable: false` and an `error` a person can act on.
   */
  async status(): Promise<OllamaStatus> {
    let host = DEFAULT_HOST;
    try {
      host = this.host().trim() || DEFAULT_HOST;
      checkHost(host);
      const { version, tags } = await this.withTimeout(host, async (signal) => {
        const client = new Ollama({ host, fetch: ollamaFetch(signal) });
        const [version, tags] = await Promise.all([
          this.read('GET /api/version', () => client.version(), VersionResponse),
          this.read('GET /api/tags', () => client.list(), TagsResponse),
        ]);
        return { version, tags };
      });
      this.remember(host, tags);
      return { host, reachable: true, version: version.version, models: tags.models.map(toModel), error: null };
    } catch (error) {
      const message = error instanceof AppError ? error.message : describeFailure(host, 'the status request', error);
      return { host, reachable: false, version: null, models: [], error: `${message} ${LOCAL_KEEP_WORKING}` };
    }
  }

  /**
   * Streams a chat completion (system + user messages); `onChunk` gets each piece of text as it comes. An abort
   * through `signal` ends it early with finish 'stopped' and the text so far. Errors are AppError: 'not_found'
   * for a model the server does not have, 'unavailable' for a server that is down, fails or answers garbage.
   */
  async generate(request: OllamaGenerateRequest): Promise<OllamaGenerateResult> {
    const host = checkHost(this.host());
    const { model, signal } = request;
    const started = performance.now();
    let text = '';
    let pieces = 0;
    let firstTokenMs: number | null = null;
    const stopped = (): OllamaGenerateResult => ({
      text,
      promptTokens: 0,
      outputTokens: pieces,
      durationMs: performance.now() - started,
      firstTokenMs,
      finish: 'stopped',
      digest: null,
    });
    if (signal?.aborted) return stopped();

    // The digest is looked up beside the generation and never fails it; a stop does not wait for it.
    let digestNow: string | null = null;
    const digest = this.digest(host, model).then((d) => (digestNow = d));
    const client = new Ollama({ host, fetch: ollamaFetch(signal) });
    const messages: Message[] = [];
    if (request.system) messages.push({ role: 'system', content: request.system });
    messages.push({ role: 'user', content: request.user });

    let stream: AbortableAsyncIterator<ChatResponse> | undefined;
    const onAbort = () => stream?.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      stream = await client.chat({
        model,
        messages,
        stream: true,
        options: {
          temperature: request.sampling.temperature,
          top_p: request.sampling.topP,
          num_predict: request.sampling.maxTokens,
          seed: request.sampling.seed,
        },
      });
      if (signal?.aborted) stream.abort();
      for await (const raw of stream) {
        // The package may still hold lines it read before the abort: the text stops at the stop.
        if (signal?.aborted) return { ...stopped(), digest: digestNow };
        const parsed = ChatChunk.safeParse(raw);
        if (!parsed.success) {
          throw new NotOllama(`a streamed object is not a chat response: ${zodDetail(parsed.error)}`);
        }
        const chunk = parsed.data;
        const piece = chunk.message?.content ?? '';
        if (piece) {
          firstTokenMs ??= performance.now() - started;
          text += piece;
          pieces++;
          try {
            request.onChunk(piece);
          } catch (error) {
            throw new ConsumerError(error);
          }
        }
        if (chunk.done) {
          return {
            text,
            promptTokens: chunk.prompt_eval_count ?? 0,
            outputTokens: chunk.eval_count ?? pieces,
            durationMs: performance.now() - started,
            firstTokenMs,
            finish: chunk.done_reason === 'length' ? 'max-tokens' : 'stop',
            digest: await digest,
          };
        }
      }
      // The package's iterator throws before this when the stream ends without `done`.
      throw new NotOllama('the stream ended without its final object');
    } catch (error) {
      if (error instanceof ConsumerError) throw error.inner;
      // After a stop, whatever the aborted request threw is the stop itself.
      if (signal?.aborted) return { ...stopped(), digest: digestNow };
      throw this.generationError(host, model, error);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      // Ends the response when we leave early (an error, garbage); a no-op once it has ended.
      stream?.abort();
    }
  }

  private generationError(host: string, model: string, error: unknown): AppError {
    if (error instanceof AppError) return error;
    if (isResponseError(error) && error.status_code === 404) {
      return new AppError('not_found', `Ollama at ${host} has no model "${model}" (${brief(error.error)}). Pull it with \`ollama pull ${model}\`, or choose another model.`, { cause: error });
    }
    if (isResponseError(error)) {
      return new AppError('unavailable', `Ollama at ${host} refused to generate with "${model}": HTTP ${error.status_code}: ${brief(error.error)}.`, { cause: error });
    }
    if (error instanceof Error && error.message === 'Did not receive done or success response in stream.') {
      return new AppError('unavailable', describeFailure(host, `POST /api/chat for "${model}"`, new NotOllama('the stream ended without its final object')), { cause: error });
    }
    const codes = errorCodes(error);
    if (error instanceof Error && error.constructor === Error && codes.length === 0) {
      // The package rethrows Ollama's in-stream {"error": "..."} as a plain Error.
      return new AppError('unavailable', `Ollama at ${host} failed while generating with "${model}": ${brief(error.message)}.`, { cause: error });
    }
    return new AppError('unavailable', `${describeFailure(host, `POST /api/chat for "${model}"`, error)} (model "${model}")`, { cause: error });
  }

  /** Calls the package and checks the shape of what it returns. */
  private async read<T>(what: string, call: () => Promise<unknown>, schema: z.ZodType<T>): Promise<T> {
    const value = await call();
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new NotOllama(`${what}: ${zodDetail(parsed.error)}`);
    return parsed.data;
  }

  /** Runs `work` with a signal that aborts after `timeoutMs`; a timeout reads as one. */
  private async withTimeout<T>(host: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const seconds = this.timeoutMs >= 1000 ? `${+(this.timeoutMs / 1000).toFixed(1)} s` : `${this.timeoutMs} ms`;
        reject(new AppError('unavailable', `The server at ${host} did not answer within ${seconds}. Is Ollama busy, or is the host on the Models page wrong?`));
        controller.abort();
      }, this.timeoutMs);
    });
    const running = work(controller.signal);
    running.catch(() => undefined);
    try {
      return await Promise.race([running, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private remember(host: string, tags: TagsResponse): void {
    const byName = new Map<string, string>();
    for (const entry of tags.models) {
      if (!entry.digest) continue;
      byName.set(entry.name, entry.digest);
      if (entry.model) byName.set(entry.model, entry.digest);
    }
    this.digests = { host, at: Date.now(), byName };
  }

  /** The model's digest from a recent /api/tags (cached for 30 s), or null; never throws. */
  private async digest(host: string, model: string): Promise<string | null> {
    const cached = this.digests;
    if (cached && cached.host === host && Date.now() - cached.at < DIGEST_TTL_MS) return digestFor(cached.byName, model);
    try {
      const tags = await this.withTimeout(host, (signal) =>
        this.read('GET /api/tags', () => new Ollama({ host, fetch: ollamaFetch(signal) }).list(), TagsResponse),
      );
      this.remember(host, tags);
      return digestFor(this.digests!.byName, model);
    } catch {
      return null;
    }
  }
}

/**
 * The same host check, fetch and wording for the app's other Ollama client, publishing a version
 * (electron/core/versions/publish.ts), so a server that is down or a host that is mistyped reads alike there.
 */
export {
  brief as briefOllamaText,
  checkHost as checkOllamaHost,
  describeFailure as describeOllamaFailure,
  isResponseError as isOllamaResponseError,
  ollamaFetch,
  VersionResponse as OllamaVersionResponse,
};
