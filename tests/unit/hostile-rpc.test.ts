import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineMethod, defineService } from '../../shared/rpc/contract';
import type { ConnectionScope, ServiceHandlers } from '../../shared/rpc/contract';
import { connectInProcess } from '../../shared/rpc/loopback';
import { EncodedJson } from '../../shared/rpc/protocol';
import type { ServerMessage } from '../../shared/rpc/protocol';
import { RpcServer } from '../../shared/rpc/server';

// The server's bounds per connection: calls in flight, one heavy call at a time whose turn ends only once
// its answer is written out, a close hook for what a connection holds, and answers already encoded.

const contract = {
  demo: defineService({
    methods: {
      wait: defineMethod({ summary: 'resolves when told', args: z.object({ key: z.string() }).strict(), result: z.string() }),
      heavy: defineMethod({ summary: 'one at a time', args: z.object({ n: z.number() }).strict(), result: z.number(), concurrency: 1 }),
      hold: defineMethod({ summary: 'keeps something until the connection closes', args: z.object({}).strict(), result: z.number() }),
      encoded: defineMethod({ summary: 'an answer encoded ahead', args: z.object({}).strict(), result: z.object({ text: z.string(), n: z.number() }) }),
    },
    events: {},
  }),
};

function setup(maxCallsInFlight?: number) {
  const waiting = new Map<string, () => void>();
  const heavyStarted: number[] = [];
  const closed: number[] = [];
  const handlers: ServiceHandlers<typeof contract> = {
    demo: {
      wait: ({ key }) => new Promise((resolve) => waiting.set(key, () => resolve(key))),
      heavy: ({ n }) => (heavyStarted.push(n), n),
      hold: (_args, { connection }: { connection: ConnectionScope }) => {
        connection.onClose(() => closed.push(connection.id));
        return connection.id;
      },
      encoded: () => new EncodedJson(() => ({ text: 'a "quoted"\nline', n: 2 }), [new TextEncoder().encode(JSON.stringify({ text: 'a "quoted"\nline', n: 2 }))]),
    },
  };
  const server = new RpcServer(contract, handlers, { ...(maxCallsInFlight ? { maxCallsInFlight } : {}), onProtocolError: () => {} });
  return { server, waiting, heavyStarted, closed };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('per-connection bounds of the RPC server', () => {
  it('refuses calls past the bound in flight, by name, and takes them again once answers go out', async () => {
    const { server, waiting } = setup(4);
    const sent: ServerMessage[] = [];
    const connection = server.connect((m) => void sent.push(m));
    for (let id = 1; id <= 5; id++) connection.receive({ type: 'call', id, method: 'demo.wait', args: { key: `k${id}` } });
    await tick();
    expect(sent).toEqual([
      { type: 'result', id: 5, result: { ok: false, error: { code: 'unavailable', message: expect.stringContaining('already has 4 calls waiting for an answer') } } },
    ]);
    waiting.get('k1')!();
    await tick();
    connection.receive({ type: 'call', id: 6, method: 'demo.wait', args: { key: 'k6' } });
    await tick();
    expect(sent.map((m) => m.type === 'result' && m.id)).toEqual([5, 1]);
    expect(waiting.has('k6')).toBe(true);
    // Another connection has its own bound.
    const other: ServerMessage[] = [];
    const second = server.connect((m) => void other.push(m));
    second.receive({ type: 'call', id: 1, method: 'demo.heavy', args: { n: 1 } });
    await tick();
    expect(other).toEqual([{ type: 'result', id: 1, result: { ok: true, value: 1 } }]);
  });

  it('starts the next heavy call only after the last answer was written out (a client that does not read gets no more)', async () => {
    const { server, heavyStarted } = setup();
    const flushes: (() => void)[] = [];
    const sent: ServerMessage[] = [];
    const connection = server.connect((m) => {
      sent.push(m);
      return new Promise<void>((resolve) => flushes.push(resolve));
    });
    for (let n = 1; n <= 3; n++) connection.receive({ type: 'call', id: n, method: 'demo.heavy', args: { n } });
    await tick();
    expect(heavyStarted).toEqual([1]);
    expect(sent).toHaveLength(1);
    // Cancelling the one waiting behind answers it and takes it out of the line.
    connection.receive({ type: 'cancel', id: 2 });
    await tick();
    flushes.shift()!();
    await tick();
    expect(heavyStarted).toEqual([1, 3]);
    expect(sent.map((m) => m.type === 'result' && [m.id, m.result.ok])).toEqual([
      [1, true],
      [2, false],
      [3, true],
    ]);
    // A close ends the line: nothing more starts.
    connection.receive({ type: 'call', id: 4, method: 'demo.heavy', args: { n: 4 } });
    connection.close();
    for (const flush of flushes.splice(0)) flush();
    await tick();
    expect(heavyStarted).toEqual([1, 3]);
  });

  it('tells a handler when its connection closes, once, and each connection has its own id', async () => {
    const { server, closed } = setup();
    const a = connectInProcess(contract, server);
    const b = connectInProcess(contract, server);
    const idA = await a.api.demo.hold({});
    const idB = await b.api.demo.hold({});
    expect(idA).not.toBe(idB);
    a.disconnect();
    a.disconnect();
    expect(closed).toEqual([idA]);
    b.disconnect();
    expect(closed).toEqual([idA, idB]);
  });

  it('sends an encoded answer as bytes to a transport that takes them, and as a value to any other', async () => {
    const { server } = setup();
    const parts: Uint8Array[][] = [];
    const connection = server.connect(() => {}, { sendEncoded: async (p) => void parts.push([...p]) });
    connection.receive({ type: 'call', id: 7, method: 'demo.encoded', args: {} });
    await tick();
    const text = new TextDecoder().decode(Buffer.concat(parts[0]!));
    expect(JSON.parse(text)).toEqual({ type: 'result', id: 7, result: { ok: true, value: { text: 'a "quoted"\nline', n: 2 } } });
    const client = connectInProcess(contract, server);
    await expect(client.api.demo.encoded({})).resolves.toEqual({ text: 'a "quoted"\nline', n: 2 });
  });
});
