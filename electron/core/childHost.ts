import { fork } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { Worker } from 'node:worker_threads';
import type { ResourceLimits } from 'node:worker_threads';
import type { Readable } from 'node:stream';
import type { z } from 'zod';
import { AppError } from '../../shared/errors';

// One host for every worker we run: a spawned child (forked Node, Electron's utility process, a worker
// thread) behind a Spawner, and the lifecycle around it: a `ready` handshake, every message validated,
// the last lines of its output kept, and any end but a clean exit 0 reported as a crash with them.

export interface ChildHandle {
  readonly pid: number | undefined;
  send(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  /** code/signal as the OS reports them. */
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  /** Lines of the child's stdout and stderr. */
  onOutput(listener: (line: string, stream: 'stdout' | 'stderr') => void): void;
  kill(signal?: NodeJS.Signals): void;
  /** Whether the child keeps this process alive (worker threads); absent: it always does. */
  ref?(): void;
  unref?(): void;
}

export interface SpawnOptions {
  readonly name: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly args?: string[];
  /** Worker threads only: the `workerData` (it may hold a SharedArrayBuffer). Processes get none. */
  readonly data?: unknown;
  /** Worker threads only: heap limits; a thread that reaches them ends (a crash). */
  readonly resourceLimits?: ResourceLimits;
}

export interface Spawner {
  spawn(entry: string, options: SpawnOptions): ChildHandle;
}

type Stream = 'stdout' | 'stderr';

/** Calls `listener` with each line of `stream` (the last one too, without its newline). */
function eachLine(stream: Readable | NodeJS.ReadableStream | null | undefined, name: Stream, listener: (line: string, stream: Stream) => void): Promise<void> {
  if (!stream) return Promise.resolve();
  const decoder = new StringDecoder('utf8');
  let rest = '';
  const emit = (text: string) => {
    const lines = (rest + text).split('\n');
    rest = lines.pop()!;
    for (const line of lines) listener(line.replace(/\r$/, ''), name);
  };
  stream.on('data', (chunk: Buffer | string) => emit(typeof chunk === 'string' ? chunk : decoder.write(chunk)));
  return new Promise((resolve) => {
    const done = () => {
      emit(decoder.end());
      if (rest) listener(rest.replace(/\r$/, ''), name);
      rest = '';
      resolve();
    };
    stream.once('end', done);
    stream.once('close', done);
  });
}

/** The parts every spawner shares: listener lists, output lines, one exit report after the output has drained. */
export class HandleEvents {
  private readonly messageListeners: ((message: unknown) => void)[] = [];
  private readonly exitListeners: ((code: number | null, signal: string | null) => void)[] = [];
  private readonly outputListeners: ((line: string, stream: Stream) => void)[] = [];
  private readonly drained: Promise<void>[] = [];
  private exited = false;

  readonly handle = {
    onMessage: (listener: (message: unknown) => void) => void this.messageListeners.push(listener),
    onExit: (listener: (code: number | null, signal: string | null) => void) => void this.exitListeners.push(listener),
    onOutput: (listener: (line: string, stream: Stream) => void) => void this.outputListeners.push(listener),
  };

  message(message: unknown): void {
    for (const listener of this.messageListeners) listener(message);
  }

  output(line: string, stream: Stream): void {
    for (const listener of this.outputListeners) listener(line, stream);
  }

  pipe(stream: Readable | NodeJS.ReadableStream | null | undefined, name: Stream): void {
    this.drained.push(eachLine(stream, name, (line, s) => this.output(line, s)));
  }

  /** The exit report waits for this too (an IPC channel's last messages). */
  drain(until: Promise<void>): void {
    this.drained.push(until);
  }

  /** Reports the end once, after what must drain has (at most `drainMs` later: a grandchild may hold stdout open). */
  exit(code: number | null, signal: string | null, drainMs = 2000): void {
    if (this.exited) return;
    this.exited = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)));
    void Promise.race([Promise.all(this.drained), timeout]).then(() => {
      clearTimeout(timer);
      for (const listener of this.exitListeners) listener(code, signal);
    });
  }
}

