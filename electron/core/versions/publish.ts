import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Ollama } from 'ollama';
import type { CreateRequest } from 'ollama';
import { AppError } from '../../../shared/errors';
import { sha256File } from '../models/hash';
import { briefOllamaText as brief, checkOllamaHost, describeOllamaFailure, isOllamaResponseError, ollamaFetch, OllamaVersionResponse } from '../ollama';
import type { OllamaChat } from './ollamaChat';
export type { OllamaChat } from './ollamaChat';
export { ollamaChatFor } from './ollamaChat';

/**
 * Publishing a version to Ollama through its REST API (docs/api.md of ollama/ollama): GET /api/version, the
 * GGUF's SHA-256, HEAD /api/blobs/sha256:<hex> (200: the server has it), POST /api/blobs/sha256:<hex> with the
 * file as the body (201; 400 when the bytes do not hash to the digest), then POST /api/create naming the blobs,
 * whose answer is a stream of {"status"} lines ending in {"status":"success"}, or an {"error"}.
 *
 * The `ollama` package (0.6.4) is used for what it has: `version()` and `create()`. It has no blob upload, so
 * that is plain `fetch` (HEAD, and POST with the file streamed from disk); and its CreateRequest type lacks
 * `files`, which its `create()` passes on anyway (it sends the request object as the body), so the request
 * is typed here with `files` added.
 *
 * Version facts (checked against ollama/ollama's history):
 * - `files` and `adapters` in /api/create (blobs named by digest, instead of a Modelfile) came with commit
 *   86a622cb "Update the /api/create endpoint to use JSON" (#7935, 2024-12-31), first in tag v0.5.5. Older
 *   servers take neither route through this API.
 * - Ollama 0.34.1 and later no longer create a model from a LoRA adapter (ollama/ollama#14969, merged
 *   2026-09-15, as reported in generative-computing/mellea#1651; the mirrored Ollama source ends at v0.33.0-rc2,
 *   where server/create.go still takes `adapters`). So the merged GGUF is published, and the adapter route is
 *   only for older servers, when asked for.
 */

/** The first Ollama whose /api/create takes uploaded GGUF blobs (`files`, `adapters`): both routes need it. */
export const MERGED_ROUTE_MIN_VERSION = '0.5.5';
/** The first Ollama that refuses to create a model from a LoRA adapter: the adapter route needs an older one. */
export const ADAPTER_ROUTE_REMOVED_VERSION = '0.34.1';


export interface PublishProgress {
  phase: 'hashing' | 'uploading' | 'creating' | 'done';
  /** Bytes for hashing and uploading; Ollama's own counts (often none: 0 of 0) while creating. */
  done: number;
  total: number;
  message: string;
}

export interface PublishRequest {
  /** e.g. http://127.0.0.1:11434 */
  host: string;
  /** e.g. architect-erd:v3 */
  name: string;
  route: 'merged' | 'adapter';
  /** The merged standalone GGUF (route 'merged'): made by the caller before publish; or, route 'adapter', the base GGUF. */
  modelPath: string;
  /** The LoRA adapter GGUF (route 'adapter' only). */
  adapterPath?: string;
  /** The base model's chat format (ollamaChatFor). */
  chat: OllamaChat;
  /** Stored as the model's SYSTEM, used when a chat brings none (the kind's system prompt from training). */
  system?: string;
  onProgress?: (p: PublishProgress) => void;
  signal?: AbortSignal;
}

export interface PublishResult {
  name: string;
  /** sha256:<hex> of the GGUF uploaded for the version: the merged model, or the adapter (route 'adapter'). */
  digest: string;
  route: 'merged' | 'adapter';
  /** What GET /api/version said. */
  serverVersion: string;
}

const VERSION_TIMEOUT_MS = 10_000;
const UPLOAD_CHUNK_BYTES = 4 * 1024 * 1024;
const GGUF_MAGIC = Buffer.from('GGUF', 'ascii');

/** One file to put on the server, and where /api/create names it. */
interface Blob {
  readonly field: 'files' | 'adapters';
  readonly path: string;
  /** Its name in /api/create's `files` or `adapters`. */
  readonly name: string;
  readonly size: number;
  digest: string;
}

