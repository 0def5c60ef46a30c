import { contract } from '../../../shared/contract';
import { AppError } from '../../../shared/errors';
import { findEvent } from '../../../shared/rpc/contract';
import { ClientMessage } from '../../../shared/rpc/protocol';
import type { CallResult, ServerMessage } from '../../../shared/rpc/protocol';
import type { ConnectOptions, RpcConnection, SendMessage } from '../../../shared/rpc/server';
import type { Core } from '../services';

/** The methods the holder answers itself (coreHolder.ts): they stop the core they would otherwise go to. */
export const HELD_METHODS: ReadonlySet<string> = new Set(['app.moveDataFolder', 'app.planDataFolderMove']);

/** What a connection asks of its holder. */
export interface ConnectionHolder {
  /** Answers a held method's call on the connection. */
  held(id: number, method: string, args: unknown): void;
  /** The connection closed. */
  closed(): void;
  /** Why no core serves now. */
  refusal(): string;
}

/** Ids of the subscriptions made again on a new core, counting down from the largest (never a client's): their answers are dropped. */
let replayId = Number.MAX_SAFE_INTEGER;

/**
 * One client's connection through the holder: to the current core when there is one, else answered here. Its
 * subscriptions are remembered and made again on each new core, so the client hears a new core's events as it did
 * the old one's.
 */
export class HeldConnection implements RpcConnection {
  private inner: RpcConnection | undefined;
  /** Calls sent to the core not answered yet: answered here when the core goes. */
  private readonly pending = new Set<number>();
  private readonly replayed = new Set<number>();
  private readonly events = new Set<string>();
  private closed = false;

  constructor(
    private readonly send: SendMessage,
    private readonly options: ConnectOptions,
    private readonly holder: ConnectionHolder,
  ) {}

  attach(core: Core): void {
    if (this.closed) return;
    this.inner?.close();
    const sendEncoded = this.options.sendEncoded;
    this.inner = core.rpc.connect(
      (message) => this.fromCore(message),
      sendEncoded ? { sendEncoded: (parts) => (this.settled(resultId(parts[0])), sendEncoded(parts)) } : {},
    );
    for (const event of this.events) {
      const id = replayId--;
      this.replayed.add(id);
      this.inner.receive({ type: 'subscribe', id, event });
    }
  }

  /** The core goes: calls it had not answered are answered with `why`. */
  detach(why: string): void {
    const inner = this.inner;
    this.inner = undefined;
    inner?.close();
    const error = new AppError('unavailable', why).toWire();
    for (const id of this.pending) this.reply(id, { ok: false, error });
    this.pending.clear();
    this.replayed.clear();
  }

  receive(raw: unknown): void {
    if (this.closed) return;
    const parsed = ClientMessage.safeParse(raw);
    if (!parsed.success) return this.inner?.receive(raw); // the server says what is wrong with it
    const message = parsed.data;
    if (message.type === 'call' && HELD_METHODS.has(message.method)) return this.holder.held(message.id, message.method, message.args);
    const known = message.type === 'subscribe' || message.type === 'unsubscribe' ? findEvent(contract, message.event) !== undefined : false;
    if (message.type === 'subscribe' && known) this.events.add(message.event);
    if (message.type === 'unsubscribe') this.events.delete(message.event);
    if (this.inner) {
      if (message.type === 'call') this.pending.add(message.id);
      return this.inner.receive(message);
    }
    // No core now: calls are refused with why; subscriptions are kept for the next core.
    if (message.type === 'call') this.reply(message.id, { ok: false, error: new AppError('unavailable', this.holder.refusal()).toWire() });
    else if (message.type === 'subscribe' || message.type === 'unsubscribe') {
      this.reply(message.id, known ? { ok: true, value: null } : { ok: false, error: new AppError('unknown_event', `Unknown event '${message.event}'.`).toWire() });
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inner?.close();
    this.inner = undefined;
    this.holder.closed();
  }

  reply(id: number, result: CallResult): void {
    if (!this.closed) void Promise.resolve(this.send({ type: 'result', id, result })).catch(() => undefined);
  }

  event(event: string, payload: unknown): void {
    if (!this.closed && this.events.has(event)) void Promise.resolve(this.send({ type: 'event', event, payload })).catch(() => undefined);
  }

  private fromCore(message: ServerMessage): unknown {
    if (message.type === 'result') {
      if (this.replayed.delete(message.id)) return undefined;
      this.pending.delete(message.id);
    }
    return this.send(message);
  }

  private settled(id: number | undefined): void {
    if (id !== undefined) this.pending.delete(id);
  }
}

const decoder = new TextDecoder();

/** The call id in the head of a pre-encoded result (the server writes `{"type":"result","id":N,…` first). */
function resultId(head: Uint8Array | undefined): number | undefined {
  const match = head ? /"id":(\d+)/.exec(decoder.decode(head)) : null;
  return match ? Number(match[1]) : undefined;
}
