import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { pipeline } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { RpcEndpoint } from '../../shared/rpc/server';

export interface HeadlessHostOptions {
  readonly rpc: RpcEndpoint;
  /** Folder of the built renderer (index.html and assets). */
  readonly staticDir: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Defaults to a fresh random token. */
  readonly token?: string;
}

export interface HeadlessHost {
  /** The page to open, token included. */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const RPC_PATH = '/rpc';
const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/**
 * Serves the built renderer and the contract over a WebSocket, on 127.0.0.1 only. A connection needs
 * the random token, and a browser's Origin must be this host's own page (no other site can drive it).
 */
export async function startHeadlessHost(options: HeadlessHostOptions): Promise<HeadlessHost> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const http = createServer((req, res) => {
    serveStatic(options.staticDir, req, res, ownHosts()).catch(() => {
      if (!res.headersSent) end(res, 500, 'Internal error');
      else res.destroy();
    });
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const ownHosts = () => {
    const { port } = http.address() as AddressInfo;
    return [`127.0.0.1:${port}`, `localhost:${port}`];
  };

  http.on('upgrade', (req, socket, head) => {
    const refusal = checkUpgrade(req, token, ownHosts());
    if (refusal) {
      socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveConnection(options.rpc, ws));
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, HOST, () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://${HOST}:${port}/?token=${token}`,
    port,
    token,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/**
 * One WebSocket joined to the server. A send settles once ws has written it out to the socket (or the
 * socket is gone): the server's back-pressure for heavy calls. Pre-encoded results go out as the
 * fragments of one text message, so a 16 MiB page is never serialized or copied whole on this thread.
 */
function serveConnection(rpc: RpcEndpoint, ws: WebSocket): void {
  const written = (resolve: () => void) => () => resolve();
  const connection = rpc.connect(
    (message) =>
      new Promise<void>((resolve) => {
        if (ws.readyState !== ws.OPEN) return resolve();
        ws.send(JSON.stringify(message), written(resolve));
      }),
    {
      sendEncoded: (parts) =>
        new Promise<void>((resolve) => {
          if (ws.readyState !== ws.OPEN) return resolve();
          parts.forEach((part, i) => {
            const last = i === parts.length - 1;
            const data = Buffer.from(part.buffer, part.byteOffset, part.byteLength);
            ws.send(data, { binary: false, fin: last }, last ? written(resolve) : undefined);
          });
        }),
    },
  );
  ws.on('message', (data, isBinary) => {
    if (isBinary) return ws.close(1003, 'text frames only');
    let message: unknown;
    try {
      message = JSON.parse(data.toString());
    } catch {
      return ws.close(1007, 'invalid JSON');
    }
    connection.receive(message);
  });
  ws.on('close', () => connection.close());
  ws.on('error', () => connection.close());
}

/** Why an upgrade is refused (an HTTP status line), or undefined to accept it. */
function checkUpgrade(req: IncomingMessage, token: string, ownHosts: string[]): string | undefined {
  const url = parseTarget(req.url);
  if (!url) return '400 Bad Request';
  if (url.pathname !== RPC_PATH) return '404 Not Found';
  if (!ownHosts.includes(req.headers.host ?? '')) return '403 Forbidden';
  // Browsers always send Origin; only our own page may connect. Non-browser clients still need the token.
  const origin = req.headers.origin;
  if (origin !== undefined && !ownHosts.some((h) => origin === `http://${h}`)) return '403 Forbidden';
  if (!sameSecret(url.searchParams.get('token') ?? '', token)) return '401 Unauthorized';
  return undefined;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function serveStatic(root: string, req: IncomingMessage, res: ServerResponse, ownHosts: string[]): Promise<void> {
  // A page on another host name (DNS rebinding) gets nothing.
  if (!ownHosts.includes(req.headers.host ?? '')) return end(res, 403, 'Forbidden');
  if (req.method !== 'GET' && req.method !== 'HEAD') return end(res, 405, 'Method Not Allowed');
  const target = parseTarget(req.url);
  let pathname: string;
  try {
    pathname = decodeURIComponent(target?.pathname ?? '');
  } catch {
    return end(res, 400, 'Bad Request');
  }
  if (!target) return end(res, 400, 'Bad Request');
  const relative = normalize(pathname).replace(/^([/\\])+/, '');
  let file = join(root, relative);
  if (file !== root && !file.startsWith(root.endsWith(sep) ? root : root + sep)) return end(res, 403, 'Forbidden');
  let info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) {
    // Unknown paths without an extension are client-side routes: serve the app.
    if (extname(relative)) return end(res, 404, 'Not Found');
    file = join(root, 'index.html');
    info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return end(res, 500, `The renderer is not built (no ${file}). Run: npm run build`);
  }
  res.writeHead(200, {
    'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'Content-Length': info.size,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  if (req.method === 'HEAD') return void res.end();
  pipeline(createReadStream(file), res, () => {});
}

/** The request target as a URL, or undefined when it cannot be parsed (any page could send one). */
function parseTarget(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://placeholder');
  } catch {
    return undefined;
  }
}

function end(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
}