/**
 * Uploads the GGUF(s) of a version as blobs (skipping one the server has) and creates the model `name` on the
 * Ollama server at `host`. Errors are AppError with a message that says what to do: 'unavailable' for a server
 * that is down, too old or refuses, 'invalid_arguments' for a route or file that cannot be published,
 * 'not_found' for a missing file, 'cancelled' after `signal` aborts.
 */
export async function publishToOllama(request: PublishRequest): Promise<PublishResult> {
  const host = checkOllamaHost(request.host);
  const { name, route, signal } = checkRequest(request);
  const emit = progressEmitter(request.onProgress);
  try {
    signal?.throwIfAborted();
    const serverVersion = await versionOf(host, signal);
    checkRoute(route, serverVersion, host);
    const blobs = await blobsOf(request);
    await hashBlobs(blobs, emit, signal);
    const client = new PublishClient({ host, fetch: ollamaFetch(signal) });
    await uploadBlobs(client, host, blobs, emit, signal);
    await createModel(client, host, request, blobs, emit, signal);
    emit({ phase: 'done', done: 1, total: 1, message: `Created ${name} on Ollama ${serverVersion} at ${host}` });
    return { name, digest: blobs[blobs.length - 1]!.digest, route, serverVersion };
  } catch (error) {
    if (signal?.aborted && !(error instanceof AppError && error.code !== 'cancelled')) {
      throw new AppError('cancelled', `Publishing ${name} to Ollama at ${host} was stopped.`, { cause: error });
    }
    throw error;
  }
}

function checkRequest(request: PublishRequest): { name: string; route: 'merged' | 'adapter'; signal: AbortSignal | undefined } {
  const name = request.name.trim();
  if (name === '') throw new AppError('invalid_arguments', 'Give the Ollama model a name, such as architect-erd:v3.', { field: 'name' });
  if (request.route !== 'merged' && request.route !== 'adapter') {
    throw new AppError('invalid_arguments', `The route "${String(request.route)}" is not one of 'merged' and 'adapter'.`, { field: 'route' });
  }
  if (request.route === 'adapter' && !request.adapterPath) {
    throw new AppError('invalid_arguments', "The adapter route needs the adapter GGUF (adapterPath) beside the base (modelPath).", { field: 'adapterPath' });
  }
  if (request.route === 'merged' && request.adapterPath) {
    throw new AppError('invalid_arguments', 'The merged route uploads one standalone GGUF (modelPath); merge the adapter into it first, or choose the adapter route.', { field: 'adapterPath' });
  }
  if (request.chat.template.trim() === '') {
    throw new AppError('invalid_arguments', 'The chat template is empty: take it from ollamaChatFor(base model), or give one.', { field: 'chat.template' });
  }
  return { name, route: request.route, signal: request.signal };
}

function progressEmitter(onProgress: PublishRequest['onProgress']): (p: PublishProgress) => void {
  // At most one event per half percent of a phase (a multi-gigabyte file is thousands of chunks), and its end.
  let last: { phase: string; done: number } | undefined;
  return (p) => {
    if (!onProgress) return;
    const step = p.total / 200;
    if (last && last.phase === p.phase && p.done !== p.total && p.done - last.done < step && p.phase !== 'creating') return;
    last = { phase: p.phase, done: p.done };
    onProgress(p);
  };
}

// ---- the server's version ----

async function versionOf(host: string, signal: AbortSignal | undefined): Promise<string> {
  const timeout = AbortSignal.timeout(VERSION_TIMEOUT_MS);
  const client = new Ollama({ host, fetch: ollamaFetch(signal ? AbortSignal.any([signal, timeout]) : timeout) });
  try {
    return OllamaVersionResponse.parse(await client.version()).version;
  } catch (error) {
    if (signal?.aborted) throw error;
    if (timeout.aborted) {
      throw new AppError('unavailable', `Ollama at ${host} did not answer GET /api/version within ${VERSION_TIMEOUT_MS / 1000} s. Is it busy, or is the host on the Models page wrong?`, { cause: error });
    }
    throw new AppError('unavailable', describeOllamaFailure(host, 'GET /api/version', error), { cause: error });
  }
}

