import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore } from '../../electron/core/services';
import type { Core } from '../../electron/core/services';
import { startHeadlessHost } from '../../electron/headless/host';
import type { HeadlessHost } from '../../electron/headless/host';
import { makeTempDir } from '../helpers/tempDir';
import { clientOver, openSocket } from '../helpers/wsClient';

let core: Core;
let host: HeadlessHost;
const dataDir = makeTempDir();
const staticDir = join(dataDir.path, 'static');

beforeAll(async () => {
  mkdirSync(staticDir);
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(dataDir.path, 'secret.txt'), 'outside the static folder');
  core = await createCore({ dataDir: join(dataDir.path, 'data') });
  host = await startHeadlessHost({ rpc: core.rpc, staticDir });
});

afterAll(async () => {
  await host?.close();
  await core?.dispose();
  dataDir.remove();
});

const rpcUrl = (token?: string) => `ws://127.0.0.1:${host.port}/rpc${token === undefined ? '' : `?token=${token}`}`;

describe('headless host', () => {
  it('listens on 127.0.0.1 and prints a URL carrying its token', () => {
    expect(host.url).toBe(`http://127.0.0.1:${host.port}/?token=${host.token}`);
    expect(host.token.length).toBeGreaterThanOrEqual(32);
  });

  it('refuses a connection without the token, or with a wrong one', async () => {
    await expect(openSocket(rpcUrl())).rejects.toThrow('HTTP 401');
    await expect(openSocket(rpcUrl('x'.repeat(host.token.length)))).rejects.toThrow('HTTP 401');
  });

  it('refuses a page from another origin even with the token', async () => {
    await expect(openSocket(rpcUrl(host.token), { Origin: 'http://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(openSocket(rpcUrl(host.token), { Origin: `http://127.0.0.1:${host.port + 1}` })).rejects.toThrow('HTTP 403');
  });

  it("with the token, system.hardware returns this machine's real values", async () => {
    const socket = await openSocket(rpcUrl(host.token), { Origin: `http://127.0.0.1:${host.port}` });
    const client = clientOver(socket);
    const info = await client.api.system.hardware({});
    expect(info.memory.totalBytes).toBeGreaterThan(0);
    expect(info.cpu.logicalCores).toBeGreaterThanOrEqual(1);
    expect(info.disk.path).toBe(core.dataDir);
    expect(info.disk.freeBytes).toBeGreaterThan(0);
    expect(info.compute.backend).not.toBeNull();
    socket.close();
  });

  it('answers bad arguments and unknown methods with typed errors and keeps the connection', async () => {
    const socket = await openSocket(rpcUrl(host.token));
    const client = clientOver(socket);
    await expect(client.api.system.hardware({ verbose: true } as never)).rejects.toMatchObject({ code: 'invalid_arguments' });
    const reply = new Promise((resolve) => socket.once('message', (data) => resolve(JSON.parse(data.toString()))));
    socket.send(JSON.stringify({ type: 'call', id: 99, method: 'system.format_disk', args: {} }));
    expect(await reply).toMatchObject({ id: 99, result: { ok: false, error: { code: 'unknown_method' } } });
    await expect(client.api.system.hardware({})).resolves.toHaveProperty('cpu');
    socket.close();
  });

  it('serves the renderer, never files outside it, and nothing to a foreign Host', async () => {
    const base = `http://127.0.0.1:${host.port}`;
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>app</title>');
    expect((await fetch(`${base}/system`)).status).toBe(200); // a client-side route
    expect((await fetch(`${base}/missing.js`)).status).toBe(404);
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt']) {
      const res = await fetch(`${base}${path}`);
      expect(await res.text()).not.toContain('outside the static folder');
    }
    const rebinding = await rawGet(host.port, '/', 'attacker.example');
    expect(rebinding).toMatch(/^HTTP\/1\.1 403/);
    // Malformed targets any page could send get 400, and the host lives on.
    expect(await rawGet(host.port, '/%E0%A4%A', `127.0.0.1:${host.port}`)).toMatch(/^HTTP\/1\.1 400/);
    expect(await rawGet(host.port, 'http://[', `127.0.0.1:${host.port}`)).toMatch(/^HTTP\/1\.1 400/);
    expect((await fetch(`${base}/`)).status).toBe(200);
  });
});

/** fetch() cannot set Host; a raw request can. */
async function rawGet(port: number, path: string, hostHeader: string): Promise<string> {
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}
