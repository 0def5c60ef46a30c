// An HF_ENDPOINT for end-to-end tests whose downloads must be slow enough to watch: it answers
// `/hf/OWNER/REPO/resolve/BRANCH/NAME` (how node-llama-cpp resolves an `hf:` URI under HF_ENDPOINT) from the
// model server's throttled route `/slow/NAME`, passing the method and the Range header through.
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HfProxy {
  /** The value for HF_ENDPOINT, e.g. http://127.0.0.1:41234/hf/ */
  readonly endpoint: string;
  close(): Promise<void>;
}

/** Starts the proxy in front of `modelServerUrl` (a tests/helpers/modelServer.ts server). */
export async function startSlowHfProxy(modelServerUrl: string): Promise<HfProxy> {
  const upstream = new URL(modelServerUrl);
  const server = createServer((req, res) => {
    const parts = new URL(req.url ?? '/', 'http://x').pathname.split('/').filter(Boolean);
    if (parts[0] !== 'hf' || parts[3] !== 'resolve' || parts.length < 6) return void res.writeHead(404).end('Not found');
    const name = parts.at(-1)!;
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: `/slow/${name}`, headers: req.headers.range ? { range: req.headers.range } : {} },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    res.on('close', () => forward.destroy());
    forward.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/hf/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