type Semver = readonly [number, number, number];

/** Major, minor, patch; a pre-release counts as its release. Null for what is no version, and a source build's 0.0.0. */
function parseVersion(version: string): Semver | null {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
  if (!match) return null;
  const parts = [Number(match[1]), Number(match[2]), Number(match[3])] as const;
  return parts.every((p) => p === 0) ? null : parts;
}

function older(a: Semver, b: Semver): boolean {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}

function checkRoute(route: 'merged' | 'adapter', serverVersion: string, host: string): void {
  const version = parseVersion(serverVersion);
  if (version && older(version, parseVersion(MERGED_ROUTE_MIN_VERSION)!)) {
    throw new AppError(
      'unavailable',
      `Ollama ${serverVersion} at ${host} is too old to create a model from an uploaded GGUF: /api/create takes uploaded files from Ollama ${MERGED_ROUTE_MIN_VERSION} on, for the merged and the adapter route alike. Upgrade Ollama, then publish again.`,
    );
  }
  if (route !== 'adapter') return;
  if (!version) {
    throw new AppError(
      'invalid_arguments',
      `Ollama at ${host} reports version "${serverVersion}", so it cannot be told whether it still creates a model from a LoRA adapter (Ollama ${ADAPTER_ROUTE_REMOVED_VERSION} and later do not). Publish the merged version instead.`,
      { field: 'route' },
    );
  }
  if (!older(version, parseVersion(ADAPTER_ROUTE_REMOVED_VERSION)!)) {
    throw new AppError(
      'invalid_arguments',
      `Ollama ${serverVersion} at ${host} no longer creates a model from a LoRA adapter (Ollama ${ADAPTER_ROUTE_REMOVED_VERSION} and later refuse it). Publish the merged version instead: it runs on any Ollama from ${MERGED_ROUTE_MIN_VERSION} on.`,
      { field: 'route' },
    );
  }
}

// ---- the files ----

async function blobsOf(request: PublishRequest): Promise<Blob[]> {
  const blobs = [await blobOf('files', request.modelPath, 'modelPath')];
  if (request.route === 'adapter') blobs.push(await blobOf('adapters', request.adapterPath!, 'adapterPath'));
  return blobs;
}

/** The file checked (there, a GGUF) before gigabytes go over the wire. */
async function blobOf(field: Blob['field'], path: string, argument: string): Promise<Blob> {
  const stats = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new AppError('not_found', `${path} cannot be read (${error.code ?? error.message}), so it cannot be published.`, { field: argument });
  });
  if (!stats.isFile()) throw new AppError('invalid_arguments', `${path} is not a file, so it cannot be published.`, { field: argument });
  const head = Buffer.alloc(4);
  const handle = await open(path, 'r');
  try {
    await handle.read(head, 0, 4, 0);
  } finally {
    await handle.close();
  }
  if (!head.equals(GGUF_MAGIC)) throw new AppError('invalid_arguments', `${path} is not a GGUF file (it does not start with "GGUF"); Ollama creates models from GGUF files.`, { field: argument });
  // Ollama tells a GGUF by its name's extension; the name must also be a plain relative path (fs.ValidPath).
  const stem = basename(path).replace(/\.gguf$/i, '').replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[._]+/, '') || 'model';
  return { field, path, name: `${stem}.gguf`, size: stats.size, digest: '' };
}

async function hashBlobs(blobs: Blob[], emit: (p: PublishProgress) => void, signal: AbortSignal | undefined): Promise<void> {
  const total = blobs.reduce((n, b) => n + b.size, 0);
  let before = 0;
  for (const blob of blobs) {
    const message = `Hashing ${basename(blob.path)}`;
    emit({ phase: 'hashing', done: before, total, message });
    const hex = await sha256File(blob.path, { ...(signal ? { signal } : {}), onProgress: (bytes) => emit({ phase: 'hashing', done: before + bytes, total, message }) });
    blob.digest = `sha256:${hex}`;
    before += blob.size;
    emit({ phase: 'hashing', done: before, total, message });
  }
}

