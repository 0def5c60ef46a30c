import { createClient } from './client';
import type { RpcClient } from './client';
import type { ContractSpec } from './contract';
import type { RpcEndpoint } from './server';

/**
 * A client joined to a server in the same process, for the CLI and tests. Messages are cloned and
 * delivered asynchronously, as over a real pipe, so nothing is shared by reference.
 */
export function connectInProcess<C extends ContractSpec>(contract: C, rpc: RpcEndpoint): RpcClient<C> & { disconnect(): void } {
  const toClient = new Set<(message: unknown) => void>();
  const onClose = new Set<(reason: string) => void>();
  let open = true;
  const connection = rpc.connect((message) => {
    const copy = structuredClone(message);
    queueMicrotask(() => open && toClient.forEach((l) => l(copy)));
  });
  const client = createClient(contract, {
    send: (message) => {
      const copy = structuredClone(message);
      queueMicrotask(() => open && connection.receive(copy));
    },
    onMessage: (listener) => (toClient.add(listener), () => void toClient.delete(listener)),
    onClose: (listener) => (onClose.add(listener), () => void onClose.delete(listener)),
  });
  return {
    ...client,
    disconnect: () => {
      if (!open) return;
      open = false;
      connection.close();
      onClose.forEach((l) => l('disconnected'));
    },
  };
}
