import type { z } from 'zod';
import { AppError } from '../errors';
import type { EncodedJson } from './protocol';

/** One remote method: zod schemas for what goes in and what comes back. */
export interface MethodSpec<A extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  readonly args: A;
  readonly result: R;
  /** One line shown in docs and errors. */
  readonly summary: string;
  /**
   * For calls that move megabytes or start a worker (an export page, an upload chunk, an import): at most
   * this many run at once per connection, later ones wait their turn, and a turn ends only once its answer
   * has been written out to the client, so a client that does not read its answers stops getting new
   * ones instead of filling this process's memory. Absent: no limit but the connection's calls in flight.
   */
  readonly concurrency?: number;
}

/** A service: its methods and the events it pushes (event name → payload schema). */
export interface ServiceSpec {
  readonly methods: Readonly<Record<string, MethodSpec>>;
  readonly events: Readonly<Record<string, z.ZodType>>;
}

/** The whole contract: service name → service. Wire names are `service.member`. */
export type ContractSpec = Readonly<Record<string, ServiceSpec>>;

export const defineMethod = <A extends z.ZodType, R extends z.ZodType>(spec: MethodSpec<A, R>): MethodSpec<A, R> => spec;

type Answer<T> = T | EncodedJson<T>;

export const defineService = <M extends Record<string, MethodSpec>, E extends Record<string, z.ZodType>>(spec: {
  methods: M;
  events: E;
}): { methods: M; events: E } => spec;

type Methods<C extends ContractSpec, S extends keyof C> = C[S]['methods'];

/** What a service implementation provides: each method gets parsed arguments and a call context. */
export type ServiceHandlers<C extends ContractSpec> = {
  [S in keyof C]: {
    [M in keyof Methods<C, S>]: (
      args: z.output<Methods<C, S>[M]['args']>,
      context: CallContext,
    ) => Promise<Answer<z.input<Methods<C, S>[M]['result']>>> | Answer<z.input<Methods<C, S>[M]['result']>>;
  };
};

/** The renderer's (or any client's) typed view of the contract. */
export type ClientApi<C extends ContractSpec> = {
  [S in keyof C]: {
    [M in keyof Methods<C, S>]: (
      args: z.input<Methods<C, S>[M]['args']>,
      options?: CallOptions,
    ) => Promise<z.output<Methods<C, S>[M]['result']>>;
  };
};

export type EventName<C extends ContractSpec> = {
  [S in keyof C & string]: `${S}.${keyof C[S]['events'] & string}`;
}[keyof C & string];

export type EventPayload<C extends ContractSpec, N extends string> = N extends `${infer S}.${infer E}`
  ? S extends keyof C
    ? E extends keyof C[S]['events']
      ? z.output<C[S]['events'][E]>
      : never
    : never
  : never;

/** The connection a call came on: what it holds (an upload, say) can be let go when it closes. */
export interface ConnectionScope {
  /** Unique among this server's connections. */
  readonly id: number;
  readonly closed: boolean;
  /** Calls `listener` once when the connection closes (soon, if it already has); returns the function that removes it. */
  onClose(listener: () => void): () => void;
}

export interface CallContext {
  /** Aborted when the caller cancels or disconnects. */
  readonly signal: AbortSignal;
  readonly connection: ConnectionScope;
}

export interface CallOptions {
  /** Aborting it cancels the call on both sides; the promise rejects with code `cancelled`. */
  readonly signal?: AbortSignal;
}

function splitName(name: string): [string, string] | undefined {
  const dot = name.indexOf('.');
  if (dot <= 0 || dot === name.length - 1) return undefined;
  return [name.slice(0, dot), name.slice(dot + 1)];
}

function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** The method for a wire name like `system.hardware`, or undefined. Never walks the prototype chain. */
export function findMethod(contract: ContractSpec, name: string): MethodSpec | undefined {
  const parts = splitName(name);
  if (!parts) return undefined;
  const service = own(contract, parts[0]);
  return service && own(service.methods, parts[1]);
}

/** The payload schema for a wire event name, or undefined. */
export function findEvent(contract: ContractSpec, name: string): z.ZodType | undefined {
  const parts = splitName(name);
  if (!parts) return undefined;
  const service = own(contract, parts[0]);
  return service && own(service.events, parts[1]);
}

/** Every wire method name, for error messages and the preload's allow-list. */
export function methodNames(contract: ContractSpec): string[] {
  return Object.entries(contract).flatMap(([s, spec]) => Object.keys(spec.methods).map((m) => `${s}.${m}`));
}

/** A result that does not match its schema: a version skew or a bug on the serving side. */
export function invalidResult(method: string, error: z.ZodError): AppError {
  const issue = error.issues[0];
  const where = issue ? `${['result', ...issue.path.map(String)].join('.')}: ${issue.message}` : 'unknown';
  return new AppError('bad_message', `The app returned an invalid result for '${method}' (${where}).`);
}
