import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { AppError } from '../../shared/errors';
import { defineMethod, defineService } from '../../shared/rpc/contract';
import type { ServiceHandlers } from '../../shared/rpc/contract';
import { connectInProcess } from '../../shared/rpc/loopback';
import type { ServerMessage } from '../../shared/rpc/protocol';
import { RpcServer } from '../../shared/rpc/server';

const testContract = {
  demo: defineService({
    methods: {
      echo: defineMethod({ summary: 'echo', args: z.object({ text: z.string().max(10) }).strict(), result: z.object({ text: z.string() }) }),
      slow: defineMethod({ summary: 'waits for abort', args: z.object({}), result: z.null() }),
      fail: defineMethod({ summary: 'throws', args: z.object({ typed: z.boolean() }), result: z.null() }),
      badResult: defineMethod({ summary: 'returns the wrong shape', args: z.object({}), result: z.object({ n: z.number() }) }),
    },
    events: { ticked: z.object({ n: z.number().int() }) },
  }),
};

function setup() {
  const aborted: unknown[] = [];
  let releaseSlow: () => void = () => {};
  const slowStarted = new Promise<void>((resolve) => (releaseSlow = resolve));
  const handlers: ServiceHandlers<typeof testContract> = {
    demo: {
      echo: ({ text }) => ({ text: text.toUpperCase() }),
      slow: (_args, { signal }) => {
        releaseSlow();
        return new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => (aborted.push(signal.reason), reject(signal.reason))),
        );
      },
      fail: ({ typed }) => {
        if (typed) throw new AppError('not_found', 'No artifact 42.', { field: 'args.id' });
        throw new Error('disk on fire');
      },
      badResult: () => ({ n: 'not a number' }) as unknown as { n: number },
    },
  };
  const protocolErrors: string[] = [];
  const server = new RpcServer(testContract, handlers, { onProtocolError: (m) => protocolErrors.push(m) });
  const client = connectInProcess(testContract, server);
  return { server, client, aborted, slowStarted, protocolErrors };
}

/** A raw connection, for messages a typed client cannot send. */
function raw(server: RpcServer<typeof testContract>) {
  const received: ServerMessage[] = [];
  const connection = server.connect((m) => received.push(m));
  return { connection, received };
}

