// A local HTTP server (127.0.0.1, a free port) that serves generated GGUF files the way Hugging Face
// does for node-llama-cpp's downloader: Range requests, HEAD, Accept-Ranges. Plus the failures a
// download must survive: a 404, a body cut short, a file that is no GGUF, a size no disk holds, and a
// throttled route to pause a download in the middle.
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { gaussian, writeTinyModel } from './tinyModel';
import type { TinyModelSpec } from './tinyModel';

export interface ServedModel {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

/** Writes a llama-architecture GGUF with F32 weights (no quantizer needed) and returns its size and hash. */
export function writeServedModel(dir: string, name: string, spec: Omit<TinyModelSpec, 'type'> = {}): ServedModel {
  const path = join(dir, name);
  writeTinyModel(path, { type: 'f32', ...spec }, (_type, data) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return { path, size: statSync(path).size, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') };
}

export interface RequestLog {
  readonly method: string;
  readonly url: string;
  readonly range: string | undefined;
}

export interface ModelServer {
  /** E.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly url: string;
  /**
   * `<url>/files/NAME`: the file, with Range support. `<url>/slow/NAME`: the same, throttled. `<url>/hf/…`:
   * an HF_ENDPOINT (`hf/OWNER/REPO/resolve/BRANCH/NAME` serves NAME). `<url>/missing/NAME`: 404.
   * `<url>/truncated/NAME`: half the file, no length announced, then the end. `<url>/not-gguf/NAME.gguf`:
   * 2 MB of random bytes. `<url>/huge/NAME`: announces 10¹⁵ bytes. `<url>/gone/NAME`: HEAD finds it, GET answers 404.
   */
  readonly requests: RequestLog[];
  /** File bytes sent in answers to Range requests (what a download fetches; the downloader's own size probe asks for no range). */
  rangeBytes(): number;
  /** File bytes sent in all answers. */
  bodyBytes(): number;
  /** Zeroes the counters and the log. */
  reset(): void;
  /** Bytes per second per answer on /slow/ (default 2 MB/s); null: full speed. */
  throttle(bytesPerSecond: number | null): void;
  close(): Promise<void>;
}

const HUGE = 1e15;

export async function startModelServer(files: Record<string, string>): Promise<ModelServer> {
  let rate: number | null = 2e6;
  let rangeBytes = 0;
  let bodyBytes = 0;
  const requests: RequestLog[] = [];
  const random = gaussian(99);
  const notGguf = Buffer.from(Float32Array.from({ length: 512 * 1024 }, () => random()).buffer);

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({ method: req.method ?? 'GET', url: url.pathname, range: req.headers.range });
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const route = parts[0];
    const name = parts[parts.length - 1] ?? '';
    const count = (n: number) => {
      bodyBytes += n;
      if (req.headers.range) rangeBytes += n;
    };
    if (route === 'missing') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
    if (route === 'huge') {
      res.writeHead(200, { 'content-length': String(HUGE), 'accept-ranges': 'bytes' });
      return void (req.method === 'HEAD' ? res.end() : res.destroy());
    }
    if (route === 'gone') {
      // Found by HEAD, gone by the time the body is asked for.
      if (req.method === 'HEAD') return void res.writeHead(200, { 'content-length': '1000000', 'accept-ranges': 'bytes' }).end();
      return void res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
    }
    if (route === 'not-gguf') {
      return serveRange(req, res, notGguf.length, (start, end) => notGguf.subarray(start, end + 1), null, count);
    }
    const path = files[name];
    if (!path || !['files', 'slow', 'hf', 'truncated'].includes(route ?? '')) return void res.writeHead(404).end('Not found');
    const size = statSync(path).size;
    if (route === 'truncated') {
      // No Content-Length: the body simply ends at half the file, as a proxy cutting a transfer would.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      if (req.method === 'HEAD') return void res.end();
      return void pump(createReadStream(path, { start: 0, end: Math.floor(size / 2) - 1 }), res, null, count);
    }
    const throttled = route === 'slow' ? () => rate : null;
    serveRange(req, res, size, (start, end) => createReadStream(path, { start, end }), throttled, count);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    rangeBytes: () => rangeBytes,
    bodyBytes: () => bodyBytes,
    reset: () => {
      rangeBytes = 0;
      bodyBytes = 0;
      requests.length = 0;
    },
    throttle: (bytesPerSecond) => void (rate = bytesPerSecond),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One byte range (or the whole body) of `size` bytes, as HTTP/1.1 servers answer. */
function serveRange(
  req: IncomingMessage,
  res: ServerResponse,
  size: number,
  read: (start: number, end: number) => Readable | Buffer,
  rate: (() => number | null) | null,
  count: (n: number) => void,
): void {
  const headers = { 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
  let start = 0;
  let end = size - 1;
  const range = req.headers.range;
  if (range) {
    const match = /^bytes=(\d*)-(\d*)$/.exec(range);
    if (!match || (match[1] === '' && match[2] === '')) return void res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
    if (match[1] === '') {
      start = Math.max(0, size - Number(match[2]));
    } else {
      start = Number(match[1]);
      if (match[2] !== '') end = Math.min(size - 1, Number(match[2]));
    }
    if (start > end || start >= size) return void res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
    res.writeHead(206, { ...headers, 'content-length': String(end - start + 1), 'content-range': `bytes ${start}-${end}/${size}` });
  } else {
    res.writeHead(200, { ...headers, 'content-length': String(size) });
  }
  if (req.method === 'HEAD') return void res.end();
  const body = read(start, end);
  if (Buffer.isBuffer(body)) {
    count(body.length);
    return void res.end(body);
  }
  pump(body, res, rate, count);
}

/** Streams `source` to `res`, at most `rate()` bytes per second when given, minding backpressure. */
function pump(source: Readable, res: ServerResponse, rate: (() => number | null) | null, count: (n: number) => void): void {
  let closed = false;
  res.on('close', () => {
    closed = true;
    source.destroy();
  });
  void (async () => {
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        for (let offset = 0; offset < chunk.length; ) {
          if (closed) return;
          const limit = rate?.() ?? null;
          const piece = chunk.subarray(offset, offset + (limit === null ? chunk.length : Math.max(1024, Math.min(64 * 1024, Math.floor(limit / 20)))));
          offset += piece.length;
          count(piece.length);
          if (!res.write(piece)) {
            // Both listeners go once either fires, so a long throttled answer does not pile them up.
            await new Promise<void>((resolve) => {
              const done = () => {
                res.off('drain', done);
                res.off('close', done);
                resolve();
              };
              res.once('drain', done);
              res.once('close', done);
            });
          }
          if (limit !== null) await new Promise((resolve) => setTimeout(resolve, (piece.length / limit) * 1000));
        }
      }
      if (!closed) res.end();
    } catch {
      res.destroy();
    }
  })();
}
