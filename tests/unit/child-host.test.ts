// ChildHost on real child processes (and a worker thread): throwaway entries written to a temp folder.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ChildHost, forkSpawner, workerThreadSpawner } from '../../electron/core/childHost';
import type { ChildHostOptions, CrashInfo, ExitInfo } from '../../electron/core/childHost';
import { AppError } from '../../shared/errors';
import { makeTempDir } from '../helpers/tempDir';

const Message = z.object({ type: z.enum(['ready', 'pong', 'note']), text: z.string().optional() });
type Message = z.infer<typeof Message>;
type Request = { type: 'ping' | 'exit' | 'stop' | 'throw'; text?: string };

const ENTRIES = {
  echo: `
console.log('hello from echo');
process.send({ type: 'ready' });
process.send({ type: 'note', text: 'sent right after ready' });
process.on('message', (m) => {
  if (m.type === 'ping') process.send({ type: 'pong', text: m.text });
  if (m.type === 'exit') process.exit(0);
});`,
  silent: `
console.log('pid ' + process.pid);
console.error('still loading');
setInterval(() => {}, 1000);`,
  malformed: `
process.send({ type: 'ready' });
setTimeout(() => process.send({ type: 'bogus', text: 42 }), 20);
setInterval(() => {}, 1000);`,
  lines: `
for (let i = 1; i <= 5; i++) console.log('line ' + i);
console.error('about to wait');
process.send({ type: 'ready' });
setInterval(() => {}, 1000);`,
  stubborn: `
process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
process.on('message', (m) => console.log('ignoring ' + m.type));
process.send({ type: 'ready' });
setInterval(() => {}, 1000);`,
  many: `
for (let i = 1; i <= 50; i++) console.log('line ' + i);
process.send({ type: 'ready' });
process.on('message', () => process.exit(0));`,
  thread: `
import { parentPort, workerData } from 'node:worker_threads';
console.log(workerData.greeting);
parentPort.postMessage({ type: 'ready' });
parentPort.on('message', (m) => {
  if (m.type === 'ping') parentPort.postMessage({ type: 'pong', text: m.text });
  if (m.type === 'throw') throw new Error('boom in the thread');
});`,
} as const;

let dir: ReturnType<typeof makeTempDir>;
const hosts: ChildHost<Request, Message>[] = [];

beforeAll(() => {
  dir = makeTempDir('architect-child-host-');
  for (const [name, source] of Object.entries(ENTRIES)) writeFileSync(join(dir.path, `${name}.mjs`), source);
});
afterAll(() => {
  for (const host of hosts) host.kill();
  dir.remove();
});

async function start(entry: keyof typeof ENTRIES, options: Partial<ChildHostOptions<Message>> = {}): Promise<ChildHost<Request, Message>> {
  const host = await ChildHost.start<Request, Message>({
    name: entry,
    entry: join(dir.path, `${entry}.mjs`),
    spawner: forkSpawner,
    messages: Message,
    isReady: (m) => m.type === 'ready',
    ...options,
  });
  hosts.push(host);
  return host;
}