/** child_process.fork: stdout and stderr piped, messages over IPC with the structured clone ('advanced'). */
export const forkSpawner: Spawner = {
  spawn(entry, options) {
    const events = new HandleEvents();
    const child = fork(entry, options.args ?? [], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
      env: options.env ?? process.env,
      // Not the parent's flags (a test runner's loaders, an inspector port): the entry is a built file.
      execArgv: [],
    });
    events.pipe(child.stdout, 'stdout');
    events.pipe(child.stderr, 'stderr');
    events.drain(new Promise((resolve) => child.once('disconnect', resolve)));
    child.on('message', (message) => events.message(message));
    child.on('exit', (code, signal) => events.exit(code, signal));
    child.on('error', (error) => {
      events.output(`[${options.name}] ${error.message}`, 'stderr');
      if (child.pid === undefined) events.exit(null, null, 0); // it never started
    });
    return {
      get pid() {
        return child.pid;
      },
      send: (message) => {
        if (child.connected) child.send(message as object, (error) => error && events.output(`[${options.name}] send failed: ${error.message}`, 'stderr'));
      },
      kill: (signal) => void child.kill(signal ?? 'SIGTERM'),
      ...events.handle,
    };
  },
};

/**
 * A worker thread in this process (no pid). A worker has no signals: `kill` terminates it, and the end
 * is reported as that signal with code null, so the host tells it from a clean exit. An uncaught error
 * becomes a stderr line (its stack) before the exit with code 1. The entry is a file, or a `data:` URL
 * holding a self-contained ES module (a worker that needs no built file of its own).
 */
export const workerThreadSpawner: Spawner = {
  spawn(entry, options) {
    const events = new HandleEvents();
    const worker = new Worker(entry.startsWith('data:') ? new URL(entry) : entry, {
      argv: options.args ?? [],
      workerData: options.data,
      stdout: true,
      stderr: true,
      ...(options.env ? { env: options.env } : {}),
      ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
    });
    let killedWith: NodeJS.Signals | undefined;
    events.pipe(worker.stdout, 'stdout');
    events.pipe(worker.stderr, 'stderr');
    worker.on('message', (message) => events.message(message));
    worker.on('error', (error) => {
      for (const line of thrownText(error).split('\n')) events.output(line, 'stderr');
    });
    worker.on('exit', (code) => (killedWith ? events.exit(null, killedWith) : events.exit(code, null)));
    return {
      pid: undefined,
      send: (message) => worker.postMessage(message),
      kill: (signal) => {
        killedWith ??= signal ?? 'SIGTERM';
        void worker.terminate();
      },
      ref: () => worker.ref(),
      unref: () => worker.unref(),
      ...events.handle,
    };
  },
};

export interface ChildHostOptions<Out> {
  /** Names the child in errors and crash reasons, e.g. "trainer". */
  readonly name: string;
  /** The built file to run (for worker threads, also a `data:` URL of a self-contained ES module). */
  readonly entry: string;
  readonly spawner: Spawner;
  /** Validates every inbound message; a malformed one is logged and the child killed as broken. */
  readonly messages: z.ZodType<Out>;
  /** The `ready` handshake: start() resolves on the first message it accepts (that one is not passed on). Absent: ready once spawned. */
  readonly isReady?: (message: Out) => boolean;
  /** Default 30 000; no ready in time: the child is killed and start() rejects. */
  readonly readyTimeoutMs?: number;
  /** How many of the last lines (output and addLog) are kept. Default 200. */
  readonly logLines?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly args?: string[];
  /** Worker threads only: their workerData. */
  readonly data?: unknown;
  /** Worker threads only: heap limits (reaching them ends the thread: a crash). Default Node's. */
  readonly resourceLimits?: ResourceLimits;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: string | null;
}

export interface CrashInfo extends ExitInfo {
  readonly reason: string;
  readonly logTail: string[];
}

const MAX_LINE = 2000;
/** Lines of the log tail quoted in start()'s errors. */
const QUOTED_LINES = 20;

/**
 * One running child. Messages that arrive before the first onMessage listener wait for it; exit and
 * crash listeners added after the end are called with it.
 */