// ---- blobs: plain fetch, as the package has no blob upload ----

/** The package's client, with the blob endpoints it lacks; URLs use the package's own reading of the host. */
class PublishClient extends Ollama {
  /** HEAD /api/blobs/:digest: whether the server already has the blob. */
  async hasBlob(digest: string, signal: AbortSignal | undefined): Promise<boolean> {
    const response = await fetch(this.blobUrl(digest), { method: 'HEAD', ...(signal ? { signal } : {}) });
    if (response.status === 200) return true;
    if (response.status === 404) return false;
    throw new BlobRefused(response.status, '');
  }

  /** POST /api/blobs/:digest with the file's first `size` bytes streamed from disk; `onBytes` gets the bytes read. */
  async pushBlob(blob: Blob, signal: AbortSignal | undefined, onBytes: (bytes: number) => void): Promise<void> {
    const init: RequestInit & { duplex: 'half' } = {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(blob.size) },
      body: fileBody(blob, onBytes),
      duplex: 'half',
      ...(signal ? { signal } : {}),
    };
    const response = await fetch(this.blobUrl(blob.digest), init);
    const text = await response.text().catch(() => '');
    if (response.status === 200 || response.status === 201) return;
    throw new BlobRefused(response.status, serverError(text));
  }

  private blobUrl(digest: string): string {
    return `${this.config.host}/api/blobs/${digest}`;
  }
}

class BlobRefused extends Error {
  constructor(
    readonly status: number,
    readonly serverMessage: string,
  ) {
    super(`HTTP ${status}${serverMessage ? `: ${serverMessage}` : ''}`);
  }
}

/** Ollama's {"error": "..."} body, or the text as it is. */
function serverError(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return brief(parsed.error);
  } catch {
    // not JSON: the text itself
  }
  return brief(text);
}

/** The file as a request body, read in chunks as fetch pulls them (never whole in memory), closed at the end. */
function fileBody(blob: Blob, onBytes: (bytes: number) => void): ReadableStream<Uint8Array> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  let position = 0;
  const close = async () => {
    const h = handle;
    handle = undefined;
    await h?.close();
  };
  return new ReadableStream<Uint8Array>({
    async start() {
      handle = await open(blob.path, 'r');
    },
    async pull(controller) {
      if (!handle) return;
      try {
        const length = Math.min(UPLOAD_CHUNK_BYTES, blob.size - position);
        const buffer = Buffer.allocUnsafe(Math.max(length, 0));
        const { bytesRead } = length > 0 ? await handle.read(buffer, 0, length, position) : { bytesRead: 0 };
        if (bytesRead === 0) {
          await close();
          // The end, or a file that shrank since it was hashed: fetch then fails on the Content-Length (blobError).
          controller.close();
          return;
        }
        position += bytesRead;
        controller.enqueue(new Uint8Array(buffer.buffer, buffer.byteOffset, bytesRead));
        onBytes(position);
      } catch (error) {
        await close();
        controller.error(error);
      }
    },
    async cancel() {
      await close();
    },
  });
}

async function uploadBlobs(client: PublishClient, host: string, blobs: Blob[], emit: (p: PublishProgress) => void, signal: AbortSignal | undefined): Promise<void> {
  const missing: Blob[] = [];
  for (const blob of blobs) {
    const there = await client.hasBlob(blob.digest, signal).catch((error: unknown) => {
      throw blobError(host, `HEAD /api/blobs/${blob.digest}`, blob, error, signal);
    });
    if (there) emit({ phase: 'uploading', done: 0, total: 0, message: `${basename(blob.path)} is already on the server (${blob.digest})` });
    else missing.push(blob);
  }
  const total = missing.reduce((n, b) => n + b.size, 0);
  let before = 0;
  for (const blob of missing) {
    const message = `Uploading ${basename(blob.path)}`;
    emit({ phase: 'uploading', done: before, total, message });
    await client.pushBlob(blob, signal, (bytes) => emit({ phase: 'uploading', done: before + bytes, total, message })).catch((error: unknown) => {
      throw blobError(host, `the upload of ${basename(blob.path)}`, blob, error, signal);
    });
    before += blob.size;
    emit({ phase: 'uploading', done: before, total, message });
  }
}

