import type { Db } from '../../db/connection';
import { z } from 'zod';
import { checkpointWorker } from '../../db/checkpointer';
import type { Checkpointer, CheckpointerOptions } from '../../db/checkpointer';
import { ChildHost, workerThreadSpawner } from './childHost';

export type { Checkpointer, CheckpointerOptions } from '../../db/checkpointer';

/** How long stop() waits for the worker's last checkpoint before it is terminated, in ms. */
const STOP_TIMEOUT_MS = 30_000;

/**
 * Runs the store's checkpoint worker (db/checkpointer.ts: a PASSIVE WAL checkpoint every `intervalMs`
 * on a connection of its own) in a worker thread through ChildHost. It never keeps the process alive,
 * except to finish stop(). Should it fail, a warning names why and the connection checkpoints by itself
 * again (SQLite's default threshold).
 */
export function startCheckpointer(db: Db, options: CheckpointerOptions = {}): Checkpointer {
  const worker = checkpointWorker(db, options);
  const failed = (why: string) => {
    console.warn(`[db] the checkpoint worker failed (${why}); the connection checkpoints by itself again`);
    worker.restore();
  };
  // Without a handshake the thread is spawned at once, here; start() resolves a moment later.
  const started = ChildHost.start<'stop', never>({
    name: 'checkpoint worker',
    entry: worker.entry,
    spawner: workerThreadSpawner,
    messages: z.never(),
    data: worker.data,
    logLines: 20,
  }).then(
    (host) => {
      host.unref();
      host.onCrash((crash) => failed(`${crash.reason}${crash.logTail.length ? `: ${crash.logTail.join(' | ')}` : ''}`));
      return host;
    },
    (error: unknown) => {
      failed((error as Error).message);
      return undefined;
    },
  );
  return {
    stop: async () => {
      const host = await started;
      if (host) {
        host.ref(); // the last checkpoint must finish before the process may exit
        host.send('stop');
        await host.waitForExit(STOP_TIMEOUT_MS);
      }
      worker.restore();
    },
  };
}
