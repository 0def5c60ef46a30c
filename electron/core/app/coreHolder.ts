// The host's hold on its core: the desktop app and `architect serve` reach the core through this, so that a move of
// the data folder can stop the core, move the data and start a new core at the new place while the page's
// connection stays open (re-attached to the new core, its subscriptions with it).
import { contract } from '../../../shared/contract';
import type { DataFolderMovePlan, DataFolderMoveProgress, DataFolderMoveResult } from '../../../shared/contract/app';
import { AppError, invalidArguments, toWireError } from '../../../shared/errors';
import type { ConnectOptions, RpcConnection, RpcEndpoint, SendMessage } from '../../../shared/rpc/server';
import type { Core } from '../services';
import { formatSize } from './dataFolder';
import { HeldConnection } from './heldConnection';
import { quitCore } from './lifecycle';
import { readLocation } from './location';
import { executeMove } from './move/execute';
import type { MoveHooks } from './move/execute';
import { planMove } from './move/plan';
import type { MovePlan, MoveSeams } from './move/plan';
import { recoverMove } from './move/recover';

export interface CoreHolderOptions {
  /** The folder whose location file names the data folder: the default data folder, or the one --data-dir gave. */
  readonly root: string;
  /** The data folder to start on: resolveDataDir(root). */
  readonly dataDir: string;
  /** Starts a core on a folder: createCore with this host's options. */
  readonly start: (dataDir: string) => Promise<Core>;
  /** Stand-ins for tests: another disk, a fuller disk. */
  readonly seams?: MoveSeams;
  /** Failure and kill points for tests. */
  readonly hooks?: MoveHooks;
}

const PROGRESS = 'app.dataFolderMove';

/**
 * Holds the current core and serves its contract (an RpcEndpoint, as the headless host and the Electron IPC binding
 * take): every call goes to the current core, except the data folder's move, which this answers itself: check, stop
 * the core (quitCore), move the data, start a core at the new place (or the old core again when the move failed),
 * re-attach every connection. app.dataFolderMove tells each client how it goes.
 */
export class CoreHolder implements RpcEndpoint {
  private current: Core | undefined;
  private folder: string;
  /** Why no core serves now (one that could not start); calls are refused with it. */
  private down: string | undefined;
  private move: { to: string; done: Promise<void> } | undefined;
  private closing = false;
  private readonly connections = new Set<HeldConnection>();
  private readonly swapListeners = new Set<(core: Core) => void>();

  private constructor(
    private readonly options: CoreHolderOptions,
    core: Core,
  ) {
    this.current = core;
    this.folder = core.dataDir;
  }

  /** Starts the first core, on `options.dataDir`. */
  static async start(options: CoreHolderOptions): Promise<CoreHolder> {
    return new CoreHolder(options, await options.start(options.dataDir));
  }

  /** The core serving now; undefined while a move runs (or when none could start). */
  get core(): Core | undefined {
    return this.current;
  }

  /** The data folder: the current core's, or the last one's. */
  get dataDir(): string {
    return this.folder;
  }

  /** Calls `listener` with each new core (after a move, or after one failed); returns the function that stops it. */
  onSwap(listener: (core: Core) => void): () => void {
    this.swapListeners.add(listener);
    return () => void this.swapListeners.delete(listener);
  }

  connect(send: SendMessage, options: ConnectOptions = {}): RpcConnection {
    const connection: HeldConnection = new HeldConnection(send, options, {
      held: (id, method, args) => this.answer(connection, id, method, args),
      closed: () => this.connections.delete(connection),
      refusal: () => this.refusal(),
    });
    this.connections.add(connection);
    if (this.current) connection.attach(this.current);
    return connection;
  }

  /** Checks a move to `to` (nothing is changed): planMove against the current core's store and work. */
  async planMove(to: string): Promise<MovePlan> {
    const core = this.serving();
    return planMove({ from: core.dataDir, to, root: this.options.root }, this.options.seams, { db: core.services.store.db, busy: () => busyWith(core) });
  }

  /**
   * Moves the data folder to `to`. A refusal changes nothing and stops nothing. Otherwise the core stops, the data
   * moves, and a core starts at `to`; if the move fails, the data is where it was and the core starts there again,
   * and the error says what happened.
   */
  async moveDataFolder(to: string): Promise<DataFolderMoveResult> {
    if (this.move) throw new AppError('conflict', `The data folder is being moved to ${this.move.to} already: wait for that move to finish.`);
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    this.move = { to, done };
    try {
      const plan = await this.planMove(to);
      this.move = { to: plan.to, done };
      return await this.relocate(this.serving(), plan);
    } finally {
      this.move = undefined;
      finished();
    }
  }

  /** Stops serving: waits for a move under way, then quits the core (quitCore: a running job is paused first). */
  async close(): Promise<string | null> {
    this.closing = true;
    await this.move?.done;
    const core = this.current;
    this.current = undefined;
    this.down = 'The app is quitting.';
    for (const connection of this.connections) connection.detach(this.down);
    return core ? quitCore(core) : null;
  }