describe('contract over an in-memory transport pair', () => {
  it('calls a method with validated arguments and returns its typed result', async () => {
    const { client } = setup();
    await expect(client.api.demo.echo({ text: 'hi' })).resolves.toEqual({ text: 'HI' });
  });

  it('answers invalid arguments with a typed error naming the field, and the server keeps serving', async () => {
    const { client } = setup();
    const error = await client.api.demo.echo({ text: 'far too long for ten' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'invalid_arguments', field: 'args.text' });
    const extra = await client.api.demo.echo({ text: 'a', extra: 1 } as never).catch((e: AppError) => e);
    expect(extra).toMatchObject({ code: 'invalid_arguments' });
    await expect(client.api.demo.echo({ text: 'ok' })).resolves.toEqual({ text: 'OK' });
  });

  it('answers unknown methods, prototype names included, with unknown_method', async () => {
    const { server } = setup();
    const { connection, received } = raw(server);
    for (const [id, method] of [[1, 'demo.nope'], [2, 'nope.echo'], [3, 'demo.toString'], [4, '__proto__.constructor'], [5, 'demo']] as const) {
      connection.receive({ type: 'call', id, method, args: {} });
    }
    await vi.waitFor(() => expect(received).toHaveLength(5));
    for (const message of received) {
      expect(message).toMatchObject({ type: 'result', result: { ok: false, error: { code: 'unknown_method' } } });
    }
  });

  it('answers malformed messages with bad_message when they carry an id, and reports the rest', async () => {
    const { server, protocolErrors } = setup();
    const { connection, received } = raw(server);
    connection.receive({ type: 'call', id: 7 });
    connection.receive({ type: 'launch-missiles' });
    connection.receive('not even an object');
    connection.receive(null);
    expect(received).toEqual([
      { type: 'result', id: 7, result: { ok: false, error: expect.objectContaining({ code: 'bad_message' }) } },
    ]);
    expect(protocolErrors).toHaveLength(3);
  });

  it('keeps a service error typed, and turns an unexpected throw into internal', async () => {
    const { client } = setup();
    await expect(client.api.demo.fail({ typed: true })).rejects.toMatchObject({ code: 'not_found', field: 'args.id', message: 'No artifact 42.' });
    await expect(client.api.demo.fail({ typed: false })).rejects.toMatchObject({ code: 'internal', message: 'disk on fire' });
  });

  it('validates results on arrival', async () => {
    const { client } = setup();
    await expect(client.api.demo.badResult({})).rejects.toMatchObject({ code: 'bad_message', message: expect.stringContaining('result.n') });
  });

  it('delivers events to subscribers only, and stops after unsubscribe', async () => {
    const { server, client } = setup();
    const seen: number[] = [];
    const broken = vi.fn(() => {
      throw new Error('listener bug');
    });
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => {});
    const stopBroken = client.on('demo.ticked', broken);
    const stop = client.on('demo.ticked', (p) => seen.push(p.n));
    await client.api.demo.echo({ text: 'sync' }); // the subscribe message has been handled by now
    server.emit('demo.ticked', { n: 1 });
    await vi.waitFor(() => expect(seen).toEqual([1]));
    expect(broken).toHaveBeenCalledTimes(1);
    expect(consoleError).toHaveBeenCalledWith(expect.stringContaining('listener threw'), expect.any(Error));
    consoleError.mockRestore();
    stop();
    stopBroken();
    await client.api.demo.echo({ text: 'sync' });
    server.emit('demo.ticked', { n: 2 });
    await client.api.demo.echo({ text: 'sync' });
    expect(seen).toEqual([1]);
    expect(broken).toHaveBeenCalledTimes(1);
  });

  it('drops events whose payload does not match the schema', async () => {
    const { server, client } = setup();
    const seen: unknown[] = [];
    client.on('demo.ticked', (p) => seen.push(p));
    await client.api.demo.echo({ text: 'sync' });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    server.emit('demo.ticked', { n: 1.5 });
    server.emit('demo.ticked', { n: 3 });
    await vi.waitFor(() => expect(seen).toEqual([{ n: 3 }]));
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('demo.ticked'));
    warn.mockRestore();
  });

  it('refuses to subscribe to an unknown event', async () => {
    const { server, client } = setup();
    expect(() => client.on('demo.nothing' as never, () => {})).toThrow(/Unknown event/);
    const { connection, received } = raw(server);
    connection.receive({ type: 'subscribe', id: 1, event: 'demo.nothing' });
    expect(received[0]).toMatchObject({ result: { ok: false, error: { code: 'unknown_event' } } });
  });

  it('cancels a long call: the caller gets cancelled, the handler sees its signal abort', async () => {
    const { client, aborted, slowStarted } = setup();
    const controller = new AbortController();
    const call = client.api.demo.slow({}, { signal: controller.signal });
    await slowStarted;
    controller.abort();
    await expect(call).rejects.toMatchObject({ code: 'cancelled' });
    await vi.waitFor(() => expect(aborted).toHaveLength(1));
    expect(aborted[0]).toMatchObject({ code: 'cancelled' });
    await expect(client.api.demo.slow({}, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('fails pending calls with disconnected and aborts their handlers when the pipe closes', async () => {
    const { client, aborted, slowStarted } = setup();
    const call = client.api.demo.slow({});
    await slowStarted;
    client.disconnect();
    await expect(call).rejects.toMatchObject({ code: 'disconnected' });
    expect(aborted).toHaveLength(1);
    await expect(client.api.demo.echo({ text: 'x' })).rejects.toMatchObject({ code: 'disconnected' });
  });
});
