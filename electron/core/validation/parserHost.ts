import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { AppError } from '../../../shared/errors';
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

const Reply = z.object({ id: z.number(), status: z.enum(['parsed', 'invalid', 'failed']), error: z.string().optional() }).loose();

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

interface Pending {
  resolve(value: unknown): void;
  reject(error: AppError): void;
  timer: NodeJS.Timeout;
}

/**
 * Runs Mermaid's and TypeScript's parsers in a worker thread: a large diagram can take seconds to parse
 * and must not stall the main process, and Mermaid's DOM shim stays out of the main process's globals.
 * The worker starts on first use and is restarted after a timeout or a crash.
 */
export class ParserHost {
  private worker: Worker | undefined;
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

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.stop(new AppError('unavailable', 'The validator was shut down.'));
  }

  private request(body: { op: 'mermaid'; text: string } | { op: 'script'; text: string; fileName: string }): Promise<unknown> {
    if (this.disposed) return Promise.reject(new AppError('unavailable', 'The validator was shut down.'));
    const worker = this.ensureWorker();
    const id = this.nextId++;
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        void this.stop(new AppError('unavailable', `Parsing did not finish within ${timeoutMs / 1000} s; the text is too large or too complex to validate.`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      worker.ref(); // keep the process alive while a parse is under way
      worker.postMessage({ id, ...body } satisfies ParseRequest);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const urls: ParserUrls = { happyDom: urlOf('happy-dom'), mermaid: urlOf('mermaid'), typescript: urlOf('typescript') };
    const source = `import { parentPort, workerData } from 'node:worker_threads';\n(${serveParsers.toString()})(parentPort, (url) => import(url), workerData);\n`;
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(source)}`), {
      workerData: urls,
      resourceLimits: { maxOldGenerationSizeMb: this.options.maxHeapMb ?? 1024 },
      stdout: true, // mermaid logs to the console; keep it out of the CLI's output
      stderr: true,
    });
    worker.stdout.resume();
    worker.stderr.resume();
    worker.on('message', (raw: unknown) => this.receive(raw));
    worker.on('error', (error) => void this.stop(new AppError('unavailable', `The validator crashed: ${error.message}`)));
    worker.on('exit', () => {
      if (this.worker === worker) void this.stop(new AppError('unavailable', 'The validator stopped unexpectedly.'));
    });
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private receive(raw: unknown): void {
    const reply = Reply.safeParse(raw);
    if (!reply.success) return;
    const entry = this.pending.get(reply.data.id);
    if (!entry) return;
    this.pending.delete(reply.data.id);
    clearTimeout(entry.timer);
    if (this.pending.size === 0) this.worker?.unref();
    if (reply.data.status === 'failed') entry.reject(new AppError('unavailable', `The parser could not run: ${reply.data.error ?? 'unknown error'}`));
    else entry.resolve(raw);
  }

  /** Fails every pending parse with `error` and ends the worker; the next request starts a new one. */
  private async stop(error: AppError): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
    this.pending.clear();
    await worker?.terminate();
  }
}
