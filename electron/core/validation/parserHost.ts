import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { AppError } from '../../../shared/errors';
import { ChildHost, workerThreadSpawner } from '../childHost';
import type { CrashInfo } from '../childHost';
import { serveParsers } from './parserWorker';
import type { ParseRequest, ParserUrls } from './parserWorker';

const Invalid = z.object({ status: z.literal('invalid'), error: z.string() });

export const MermaidParse = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('parsed'),
    diagramType: z.string(),
    er: z
      .object({
        entities: z.array(z.object({ name: z.string(), attributes: z.number(), alias: z.string() })),
        relationships: z.array(z.object({ from: z.string(), to: z.string(), cardFrom: z.string(), cardTo: z.string(), label: z.string() })),
      })
      .optional(),
    flow: z.object({ nodes: z.array(z.string()), edges: z.array(z.object({ from: z.string(), to: z.string() })) }).optional(),
    sequence: z
      .object({ participants: z.array(z.string()), messages: z.array(z.object({ from: z.string(), to: z.string() })) })
      .optional(),
  }),
  Invalid,
]);
export type MermaidParse = z.infer<typeof MermaidParse>;

export const ScriptParse = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('parsed'),
    version: z.string(),
    diagnostics: z.array(z.object({ line: z.number(), message: z.string() })),
    statements: z.number(),
    declarations: z.number(),
  }),
  Invalid,
]);
export type ScriptParse = z.infer<typeof ScriptParse>;

/** A JSON or YAML document as parsed (plain values), or why it does not parse. */
export const DocumentParse = z.discriminatedUnion('status', [z.object({ status: z.literal('parsed'), doc: z.unknown() }), Invalid]);
export type DocumentParse = z.infer<typeof DocumentParse>;

const Reply = z.object({ id: z.number(), status: z.enum(['parsed', 'invalid', 'failed']), error: z.string().optional() }).loose();
type Reply = z.infer<typeof Reply>;

export interface ParserHostOptions {
  /** A parse that takes longer is abandoned (the worker is restarted), in ms. Default 10 000. */
  readonly timeoutMs?: number;
  /** The worker's heap limit in MiB; a diagram that needs more fails to validate. Default 1024. */
  readonly maxHeapMb?: number;
}

const localRequire = createRequire(import.meta.url);
const urlOf = (specifier: string) => pathToFileURL(localRequire.resolve(specifier)).href;

/** The versions of the parsers, as the validator names them. */
export const PARSER_VERSIONS = {
  mermaid: (localRequire('mermaid/package.json') as { version: string }).version,
  typescript: (localRequire('typescript/package.json') as { version: string }).version,
};

/** The worker's entry: serveParsers as the source of a module of its own, so it needs no built file. */
const ENTRY = `data:text/javascript,${encodeURIComponent(`import { parentPort, workerData } from 'node:worker_threads';\n(${serveParsers.toString()})(parentPort, (url) => import(url), workerData);\n`)}`;

interface Pending {
  resolve(value: unknown): void;
  reject(error: AppError): void;
  timer: NodeJS.Timeout;
}

type Parsers = ChildHost<ParseRequest, Reply>;

/**
 * Runs Mermaid's, TypeScript's and the YAML parsers in a worker thread (through ChildHost): a large diagram can take
 * seconds to parse and must not stall the main process, and Mermaid's DOM shim stays out of the main
 * process's globals. The worker starts on first use and is restarted after a timeout or a crash; it keeps
 * the process alive only while a parse is under way.
 */
export class ParserHost {
  private host: Promise<Parsers> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private disposed = false;

  constructor(private readonly options: ParserHostOptions = {}) {}

  /** Parses a Mermaid diagram; `invalid` carries Mermaid's own error message. */
  async parseMermaid(text: string): Promise<MermaidParse> {
    return MermaidParse.parse(await this.request({ op: 'mermaid', text }));
  }

