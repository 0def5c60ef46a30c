// Where the data lives when it is not in the folder a process starts from. Node built-ins only: the CLI reads this
// before every command, and its entry loads no package (tests/unit/cli-start.test.ts).
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { syncToDisk } from '../durable';
import { defaultDataDir } from '../paths';

/** The location file's name, in the folder a process starts from (the default data folder, or --data-dir's). */
export const LOCATION_FILE = 'data-location.json';

/** Links followed from one folder's location file to the next before giving up (a loop, say). */
const MAX_HOPS = 8;

/**
 * A move under way, journaled in the location file so that the next start finishes or undoes one a crash
 * interrupted. staging: the data is going into `<to>/.architect-move-<id>/` (undone after a crash); placing: that
 * folder is complete (copied and verified), its entries go into `to` (finished after a crash); cleaning: the data
 * is at `to`, what is left of it in `from` is removed.
 */
export interface MoveJournal {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  /** rename: the same disk; copy: another one. */
  readonly mode: 'rename' | 'copy';
  readonly phase: 'staging' | 'placing' | 'cleaning';
  /** The process moving; while it lives, no other process opens the data. */
  readonly pid: number;
  readonly startedAt: string;
  /** The move created `to` (an undo removes it again). */
  readonly createdTo: boolean;
  /** The names moved (electron/core/app/move/entries.ts). */
  readonly entries: readonly string[];
}

/** The location file: where the data is, and the move under way, if any. */
export interface DataLocation {
  readonly dataDir: string;
  readonly moving?: MoveJournal;
}

export const locationFileOf = (root: string) => join(root, LOCATION_FILE);

/** The staging folder of a move: inside its target, so that it is on the target's disk and needs no other folder. */
export const stagingOf = (journal: Pick<MoveJournal, 'to' | 'id'>) => join(journal.to, `.architect-move-${journal.id}`);

/** A new move's id: hex, for the staging folder's name. */
export const newMoveId = () => randomBytes(6).toString('hex');

const isText = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

function parseJournal(value: unknown): MoveJournal | undefined {
  const j = value as Partial<MoveJournal> | null;
  if (!j || typeof j !== 'object') return undefined;
  const ok =
    isText(j.id) && /^[0-9a-f]+$/.test(j.id) && isText(j.from) && isAbsolute(j.from) && isText(j.to) && isAbsolute(j.to) &&
    (j.mode === 'rename' || j.mode === 'copy') && (j.phase === 'staging' || j.phase === 'placing' || j.phase === 'cleaning') &&
    Number.isSafeInteger(j.pid) && isText(j.startedAt) && typeof j.createdTo === 'boolean' && Array.isArray(j.entries) && j.entries.every(isText);
  return ok ? (j as MoveJournal) : undefined;
}

/** The location file of `root`: null when there is none; `problem` says why one could not be read. */
export function readLocation(root: string): { location: DataLocation | null; problem: string | null } {
  const file = locationFileOf(root);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { location: null, problem: null };
    return { location: null, problem: `The data location file ${file} cannot be read (${code ?? (error as Error).message}): the data folder ${root} is used.` };
  }
  let value: { dataDir?: unknown; moving?: unknown };
  try {
    value = JSON.parse(text) as typeof value;
  } catch {
    return { location: null, problem: `The data location file ${file} is not valid JSON: the data folder ${root} is used. Fix or delete the file to choose.` };
  }
  const moving = value?.moving === undefined ? undefined : parseJournal(value.moving);
  if (!value || !isText(value.dataDir) || !isAbsolute(value.dataDir) || (value.moving !== undefined && !moving)) {
    return { location: null, problem: `The data location file ${file} does not name an absolute data folder: the data folder ${root} is used. Fix or delete the file to choose.` };
  }
  return { location: { dataDir: value.dataDir, ...(moving ? { moving } : {}) }, problem: null };
}

/**
 * Replaces the location file of `root` atomically (a new file, synced, renamed over the old one, the folder synced):
 * a crash leaves the old file or the new one, never a part. null removes it (the data is in `root` itself).
 */
export function writeLocation(root: string, location: DataLocation | null): void {
  const file = locationFileOf(root);
  if (location === null) {
    if (existsSync(file)) {
      unlinkSync(file);
      syncToDisk(root, 'folder');
    }
    return;
  }
  const temporary = join(root, `.${LOCATION_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(temporary, 'wx');
  try {
    writeFileSync(fd, `${JSON.stringify(location, null, 2)}\n`);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  syncToDisk(root, 'folder');
}

/** Whether a process with this id runs (EPERM: it does, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface ResolveOptions {
  /** Where a problem with a location file is said. Default: console.warn. */
  readonly warn?: (message: string) => void;
}

/**
 * The data folder a process started from `root` uses: `root` itself, or the folder its location file names (and so
 * on, when that folder's data moved again). A move a crash interrupted is finished or undone first; one another
 * process is doing is refused (an Error naming both folders). A location file that cannot be read counts as none,
 * with a warning.
 */
export async function resolveDataDir(root: string = defaultDataDir(), options: ResolveOptions = {}): Promise<string> {
  const warn = options.warn ?? ((message: string) => console.warn(`[data] ${message}`));
  const seen = new Set<string>();
  let folder = resolve(root);
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    seen.add(folder);
    const { location, problem } = readLocation(folder);
    if (problem) warn(problem);
    if (!location) return folder;
    const next = location.moving ? await settle(folder, location.moving) : resolve(location.dataDir);
    if (next === folder) return folder;
    if (seen.has(next)) {
      warn(`The data location files from ${root} go round in a loop: the data folder ${next} is used.`);
      return next;
    }
    folder = next;
  }
  warn(`The data location files from ${root} name more than ${MAX_HOPS} folders in a row: the data folder ${folder} is used.`);
  return folder;
}

/** A move journaled in `root`'s location file: refused while its process runs, else finished or undone; the folder the data is in then. */
async function settle(root: string, journal: MoveJournal): Promise<string> {
  if (processAlive(journal.pid)) {
    throw new Error(
      `The data folder is being moved from ${journal.from} to ${journal.to} (by process ${journal.pid}, since ${journal.startedAt}): start again once it is done.`,
    );
  }
  const { recoverMove } = await import('./move/recover');
  return recoverMove(root, journal);
}