const nextMessage = (host: ChildHost<Request, Message>) => new Promise<Message>((resolve) => {
  const off = host.onMessage((m) => {
    off();
    resolve(m);
  });
});
const crashOf = (host: ChildHost<Request, Message>) => new Promise<CrashInfo>((resolve) => host.onCrash(resolve));
const exitOf = (host: ChildHost<Request, Message>) => new Promise<ExitInfo>((resolve) => host.onExit(resolve));

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('ChildHost over forked Node processes', () => {
  it('resolves after the ready handshake, keeps messages that came before a listener, and reports a clean exit', async () => {
    const host = await start('echo');
    expect(host.pid).toBeGreaterThan(0);
    expect(host.readyMessage).toEqual({ type: 'ready' });
    expect(await nextMessage(host)).toEqual({ type: 'note', text: 'sent right after ready' });
    const pong = nextMessage(host);
    host.send({ type: 'ping', text: 'hi' });
    expect(await pong).toEqual({ type: 'pong', text: 'hi' });
    let crashed = false;
    host.onCrash(() => (crashed = true));
    const exited = exitOf(host);
    host.send({ type: 'exit' });
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(await host.waitForExit(1000)).toBe('exited');
    expect(crashed).toBe(false);
    expect(host.logTail()).toContain('hello from echo');
    host.send({ type: 'ping' }); // dropped: it has ended
    expect(host.logTail().at(-1)).toBe('[host] dropped a message to echo: it has ended');
  });

  it('kills a child that sends no ready in time and rejects with its log tail', async () => {
    const started = start('silent', { readyTimeoutMs: 1000 });
    const error = await started.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('unavailable');
    expect((error as AppError).message).toMatch(/The silent process could not start: it did not become ready within 1 s and was killed/);
    expect((error as AppError).message).toContain('still loading');
    const pid = Number(/pid (\d+)/.exec((error as AppError).message)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
  });

  it('rejects at once when the entry exits before ready', async () => {
    const error = (await start('missing' as keyof typeof ENTRIES).then(() => undefined, (e: unknown) => e)) as AppError;
    expect(error.code).toBe('unavailable');
    expect(error.message).toMatch(/it exited with code 1/);
    expect(error.message).toMatch(/Cannot find module/);
  });

  it('treats a malformed message as a broken child: killed, onCrash with the reason', async () => {
    const host = await start('malformed');
    const received: Message[] = [];
    host.onMessage((m) => received.push(m));
    const crash = await crashOf(host);
    expect(crash.reason).toMatch(/^malformed sent a malformed message \(type: /);
    expect(crash.signal).toBe('SIGKILL');
    expect(crash.logTail.join('\n')).toMatch(/malformed message from malformed .*bogus/);
    expect(received).toEqual([]);
    expect(alive(host.pid ?? 0)).toBe(false);
  });

  it('reports a SIGKILL from outside as a crash with the signal and the last log lines', async () => {
    const host = await start('lines');
    await until(() => host.logTail().includes('about to wait') && host.logTail().includes('line 5'));
    let exited = false;
    host.onExit(() => (exited = true));
    const crash = crashOf(host);
    process.kill(host.pid!, 'SIGKILL');
    const info = await crash;
    expect(info).toMatchObject({ code: null, signal: 'SIGKILL', reason: 'lines was killed by SIGKILL' });
    expect(info.logTail).toEqual(expect.arrayContaining(['line 4', 'line 5', 'about to wait']));
    expect(exited).toBe(false);
    // A listener added after the end still hears it.
    expect((await crashOf(host)).signal).toBe('SIGKILL');
  });

  it('waitForExit kills a child that ignores a stop and resolves killed', async () => {
    const host = await start('stubborn');
    const crash = crashOf(host);
    host.send({ type: 'stop' });
    const startedAt = Date.now();
    expect(await host.waitForExit(300)).toBe('killed');
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(290);
    const info = await crash;
    expect(info).toMatchObject({ signal: 'SIGKILL', reason: 'stubborn did not exit within 0.3 s and was killed' });
    expect(info.logTail).toContain('ignoring stop');
    expect(alive(host.pid ?? 0)).toBe(false);
    expect(await host.waitForExit(300)).toBe('exited');
  });

  it('keeps only the last N lines', async () => {
    const host = await start('many', { logLines: 5 });
    const exited = exitOf(host);
    host.send({ type: 'exit' });
    await exited;
    expect(host.logTail()).toEqual(['line 46', 'line 47', 'line 48', 'line 49', 'line 50']);
    host.addLog('a note of ours');
    expect(host.logTail()).toEqual(['line 47', 'line 48', 'line 49', 'line 50', 'a note of ours']);
  });
});

describe('ChildHost over a worker thread', () => {
  it('passes workerData, talks both ways, and reports an uncaught error as a crash with its stack', async () => {
    const host = await start('thread', { spawner: workerThreadSpawner, data: { greeting: 'hello from the thread' } });
    expect(host.pid).toBeUndefined();
    const pong = nextMessage(host);
    host.send({ type: 'ping', text: 'hi' });
    expect(await pong).toEqual({ type: 'pong', text: 'hi' });
    const crash = crashOf(host);
    host.send({ type: 'throw' });
    const info = await crash;
    expect(info).toMatchObject({ code: 1, signal: null, reason: 'thread exited with code 1' });
    expect(info.logTail[0]).toBe('hello from the thread');
    expect(info.logTail.join('\n')).toContain('boom in the thread');
  });

  it('kill terminates the thread and reports it as a crash', async () => {
    const host = await start('thread', { spawner: workerThreadSpawner, data: { greeting: 'hi' } });
    const crash = crashOf(host);
    host.kill();
    expect(await crash).toMatchObject({ code: null, signal: 'SIGKILL', reason: 'thread was killed' });
  });

  it('runs a data: URL module as the entry, and a thread past its heap limit is a crash that names the limit', async () => {
    const source = `import { parentPort } from 'node:worker_threads';
parentPort.postMessage({ type: 'ready' });
parentPort.on('message', () => { const hoard = []; for (;;) hoard.push(new Array(1e5).fill(hoard.length)); });`;
    const host = await start('thread', { entry: `data:text/javascript,${encodeURIComponent(source)}`, spawner: workerThreadSpawner, resourceLimits: { maxOldGenerationSizeMb: 16 } });
    const crash = crashOf(host);
    host.send({ type: 'ping' });
    const info = await crash;
    expect(info).toMatchObject({ code: 1, reason: 'thread exited with code 1' });
    expect(info.logTail.join('\n')).toMatch(/reaching memory limit: JS heap out of memory/);
  });

  it('a thrown value that is not an Error still reaches the log tail', async () => {
    const source = `import { parentPort } from 'node:worker_threads';
parentPort.postMessage({ type: 'ready' });
throw { code: 'E_ODD', detail: 42 };`;
    const host = await start('thread', { entry: `data:text/javascript,${encodeURIComponent(source)}`, spawner: workerThreadSpawner });
    const info = await crashOf(host);
    expect(info.reason).toBe('thread exited with code 1');
    expect(info.logTail).toContain('uncaught {"code":"E_ODD","detail":42}');
  });
});
