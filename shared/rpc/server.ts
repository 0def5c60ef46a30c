import { AppError, invalidArguments, toWireError } from '../errors';
import { findEvent, findMethod, methodNames } from './contract';
import type { CallContext, ConnectionScope, ContractSpec, EventName, EventPayload, MethodSpec, ServiceHandlers } from './contract';
import { ClientMessage, EncodedJson } from './protocol';
import type { CallResult, ServerMessage } from './protocol';

/** One client's session with the server: feed it raw messages, close it when the pipe closes. */
export interface RpcConnection {
  receive(raw: unknown): void;
  close(): void;
}

/**
 * How a connection's messages leave. `send` may return a promise (anything else counts as written) that settles once the message has been
 * written out (a socket's buffer drained to the OS): calls with a `concurrency` wait for it before the
 * next one starts, which is the back-pressure against a client that does not read.
 */
export type SendMessage = (message: ServerMessage) => unknown;

export interface ConnectOptions {
  /** Sends one text message given as the UTF-8 parts of its JSON; settles once written out. Without it, encoded results go through `send` as values. */
  readonly sendEncoded?: (parts: readonly Uint8Array[]) => Promise<void>;
}

/** What a transport binding needs from the server: a way to open a connection. */
export interface RpcEndpoint {
  connect(send: SendMessage, options?: ConnectOptions): RpcConnection;
}

export interface RpcServerOptions {
  /** Called with messages that could not be answered (malformed, no id). Default: console.warn. */
  readonly onProtocolError?: (message: string) => void;
  /** Calls one connection may have waiting for an answer (running or waiting their turn); more are refused. Default 64. */
  readonly maxCallsInFlight?: number;
}

type Handler = (args: unknown, context: CallContext) => unknown;

/** A connection's turns for one method with a `concurrency`: how many run, and who waits (in order). */
interface Lane {
  running: number;
  readonly waiting: (() => void)[];
}

const DEFAULT_MAX_IN_FLIGHT = 64;
const encoder = new TextEncoder();

/**
 * Dispatches contract calls to service handlers over any message pipe (Electron IPC, WebSocket,
 * in-memory). Arguments are validated here, on arrival; results and events are validated by the client.
 * Each connection has a bound on its calls in flight and on how many of its heavy calls run at once, so
 * one client cannot take the process's memory or thread from the others.
 */
export class RpcServer<C extends ContractSpec> implements RpcEndpoint {
  private readonly subscribers = new Map<string, Set<SendMessage>>();
  private readonly onProtocolError: (message: string) => void;
  private readonly maxInFlight: number;
  private nextConnectionId = 1;

  constructor(
    private readonly contract: C,
    private readonly handlers: ServiceHandlers<C>,
    options: RpcServerOptions = {},
  ) {
    this.onProtocolError = options.onProtocolError ?? ((m) => console.warn(`[rpc] ${m}`));
    this.maxInFlight = options.maxCallsInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  }

  /** Pushes an event to every connection subscribed to it. */
  emit<N extends EventName<C>>(event: N, payload: EventPayload<C, N>): void {
    for (const send of this.subscribers.get(event) ?? []) void send({ type: 'event', event, payload });
  }

