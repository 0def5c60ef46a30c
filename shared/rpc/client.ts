import { AppError } from '../errors';
import { findEvent, invalidResult } from './contract';
import type { ClientApi, ContractSpec, EventName, EventPayload } from './contract';
import { ServerMessage } from './protocol';
import type { ClientMessage } from './protocol';

/** A message pipe to the server: Electron IPC through the preload, a WebSocket, or in-memory in tests. */
export interface ClientTransport {
  send(message: ClientMessage): void;
  /** Returns the function that removes the listener. */
  onMessage(listener: (message: unknown) => void): () => void;
  /** Called once if the pipe closes for good; pending calls then fail with `disconnected`. */
  onClose?(listener: (reason: string) => void): () => void;
}

export interface RpcClient<C extends ContractSpec> {
  readonly api: ClientApi<C>;
  /** Listens to a server event; returns the function that stops listening. */
  on<N extends EventName<C>>(event: N, listener: (payload: EventPayload<C, N>) => void): () => void;
  /** Fails pending calls and detaches from the transport. */
  close(): void;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: AppError): void;
  method: string;
}

export function createClient<C extends ContractSpec>(contract: C, transport: ClientTransport): RpcClient<C> {
  let nextId = 1;
  let closedReason: string | undefined;
  const pending = new Map<number, Pending>();
  const listeners = new Map<string, Set<(payload: unknown) => void>>();

  const request = (message: ClientMessage, method: string, signal?: AbortSignal): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (closedReason !== undefined) return reject(new AppError('disconnected', closedReason));
      if (signal?.aborted) return reject(new AppError('cancelled', 'The call was cancelled.'));
      const onAbort = () => {
        if (!pending.delete(message.id)) return;
        transport.send({ type: 'cancel', id: message.id });
        reject(new AppError('cancelled', 'The call was cancelled.'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      pending.set(message.id, {
        method,
        resolve: (v) => (signal?.removeEventListener('abort', onAbort), resolve(v)),
        reject: (e) => (signal?.removeEventListener('abort', onAbort), reject(e)),
      });
      transport.send(message);
    });

  const call = async (service: string, method: string, args: unknown, signal?: AbortSignal) => {
    const name = `${service}.${method}`;
    const value = await request({ type: 'call', id: nextId++, method: name, args }, name, signal);
    const spec = contract[service]!.methods[method]!;
    const parsed = spec.result.safeParse(value);
    if (!parsed.success) throw invalidResult(name, parsed.error);
    return parsed.data;
  };

  const api = Object.fromEntries(
    Object.entries(contract).map(([service, spec]) => [
      service,
      Object.fromEntries(
        Object.keys(spec.methods).map((method) => [
          method,
          (args: unknown, options?: { signal?: AbortSignal }) => call(service, method, args, options?.signal),
        ]),
      ),
    ]),
  ) as ClientApi<C>;

  const receive = (raw: unknown) => {
    const parsed = ServerMessage.safeParse(raw);
    if (!parsed.success) return console.warn('[rpc] dropped a malformed server message');
    const message = parsed.data;
    if (message.type === 'result') {
      const entry = pending.get(message.id);
      if (!entry) return;
      pending.delete(message.id);
      if (message.result.ok) entry.resolve(message.result.value);
      else entry.reject(AppError.fromWire(message.result.error));
      return;
    }
    const schema = findEvent(contract, message.event);
    const payload = schema?.safeParse(message.payload);
    if (!payload?.success) return console.warn(`[rpc] dropped an invalid '${message.event}' event`);
    for (const listener of listeners.get(message.event) ?? []) {
      try {
        listener(payload.data);
      } catch (error) {
        console.error(`[rpc] a '${message.event}' listener threw`, error);
      }
    }
  };

  const fireAndForget = (type: 'subscribe' | 'unsubscribe', event: string) => {
    request({ type, id: nextId++, event }, event).catch((error: AppError) => {
      if (error.code !== 'disconnected') console.warn(`[rpc] ${type} ${event}: ${error.message}`);
    });
  };

  const close = (reason: string) => {
    if (closedReason !== undefined) return;
    closedReason = reason;
    for (const entry of pending.values()) entry.reject(new AppError('disconnected', reason));
    pending.clear();
    listeners.clear();
    stopReceiving();
    stopClose?.();
  };

  const stopReceiving = transport.onMessage(receive);
  const stopClose = transport.onClose?.((reason) => close(`Lost the connection to the app: ${reason}`));

  return {
    api,
    on(event, listener) {
      if (!findEvent(contract, event)) throw new AppError('unknown_event', `Unknown event '${event}'.`);
      let set = listeners.get(event);
      if (!set) {
        listeners.set(event, (set = new Set()));
        fireAndForget('subscribe', event);
      }
      const wrapped = listener as (payload: unknown) => void;
      set.add(wrapped);
      return () => {
        if (!set.delete(wrapped) || set.size > 0 || listeners.get(event) !== set) return;
        listeners.delete(event);
        if (closedReason === undefined) fireAndForget('unsubscribe', event);
      };
    },
    close: () => close('The client was closed.'),
  };
}
