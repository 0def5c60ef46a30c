import { z } from 'zod';
import { WireError } from '../errors';

/** The one Electron IPC channel; both directions carry the messages below. */
export const IPC_CHANNEL = 'architect:rpc';

const Id = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const Name = z.string().min(1).max(200);

export const ClientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('call'), id: Id, method: Name, args: z.unknown() }),
  z.object({ type: z.literal('cancel'), id: Id }),
  z.object({ type: z.literal('subscribe'), id: Id, event: Name }),
  z.object({ type: z.literal('unsubscribe'), id: Id, event: Name }),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

export const CallResult = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), value: z.unknown() }),
  z.object({ ok: z.literal(false), error: WireError }),
]);
export type CallResult = z.infer<typeof CallResult>;

export const ServerMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('result'), id: Id, result: CallResult }),
  z.object({ type: z.literal('event'), event: Name, payload: z.unknown() }),
]);
export type ServerMessage = z.infer<typeof ServerMessage>;

/**
 * A result already encoded as JSON: `parts` are UTF-8 bytes that, joined, are the JSON text of `value`.
 * A handler returns one for a large result it encodes while building it (an export page); a transport
 * that sends bytes (the WebSocket host) sends the parts as they are, without serializing megabytes on
 * the server's thread again; any other transport gets `value`, made when first asked for.
 */
export class EncodedJson<T> {
  private made: { value: T } | undefined;

  constructor(
    private readonly make: () => T,
    readonly parts: readonly Uint8Array[],
  ) {}

  get value(): T {
    this.made ??= { value: this.make() };
    return this.made.value;
  }

  get byteLength(): number {
    return this.parts.reduce((sum, part) => sum + part.byteLength, 0);
  }
}

/** The object the Electron preload puts on `window.architect`: one message pipe, nothing more. */
export interface ArchitectBridge {
  send(message: ClientMessage): void;
  /** Returns the function that removes the listener. */
  onMessage(listener: (message: unknown) => void): () => void;
}

/**
 * The object the Electron preload puts on `window.architectFiles`: the path on disk of a File the person
 * chose or dropped (Electron's `webUtils.getPathForFile`), and nothing more. Absent in a browser page.
 */
export interface ArchitectFiles {
  /** The file's absolute path; '' when Electron has none for it (a File made in JS, not backed by a file on disk). */
  pathForFile(file: File): string;
}
