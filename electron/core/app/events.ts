import type { Contract } from '../../../shared/contract';
import type { EventName, EventPayload } from '../../../shared/rpc/contract';
import type { RpcEndpoint } from '../../../shared/rpc/server';

export type CoreEventListeners = { [N in EventName<Contract>]?: (payload: EventPayload<Contract, N>) => void };

/**
 * Listens to the core's own events as they are emitted, through a connection on the server like any client's,
 * so the tray and the notifications hear exactly what the UI hears without the services knowing of them.
 * Delivery is synchronous (no copy, no validation: the payloads are the core's own). Returns the function that
 * stops listening.
 */
export function listenToCore(rpc: RpcEndpoint, listeners: CoreEventListeners): () => void {
  const handlers = listeners as Record<string, ((payload: unknown) => void) | undefined>;
  const connection = rpc.connect((message) => {
    if (message.type !== 'event') return;
    try {
      handlers[message.event]?.(message.payload);
    } catch (error) {
      // A listener's bug must not break the service that emitted the event.
      console.warn(`[app] handling ${message.event} failed: ${(error as Error).message}`);
    }
  });
  Object.keys(listeners).forEach((event, i) => connection.receive({ type: 'subscribe', id: i + 1, event }));
  return () => connection.close();
}
