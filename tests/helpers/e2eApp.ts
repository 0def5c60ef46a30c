// The end-to-end specs' way past first-run setup: a fresh data folder shows the setup dialog over the app (as a
// new user sees it), so every spec but first-run.spec.ts marks it skipped through the real API, as the dialog's
// "Skip setup" does, before its first page opens.
import { startServe } from './cli';
import type { ServeProcess } from './cli';
import { clientOver, openSocket } from './wsClient';

/** The host's RPC address with its token, from the page address `architect serve` printed. */
export function rpcUrlOf(pageUrl: string): string {
  const url = new URL(pageUrl);
  return `ws://${url.host}/rpc?token=${encodeURIComponent(url.searchParams.get('token') ?? '')}`;
}

/** Calls `use` with the app's typed API over a WebSocket of its own, closed afterwards. */
export async function withApi<T>(pageUrl: string, use: (api: ReturnType<typeof clientOver>['api']) => Promise<T>): Promise<T> {
  const socket = await openSocket(rpcUrlOf(pageUrl));
  try {
    return await use(clientOver(socket).api);
  } finally {
    socket.close();
  }
}

/** Marks first-run setup skipped (`app.setSettings({ firstRun: { skipped: true } })`). */
export async function skipFirstRun(pageUrl: string): Promise<void> {
  await withApi(pageUrl, (api) => api.app.setSettings({ firstRun: { skipped: true } }));
}

/** `architect serve` on `dataDir` with first-run setup already skipped. */
export async function startServeSkippingSetup(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<ServeProcess> {
  const server = await startServe(dataDir, env);
  try {
    await skipFirstRun(server.url);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}