  /** Parses TypeScript or JavaScript (by the file name's extension) and counts its declarations. */
  async parseScript(text: string, fileName: string): Promise<ScriptParse> {
    return ScriptParse.parse(await this.request({ op: 'script', text, fileName }));
  }

  /** Parses JSON (text starting with "{") or YAML: a large API document takes the YAML parser seconds. */
  async parseDocument(text: string): Promise<DocumentParse> {
    return DocumentParse.parse(await this.request({ op: 'document', text }));
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.stop(new AppError('unavailable', 'The validator was shut down.'));
  }

  private request(body: { op: 'mermaid' | 'document'; text: string } | { op: 'script'; text: string; fileName: string }): Promise<unknown> {
    if (this.disposed) return Promise.reject(new AppError('unavailable', 'The validator was shut down.'));
    const started = this.ensureHost();
    const id = this.nextId++;
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        void this.stop(new AppError('unavailable', `Parsing did not finish within ${timeoutMs / 1000} s; the text is too large or too complex to validate.`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      started.then(
        (host) => {
          if (!this.pending.has(id)) return; // it timed out while the worker started
          host.ref(); // keep the process alive while a parse is under way
          host.send({ id, ...body } satisfies ParseRequest);
        },
        (error: unknown) => this.failAll(started, error as AppError),
      );
    });
  }

  private ensureHost(): Promise<Parsers> {
    if (this.host) return this.host;
    const urls: ParserUrls = { happyDom: urlOf('happy-dom'), mermaid: urlOf('mermaid'), typescript: urlOf('typescript'), yaml: urlOf('yaml') };
    const started = ChildHost.start<ParseRequest, Reply>({
      name: 'validator',
      entry: ENTRY,
      spawner: workerThreadSpawner,
      messages: Reply,
      data: urls,
      resourceLimits: { maxOldGenerationSizeMb: this.options.maxHeapMb ?? 1024 },
      logLines: 50, // mermaid logs to the console: kept here, out of the CLI's output
    });
    this.host = started;
    void started.then(
      (host) => {
        host.unref();
        host.onMessage((reply) => this.receive(host, reply));
        const ended = (crash?: CrashInfo) => this.failAll(started, new AppError('unavailable', `The validator stopped unexpectedly${crash ? ` (${crash.reason})${lastError(crash.logTail)}` : ''}.`));
        host.onCrash(ended);
        host.onExit(() => ended());
      },
      () => undefined, // request() fails its parses
    );
    return started;
  }

  private receive(host: Parsers, reply: Reply): void {
    const entry = this.pending.get(reply.id);
    if (!entry) return;
    this.pending.delete(reply.id);
    clearTimeout(entry.timer);
    if (this.pending.size === 0) host.unref();
    if (reply.status === 'failed') entry.reject(new AppError('unavailable', `The parser could not run: ${reply.error ?? 'unknown error'}`));
    else entry.resolve(reply);
  }

  /** The worker `host` ended or never started: its parses fail with `error`; the next request starts a new one. */
  private failAll(host: Promise<Parsers>, error: AppError): void {
    if (this.host !== host) return; // one we stopped ourselves
    this.host = undefined;
    this.rejectPending(error);
  }

  /** Fails every pending parse with `error` and ends the worker; the next request starts a new one. */
  private async stop(error: AppError): Promise<void> {
    const started = this.host;
    this.host = undefined;
    this.rejectPending(error);
    const host = await started?.catch(() => undefined);
    if (!host) return;
    host.kill();
    await host.waitForExit(5000);
  }

  private rejectPending(error: AppError): void {
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
    this.pending.clear();
  }
}

/** An uncaught error's first line ("Error: …", "RangeError: …"): the last line of the log that is not a stack frame. */
function lastError(logTail: string[]): string {
  const line = logTail.findLast((l) => l.trim() !== '' && !/^\s+at /.test(l));
  return line ? `: ${line}` : '';
}