function blobError(host: string, what: string, blob: Blob, error: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return error;
  if ((error as { cause?: { code?: unknown } })?.cause?.code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') {
    return new AppError('unavailable', `${blob.path} got shorter while it was uploaded (it had ${blob.size} bytes when hashed). Is something still writing it? Publish again once it is done.`, { cause: error });
  }
  if (!(error instanceof BlobRefused)) return new AppError('unavailable', describeOllamaFailure(host, what, error), { cause: error });
  const quoted = error.serverMessage ? `: "${error.serverMessage}"` : '';
  if (error.status === 400 && /digest mismatch/i.test(error.serverMessage)) {
    return new AppError(
      'unavailable',
      `Ollama at ${host} refused ${basename(blob.path)}: what it received does not hash to ${blob.digest} (HTTP 400${quoted}). Did the file change while it was published? Publish again.`,
      { cause: error },
    );
  }
  if (error.status >= 500) {
    const disk = /no space|disk|quota/i.test(error.serverMessage) ? ' Its disk looks full: free space where Ollama keeps models (OLLAMA_MODELS, by default ~/.ollama/models), then publish again.' : ' See the Ollama server log, then publish again.';
    return new AppError('unavailable', `Ollama at ${host} could not store ${basename(blob.path)} (HTTP ${error.status}${quoted}).${disk}`, { cause: error });
  }
  return new AppError('unavailable', `Ollama at ${host} refused ${what} (HTTP ${error.status}${quoted}).`, { cause: error });
}

// ---- create: the package's create(), with `files` ----

type CreateFromBlobs = CreateRequest & { stream: true; files: Record<string, string> };

async function createModel(client: PublishClient, host: string, request: PublishRequest, blobs: Blob[], emit: (p: PublishProgress) => void, signal: AbortSignal | undefined): Promise<void> {
  const name = request.name.trim();
  const named = (field: Blob['field']) => Object.fromEntries(blobs.filter((b) => b.field === field).map((b) => [b.name, b.digest]));
  const body: CreateFromBlobs = {
    model: name,
    stream: true,
    files: named('files'),
    ...(request.route === 'adapter' ? { adapters: named('adapters') } : {}),
    template: request.chat.template,
    parameters: { ...request.chat.parameters, stop: [...request.chat.stop] },
    ...(request.system ? { system: request.system } : {}),
  };
  emit({ phase: 'creating', done: 0, total: 0, message: `Creating ${name}` });
  try {
    const stream = await client.create(body);
    const onAbort = () => stream.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const line of stream) {
        emit({ phase: 'creating', done: line.completed ?? 0, total: line.total ?? 0, message: line.status });
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  } catch (error) {
    if (signal?.aborted) throw error;
    throw createError(host, name, error);
  }
}

function createError(host: string, name: string, error: unknown): AppError {
  if (isOllamaResponseError(error)) {
    return new AppError('unavailable', `Ollama at ${host} refused to create "${name}" (HTTP ${error.status_code}: "${brief(error.error)}").`, { cause: error });
  }
  if (error instanceof Error && error.message === 'Did not receive done or success response in stream.') {
    return new AppError('unavailable', `Ollama at ${host} stopped answering while it created "${name}", before it said success. Check the Ollama server log, then publish again.`, { cause: error });
  }
  // The package rethrows an {"error": "..."} line of the stream as a plain Error.
  if (error instanceof Error && error.constructor === Error && !(error as { cause?: unknown }).cause) {
    return new AppError('unavailable', `Ollama at ${host} could not create "${name}": "${brief(error.message)}".`, { cause: error });
  }
  return new AppError('unavailable', describeOllamaFailure(host, `POST /api/create for "${name}"`, error), { cause: error });
}

