import { utilityProcess } from 'electron';
import { HandleEvents } from '../core/childHost';
import type { Spawner } from '../core/childHost';

/**
 * ChildHost's children as Electron utility processes (Node in a Chromium service process): the entry
 * talks through `process.parentPort`. Call only after app 'ready'. Electron reports an exit code and no
 * signal, and its kill() is always SIGTERM; so a kill goes to the pid with the signal asked for, and an
 * end we caused that way is reported with that signal.
 */
export const utilitySpawner: Spawner = {
  spawn(entry, options) {
    const events = new HandleEvents();
    const child = utilityProcess.fork(entry, options.args ?? [], {
      stdio: 'pipe',
      serviceName: options.name,
      ...(options.env ? { env: options.env } : {}),
    });
    let killedWith: NodeJS.Signals | undefined;
    events.pipe(child.stdout, 'stdout');
    events.pipe(child.stderr, 'stderr');
    child.on('message', (message: unknown) => events.message(message));
    child.on('error', (type, location) => events.output(`[${options.name}] ${type} at ${location}`, 'stderr'));
    child.on('exit', (code) => events.exit(killedWith ? null : code, killedWith ?? null));
    return {
      get pid() {
        return child.pid;
      },
      send: (message) => child.postMessage(message),
      kill: (signal = 'SIGTERM') => {
        killedWith ??= signal;
        if (child.pid === undefined) return void child.kill();
        try {
          process.kill(child.pid, signal);
        } catch {
          child.kill();
        }
      },
      ...events.handle,
    };
  },
};
