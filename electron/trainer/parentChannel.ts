// The channel from a child process (ChildHost's) to its parent: Electron's `process.parentPort` in a utility
// process, else Node's IPC channel in a forked process. Shared by the children's entries.

/** The parent, as the child sees it. */
export interface Parent<Message> {
  send(message: Message): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Resolves once what was sent has left (before an exit). */
  flush(): Promise<void>;
}

interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
}

/** This process's parent; throws naming `what` when there is none (it was run by hand, not by ChildHost). */
export function parentChannel<Message>(what: string): Parent<Message> {
  const port = (process as unknown as { parentPort?: ElectronParentPort | null }).parentPort;
  if (port) {
    return {
      send: (message) => port.postMessage(message),
      onMessage: (listener) => port.on('message', (event) => listener(event.data)),
      // postMessage has no callback; give it a moment to leave before the process goes.
      flush: () => new Promise((resolve) => setTimeout(resolve, 100)),
    };
  }
  if (process.send) {
    let last: Promise<void> = Promise.resolve();
    return {
      send: (message) => {
        last = new Promise((resolve) => (process.connected ? process.send!(message, undefined, {}, () => resolve()) : resolve()));
      },
      onMessage: (listener) => process.on('message', listener),
      flush: () => last,
    };
  }
  throw new Error(`the ${what} runs as a child process (ChildHost): it has no parent to talk to`);
}

/** How a child entry ends: after what it sent has left, and with `error` for anything uncaught. */
export interface ChildEnd {
  exit(code: number): Promise<never>;
  /** Sends the error (its stack goes to stderr, the host's log tail), then exits 1. */
  fail(error: unknown): void;
}

/** Installs the uncaught-error handlers of a child entry; `errorMessage` wraps an error as its protocol's message. */
export function childEnd<Message>(parent: Parent<Message>, errorMessage: (error: unknown) => Message): ChildEnd {
  let exiting = false;
  const exit = async (code: number): Promise<never> => {
    exiting = true;
    await parent.flush();
    process.exit(code);
  };
  const fail = (error: unknown): void => {
    if (exiting) return;
    console.error(error);
    parent.send(errorMessage(error));
    void exit(1);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  return { exit, fail };
}