export class ChildHost<In, Out> {
  private readonly log: string[] = [];
  private readonly messageListeners = new Set<(message: Out) => void>();
  private readonly queued: Out[] = [];
  private readonly exitListeners: ((info: ExitInfo) => void)[] = [];
  private readonly crashListeners: ((info: CrashInfo) => void)[] = [];
  private readonly logListeners = new Set<(line: string) => void>();
  private readonly ended: Promise<void>;
  private end: { info: ExitInfo; crash?: CrashInfo } | undefined;
  /** What went wrong, without the name, once it has ended badly. */
  private why: string | undefined;
  /** Why we ended it, when we did: wins over what the exit alone says. */
  private reason: string | undefined;
  private readyMessageValue: Out | undefined;
  private onReady: ((message: Out) => void) | undefined;
  private flushing = false;

  private constructor(
    private readonly options: ChildHostOptions<Out>,
    private readonly handle: ChildHandle,
  ) {
    handle.onOutput((line) => this.addLog(line));
    handle.onMessage((raw) => this.receive(raw));
    this.ended = new Promise((resolve) => {
      handle.onExit((code, signal) => {
        this.finish(code, signal);
        resolve();
      });
    });
  }

  /** Spawns the child and resolves once it is ready; rejects with AppError('unavailable') naming why, with the log tail. */
  static async start<In, Out>(options: ChildHostOptions<Out>): Promise<ChildHost<In, Out>> {
    let handle: ChildHandle;
    try {
      handle = options.spawner.spawn(options.entry, {
        name: options.name,
        ...(options.env ? { env: options.env } : {}),
        ...(options.args ? { args: options.args } : {}),
        ...(options.data !== undefined ? { data: options.data } : {}),
        ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
      });
    } catch (error) {
      throw new AppError('unavailable', `The ${options.name} process could not start: ${(error as Error).message}`, { cause: error });
    }
    const host = new ChildHost<In, Out>(options, handle);
    if (!options.isReady) return host;
    const timeoutMs = options.readyTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await new Promise<'ready' | 'timeout' | 'ended'>((resolve) => {
      host.onReady = () => resolve('ready');
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
      void host.ended.then(() => resolve('ended'));
    });
    clearTimeout(timer);
    host.onReady = undefined;
    if (outcome === 'ready') return host;
    if (outcome === 'timeout') {
      host.stop(`did not become ready within ${timeoutMs / 1000} s and was killed`);
      await host.ended;
    }
    const why = host.why ?? 'exited before it was ready';
    throw new AppError('unavailable', `The ${options.name} process could not start: it ${why}.${quote(host.logTail())}`);
  }

  get pid(): number | undefined {
    return this.handle.pid;
  }

  /** The message that completed the handshake (undefined without one). */
  get readyMessage(): Out | undefined {
    return this.readyMessageValue;
  }

  /** Whether the child has ended. */
  get exited(): boolean {
    return this.end !== undefined;
  }

  /** Sends a message; once the child has ended (its end is reported, or about to be) it is dropped, with a log line. */
  send(message: In): void {
    if (this.end) return this.addLog(`[host] dropped a message to ${this.options.name}: it has ended`);
    this.handle.send(message);
  }

  onMessage(listener: (message: Out) => void): () => void {
    this.messageListeners.add(listener);
    this.flushSoon();
    return () => void this.messageListeners.delete(listener);
  }

  /** Normal exit: code 0, whether asked to stop or done by itself. */
  onExit(listener: (info: ExitInfo) => void): void {
    this.exitListeners.push(listener);
    const end = this.end;
    if (end && !end.crash) queueMicrotask(() => listener(end.info));
  }

  /** Any other end: a signal (SIGKILL, SIGABRT from a native abort, the OOM killer), a non-zero code, a malformed message, a kill by us. */
  onCrash(listener: (info: CrashInfo) => void): void {
    this.crashListeners.push(listener);
    const crash = this.end?.crash;
    if (crash) queueMicrotask(() => listener(crash));
  }

