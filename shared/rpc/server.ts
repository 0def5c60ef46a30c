import { AppError, invalidArguments, toWireError } from '../errors';
import { findEvent, findMethod, methodNames } from './contract';
import type { ContractSpec, EventName, EventPayload, ServiceHandlers } from './contract';
import { ClientMessage } from './protocol';
import type { CallResult, ServerMessage } from './protocol';

/** One client's session with the server: feed it raw messages, close it when the pipe closes. */
export interface RpcConnection {
  receive(raw: unknown): void;
  close(): void;
}

/** What a transport binding needs from the server: a way to open a connection. */
export interface RpcEndpoint {
  connect(send: (message: ServerMessage) => void): RpcConnection;
}

export interface RpcServerOptions {
  /** Called with messages that could not be answered (malformed, no id). Default: console.warn. */
  readonly onProtocolError?: (message: string) => void;
}

type Handler = (args: unknown, context: { signal: AbortSignal }) => unknown;

/**
 * Dispatches contract calls to service handlers over any message pipe (Electron IPC, WebSocket,
 * in-memory). Arguments are validated here, on arrival; results and events are validated by the client.
 */
export class RpcServer<C extends ContractSpec> implements RpcEndpoint {
  private readonly subscribers = new Map<string, Set<(message: ServerMessage) => void>>();
  private readonly onProtocolError: (message: string) => void;

  constructor(
    private readonly contract: C,
    private readonly handlers: ServiceHandlers<C>,
    options: RpcServerOptions = {},
  ) {
    this.onProtocolError = options.onProtocolError ?? ((m) => console.warn(`[rpc] ${m}`));
  }

  /** Pushes an event to every connection subscribed to it. */
  emit<N extends EventName<C>>(event: N, payload: EventPayload<C, N>): void {
    for (const send of this.subscribers.get(event) ?? []) send({ type: 'event', event, payload });
  }

  connect(send: (message: ServerMessage) => void): RpcConnection {
    const pending = new Map<number, AbortController>();
    const subscribed = new Set<string>();
    let closed = false;
    const reply = (id: number, result: CallResult) => {
      if (!closed) send({ type: 'result', id, result });
    };
    const fail = (id: number, error: AppError) => reply(id, { ok: false, error: error.toWire() });

    const call = (id: number, name: string, rawArgs: unknown) => {
      if (pending.has(id)) return fail(id, new AppError('bad_message', `Call id ${id} is already in use.`));
      const spec = findMethod(this.contract, name);
      const handler = spec && this.handlerFor(name);
      if (!spec || !handler) {
        const known = methodNames(this.contract).join(', ');
        return fail(id, new AppError('unknown_method', `Unknown method '${name}'. Known methods: ${known}.`));
      }
      const parsed = spec.args.safeParse(rawArgs);
      if (!parsed.success) return fail(id, invalidArguments(parsed.error, 'args'));
      const controller = new AbortController();
      pending.set(id, controller);
      Promise.resolve()
        .then(() => handler(parsed.data, { signal: controller.signal }))
        .then(
          (value) => ({ ok: true as const, value }),
          (error: unknown) => ({ ok: false as const, error: toWireError(error) }),
        )
        .then((result) => {
          // A cancelled call was already answered; its late result is dropped.
          if (pending.get(id) !== controller) return;
          pending.delete(id);
          reply(id, result);
        });
    };

    const subscribe = (id: number, event: string, on: boolean) => {
      if (!findEvent(this.contract, event)) {
        return fail(id, new AppError('unknown_event', `Unknown event '${event}'.`));
      }
      if (on) this.addSubscriber(event, send, subscribed);
      else this.removeSubscriber(event, send, subscribed);
      reply(id, { ok: true, value: null });
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
        closed = true;
        for (const controller of pending.values()) controller.abort(new AppError('disconnected', 'The client went away.'));
        pending.clear();
        for (const event of [...subscribed]) this.removeSubscriber(event, send, subscribed);
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

  private addSubscriber(event: string, send: (m: ServerMessage) => void, mine: Set<string>) {
    let set = this.subscribers.get(event);
    if (!set) this.subscribers.set(event, (set = new Set()));
    set.add(send);
    mine.add(event);
  }

  private removeSubscriber(event: string, send: (m: ServerMessage) => void, mine: Set<string>) {
    this.subscribers.get(event)?.delete(send);
    mine.delete(event);
  }
}