  connect(send: SendMessage, options: ConnectOptions = {}): RpcConnection {
    const pending = new Map<number, AbortController>();
    const subscribed = new Set<string>();
    const lanes = new Map<string, Lane>();
    /** Calls waiting their turn: how to take each out of its lane. */
    const queued = new Map<number, () => void>();
    const scope = connectionScope(this.nextConnectionId++);
    let closed = false;
    const reply = (id: number, result: CallResult): Promise<void> => {
      if (closed) return Promise.resolve();
      if (result.ok && result.value instanceof EncodedJson) {
        const encoded = result.value as EncodedJson<unknown>;
        if (options.sendEncoded) {
          const head = encoder.encode(`{"type":"result","id":${id},"result":{"ok":true,"value":`);
          return options.sendEncoded([head, ...encoded.parts, encoder.encode('}}')]);
        }
        result = { ok: true, value: encoded.value };
      }
      return Promise.resolve(send({ type: 'result', id, result })).then(
        () => {},
        () => {},
      );
    };
    const fail = (id: number, error: AppError) => void reply(id, { ok: false, error: error.toWire() });

    /** Runs `start` when the method's lane has room (at once without a `concurrency`); `release` ends the turn. */
    const takeTurn = (id: number, name: string, spec: MethodSpec, start: (release: () => void) => void) => {
      if (spec.concurrency === undefined) return start(() => {});
      const lane = lanes.get(name) ?? { running: 0, waiting: [] };
      lanes.set(name, lane);
      const run = () => {
        queued.delete(id);
        lane.running++;
        let released = false;
        start(() => {
          if (released) return;
          released = true;
          lane.running--;
          lane.waiting.shift()?.();
        });
      };
      if (lane.running < spec.concurrency) return run();
      lane.waiting.push(run);
      queued.set(id, () => {
        const at = lane.waiting.indexOf(run);
        if (at >= 0) lane.waiting.splice(at, 1);
      });
    };

    const call = (id: number, name: string, rawArgs: unknown) => {
      if (pending.has(id)) return fail(id, new AppError('bad_message', `Call id ${id} is already in use.`));
      const spec = findMethod(this.contract, name);
      const handler = spec && this.handlerFor(name);
      if (!spec || !handler) {
        const known = methodNames(this.contract).join(', ');
        return fail(id, new AppError('unknown_method', `Unknown method '${name}'. Known methods: ${known}.`));
      }
      if (pending.size >= this.maxInFlight) {
        return fail(id, new AppError('unavailable', `This connection already has ${this.maxInFlight} calls waiting for an answer: wait for some of them before sending more.`));
      }
      const parsed = spec.args.safeParse(rawArgs);
      if (!parsed.success) return fail(id, invalidArguments(parsed.error, 'args'));
      const controller = new AbortController();
      pending.set(id, controller);
      takeTurn(id, name, spec, (release) => {
        // Cancelled or disconnected while waiting its turn: already answered.
        if (pending.get(id) !== controller) return release();
        Promise.resolve()
          .then(() => handler(parsed.data, { signal: controller.signal, connection: scope }))
          .then(
            (value) => ({ ok: true as const, value }),
            (error: unknown) => ({ ok: false as const, error: toWireError(error) }),
          )
          .then((result) => {
            // A cancelled call was already answered; its late result is dropped.
            if (pending.get(id) !== controller) return;
            pending.delete(id);
            return reply(id, result);
          })
          .finally(release);
      });
    };

    const subscribe = (id: number, event: string, on: boolean) => {
      if (!findEvent(this.contract, event)) {
        return fail(id, new AppError('unknown_event', `Unknown event '${event}'.`));
      }
      if (on) this.addSubscriber(event, send, subscribed);
      else this.removeSubscriber(event, send, subscribed);
      void reply(id, { ok: true, value: null });
    };

    return {
      receive: (raw) => {
        if (closed) return;
        const parsed = ClientMessage.safeParse(raw);
        if (!parsed.success) {
          const id = (raw as { id?: unknown } | null)?.id;
          const error = new AppError('bad_message', `Malformed message: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
          if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) fail(id, error);
          else this.onProtocolError(error.message);
          return;
        }
        const message = parsed.data;
        switch (message.type) {
          case 'call':
            return call(message.id, message.method, message.args);
          case 'cancel': {
            const controller = pending.get(message.id);
            if (!controller) return;
            pending.delete(message.id);
            queued.get(message.id)?.();
            queued.delete(message.id);
            controller.abort(new AppError('cancelled', 'The call was cancelled.'));
            return fail(message.id, new AppError('cancelled', 'The call was cancelled.'));
          }
          case 'subscribe':
            return subscribe(message.id, message.event, true);
          case 'unsubscribe':
            return subscribe(message.id, message.event, false);
        }
      },
      close: () => {
        if (closed) return;
        closed = true;
        for (const controller of pending.values()) controller.abort(new AppError('disconnected', 'The client went away.'));
        pending.clear();
        queued.clear();
        for (const lane of lanes.values()) lane.waiting.length = 0;
        for (const event of [...subscribed]) this.removeSubscriber(event, send, subscribed);
        scope.close();
      },
    };
  }

  private handlerFor(name: string): Handler | undefined {
    const [service, method] = name.split('.', 2) as [string, string];
    const handlers = this.handlers as unknown as Record<string, Record<string, Handler>>;
    const serviceHandlers = Object.hasOwn(handlers, service) ? handlers[service] : undefined;
    const handler = serviceHandlers?.[method];
    // Own or prototype methods of the service object, never Object.prototype's.
    if (typeof handler !== 'function' || Object.hasOwn(Object.prototype, method)) return undefined;
    return handler.bind(serviceHandlers);
  }

  private addSubscriber(event: string, send: SendMessage, mine: Set<string>) {
    let set = this.subscribers.get(event);
    if (!set) this.subscribers.set(event, (set = new Set()));
    set.add(send);
    mine.add(event);
  }

  private removeSubscriber(event: string, send: SendMessage, mine: Set<string>) {
    this.subscribers.get(event)?.delete(send);
    mine.delete(event);
  }
}

/** A connection's scope, and the function that closes it (calling its listeners once, each guarded). */
function connectionScope(id: number): ConnectionScope & { close(): void } {
  const listeners = new Set<() => void>();
  let closed = false;
  const call = (listener: () => void) => {
    try {
      listener();
    } catch (error) {
      console.warn(`[rpc] a close listener of connection ${id} failed: ${(error as Error).message}`);
    }
  };
  return {
    id,
    get closed() {
      return closed;
    },
    onClose(listener) {
      if (closed) {
        queueMicrotask(() => call(listener));
        return () => {};
      }
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    close() {
      closed = true;
      for (const listener of [...listeners]) call(listener);
      listeners.clear();
    },
  };
}