  /** Every line as it is added to the log (output and addLog). */
  onLog(listener: (line: string) => void): () => void {
    this.logListeners.add(listener);
    return () => void this.logListeners.delete(listener);
  }

  /** Resolves when the child has exited; after `ms` it is killed (SIGKILL) and resolves 'killed'. */
  async waitForExit(ms: number): Promise<'exited' | 'killed'> {
    if (this.end) return 'exited';
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([this.ended.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), ms)))]);
    clearTimeout(timer);
    if (!timedOut) return 'exited';
    this.stop(`did not exit within ${ms / 1000} s and was killed`);
    await this.ended;
    return 'killed';
  }

  /** Lets this process exit while the child idles (a no-op where the spawner cannot); ref() undoes it. */
  unref(): void {
    this.handle.unref?.();
  }

  /** The child keeps this process alive again (the default), e.g. while it works on a request. */
  ref(): void {
    this.handle.ref?.();
  }

  logTail(): string[] {
    return [...this.log];
  }

  addLog(line: string): void {
    const kept = line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line;
    this.log.push(kept);
    if (this.log.length > (this.options.logLines ?? 200)) this.log.shift();
    for (const listener of this.logListeners) listener(kept);
  }

  /** Kills the child (SIGKILL); its end is reported as a crash. */
  kill(): void {
    this.stop('was killed');
  }

  private stop(reason: string): void {
    if (this.end) return;
    this.reason ??= reason;
    this.handle.kill('SIGKILL');
  }

  private receive(raw: unknown): void {
    if (this.end || this.reason) return;
    const parsed = this.options.messages.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const detail = `${issue?.path.join('.') || 'message'}: ${issue?.message ?? 'invalid'}`;
      this.addLog(`[host] malformed message from ${this.options.name} (${detail}): ${preview(raw)}`);
      this.stop(`sent a malformed message (${detail})`);
      return;
    }
    if (this.onReady && this.readyMessageValue === undefined && this.options.isReady?.(parsed.data)) {
      this.readyMessageValue = parsed.data;
      this.onReady(parsed.data);
      return;
    }
    if (this.messageListeners.size === 0 || this.queued.length) {
      this.queued.push(parsed.data);
      this.flushSoon();
    } else {
      this.deliver(parsed.data);
    }
  }

  private deliver(message: Out): void {
    for (const listener of [...this.messageListeners]) listener(message);
  }

  /** Hands queued messages, in order, to the listeners there are (after the caller's own code has run). */
  private flushSoon(): void {
    if (this.flushing || this.queued.length === 0 || this.messageListeners.size === 0) return;
    this.flushing = true;
    queueMicrotask(() => {
      this.flushing = false;
      while (this.queued.length && this.messageListeners.size) this.deliver(this.queued.shift()!);
    });
  }

  private finish(code: number | null, signal: string | null): void {
    const info = { code, signal };
    const why = this.reason ?? (signal ? `was killed by ${signal}` : code !== 0 ? `exited with code ${code}` : undefined);
    if (!why) {
      this.end = { info };
      for (const listener of this.exitListeners) listener(info);
      return;
    }
    this.why = why;
    const crash = { ...info, reason: `${this.options.name} ${why}`, logTail: this.logTail() };
    this.end = { info, crash };
    for (const listener of this.crashListeners) listener(crash);
  }
}

function quote(lines: string[]): string {
  const tail = lines.slice(-QUOTED_LINES);
  return tail.length ? `\nLast lines of its log:\n${tail.join('\n')}` : ' It wrote nothing.';
}

/** What a thread threw, as text: its stack, else its message; an error of another class may arrive as a bare object of its own fields. */
function thrownText(error: unknown): string {
  if (error instanceof Error && error.stack) return error.stack;
  const fields = error as { name?: unknown; message?: unknown } | null;
  if (fields && typeof fields === 'object' && typeof fields.message === 'string') return `${typeof fields.name === 'string' ? fields.name : 'Error'}: ${fields.message}`;
  return `uncaught ${preview(error)}`;
}

function preview(raw: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(raw) ?? String(raw);
  } catch {
    text = String(raw);
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