  private async relocate(core: Core, plan: MovePlan): Promise<DataFolderMoveResult> {
    const { from, to } = plan;
    const tell = (phase: DataFolderMoveProgress['phase'], copiedBytes = 0, error: string | null = null) =>
      this.broadcast({ from, to, phase, copiedBytes, totalBytes: plan.dataBytes, error });
    tell('stopping');
    this.current = undefined;
    this.down = `The app is moving its data folder to ${to}: call again once the move is done.`;
    for (const connection of this.connections) connection.detach(this.down);
    await quitCore(core);
    let mode: DataFolderMoveResult['mode'];
    let started = false;
    try {
      mode = (await executeMove({ from, to, root: this.options.root }, { seams: this.options.seams, hooks: this.options.hooks, onProgress: (phase, copied) => tell(phase, copied) })).mode;
    } catch (error) {
      const message = (error as Error).message;
      const at = await this.settleAfterFailure(message).catch((settleError: Error) => settleError);
      if (at instanceof Error) {
        tell('failed', 0, at.message);
        throw at;
      }
      if (at !== to) {
        tell('failed', 0, message);
        throw error;
      }
      // Finished by the recovery after all: the core runs at `to`.
      mode = plan.sameDisk ? 'renamed' : 'copied';
      started = true;
    }
    if (!started) {
      tell('starting', plan.dataBytes);
      try {
        await this.startAt(to);
      } catch (error) {
        const message = `The data was moved to ${to}, but the app could not start there: ${(error as Error).message}`;
        this.down = message;
        tell('failed', plan.dataBytes, message);
        throw new AppError('internal', message, { cause: error });
      }
    }
    const app = this.serving().services.app;
    const verb = mode === 'renamed' ? 'moved on the same disk' : 'copied to another disk, verified, and removed from the old folder';
    app.notifications.push({ level: 'success', title: 'The data folder moved', body: `From ${from} to ${to}: ${formatSize(plan.dataBytes)} ${verb}.`, subject: { kind: 'app', id: null } });
    tell('done', plan.dataBytes);
    return { from, to, mode, bytes: plan.dataBytes, folder: await app.dataFolder() };
  }

  /** After a failed move: settles what the move left journaled, then starts a core where the data is; returns that folder. */
  private async settleAfterFailure(why: string): Promise<string> {
    const left = readLocation(this.options.root).location?.moving;
    let at = this.folder;
    if (left) {
      try {
        at = await recoverMove(this.options.root, left);
      } catch (error) {
        this.down = `${why} ${(error as Error).message}`;
        throw new AppError('internal', this.down, { cause: error });
      }
    }
    try {
      await this.startAt(at);
    } catch (error) {
      this.down = `${why} Then the app could not start again in ${at}: ${(error as Error).message}. Restart it.`;
      throw new AppError('internal', this.down, { cause: error });
    }
    return at;
  }

  private async startAt(dataDir: string): Promise<void> {
    const core = await this.options.start(dataDir);
    if (this.closing) {
      await quitCore(core);
      throw new AppError('unavailable', 'The app is quitting.');
    }
    this.current = core;
    this.folder = core.dataDir;
    this.down = undefined;
    for (const connection of this.connections) connection.attach(core);
    for (const listener of this.swapListeners) {
      try {
        listener(core);
      } catch (error) {
        console.warn(`[app] a listener of the new core failed: ${(error as Error).message}`);
      }
    }
  }

  private serving(): Core {
    if (!this.current) throw new AppError('unavailable', this.refusal());
    return this.current;
  }

  private refusal(): string {
    return this.down ?? 'The app is not serving yet.';
  }

  private broadcast(payload: DataFolderMoveProgress): void {
    for (const connection of this.connections) connection.event(PROGRESS, payload);
  }

  /** The held methods: argument checks as the server's, answers on the connection itself. */
  private answer(connection: HeldConnection, id: number, method: string, args: unknown): void {
    const spec = method === 'app.moveDataFolder' ? contract.app.methods.moveDataFolder : contract.app.methods.planDataFolderMove;
    const parsed = spec.args.safeParse(args);
    if (!parsed.success) return connection.reply(id, { ok: false, error: invalidArguments(parsed.error, 'args').toWire() });
    const work: Promise<DataFolderMoveResult | DataFolderMovePlan> =
      method === 'app.moveDataFolder' ? this.moveDataFolder(parsed.data.to) : this.planMove(parsed.data.to).then(planView);
    work.then(
      (value) => connection.reply(id, { ok: true, value }),
      (error: unknown) => connection.reply(id, { ok: false, error: toWireError(error) }),
    );
  }
}

/** What the page is told of a plan (the file list stays here). */
function planView(plan: MovePlan): DataFolderMovePlan {
  const { from, to, sameDisk, dataBytes, freeBytes, neededBytes } = plan;
  return { from, to, sameDisk, dataBytes, freeBytes, neededBytes };
}

/** Work in this process a stop would break. */
export function busyWith(core: Core): string | null {
  const { generation, datasets, operations } = core.services;
  const then = 'then move the data folder; nothing was changed.';
  if (generation.busy) return `A generation is running: stop it or wait for it to finish, ${then}`;
  if (datasets.running > 0) return `A dataset import is running: wait for it to finish or cancel it on the Datasets page, ${then}`;
  const operation = operations.underway[0];
  if (operation) return `${operation} is under way: wait for it to finish, ${then}`;
  return null;
}

/** The answer of a core that no holder serves (a CLI command's, a test's) to the held methods. */
export function notHeld(): never {
  throw new AppError(
    'unavailable',
    'The data folder is moved by the app that serves it (Settings → Data folder, in the desktop app or `architect serve`), or with `architect data-folder move DIR` while neither runs.',
  );
}
