// Moves the data folder with no core running on it. The database is locked for the whole move, so no other process
// reads or writes the data meanwhile, and every step is journaled in the location file: a failure before the data is
// complete at the target undoes the move (the old folder as it was), a crash there is undone at the next start, and
// from the point the target is complete on, the move is finished (now, or at the next start).
import type { Db } from '../../../../db/connection';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../../../shared/errors';
import { syncToDisk } from '../../durable';
import { makeFolders } from '../dataFolder';
import { newMoveId, readLocation, stagingOf, writeLocation } from '../location';
import type { MoveJournal } from '../location';
import { checkpoint, integrityProblem, lockDatabase, rewritePaths, rewritePathsIn } from '../../../../db/relocation';
import { compareCopy, copyFiles, listFiles, totalSize, WAL_FILES } from './entries';
import { planMove } from './plan';
import type { BusyCheck, MovePlan, MoveRequest, MoveSeams } from './plan';
import { cleanFrom, finishLocation, folderEntries, placeStaged, undoStaging } from './steps';
import type { Undone } from './steps';

/** The points a test can fail or kill a move at, in order. */
export type MoveStep = 'stage' | 'verify' | 'place' | 'locate' | 'clean' | 'finish';

export interface MoveHooks {
  /** Before each step. */
  readonly beforeStep?: (step: MoveStep) => Promise<void> | void;
  /** After each file copied (or entry renamed) into the staging folder, by its path relative to the data folder. */
  readonly afterFile?: (path: string) => Promise<void> | void;
}

export interface MoveOptions {
  readonly seams?: MoveSeams;
  readonly hooks?: MoveHooks;
  /** In-process work the move would break, checked again under the lock. */
  readonly busy?: BusyCheck;
  /** Hears the move's progress: copying (bytes so far), verifying, switching. */
  readonly onProgress?: (phase: 'copying' | 'verifying' | 'switching', copiedBytes: number, totalBytes: number) => void;
}

export interface MoveOutcome {
  readonly plan: MovePlan;
  readonly mode: 'renamed' | 'copied';
}

// A file renamed while open is fine on POSIX (the lock's descriptor follows it); Windows refuses, so there the lock
// ends before the renames.
const HOLD_LOCK_ACROSS_RENAMES = process.platform !== 'win32';

/**
 * Moves the data of `request.from` to `request.to` and makes the location file of `request.root` say so. Checks
 * first (planMove, under the lock): a refusal changes nothing. A failure later undoes the move and says what
 * happened; the data is then in `from` as it was. Call only with no core running on the folder.
 */
export async function executeMove(request: MoveRequest, options: MoveOptions = {}): Promise<MoveOutcome> {
  const hooks = options.hooks ?? {};
  let lock = lockDatabase(join(request.from, 'architect.db'), request.from);
  const release = () => {
    lock?.close();
    lock = undefined;
  };
  let plan: MovePlan;
  try {
    plan = await planMove(request, options.seams, { db: lock, busy: options.busy });
  } catch (error) {
    release();
    throw error;
  }
  const { from, to, root } = plan;
  const previous = readLocation(root).location;
  let journal: MoveJournal = {
    id: newMoveId(),
    from,
    to,
    mode: plan.sameDisk ? 'rename' : 'copy',
    phase: 'staging',
    pid: process.pid,
    startedAt: new Date().toISOString(),
    createdTo: !plan.toExists,
    entries: plan.entries,
  };
  let step = 'creating the folder';
  try {
    if (!plan.toExists) await makeFolders(to);
    writeLocation(root, { dataDir: from, moving: journal });
    await mkdir(stagingOf(journal));
    await hooks.beforeStep?.('stage');
    step = journal.mode === 'rename' ? 'moving the files' : 'copying the files';
    if (journal.mode === 'rename') await stageByRenames(plan, journal, lock, release, options);
    else await stageByCopy(plan, journal, options);
    syncToDisk(stagingOf(journal), 'folder');
    await hooks.beforeStep?.('place');
  } catch (error) {
    throw await undo(error, step, plan, journal, previous, lock, release);
  }
  // The target holds a complete, verified copy: from here on the move is finished, now or at the next start.
  journal = { ...journal, phase: 'placing' };
  writeLocation(root, { dataDir: from, moving: journal });
  options.onProgress?.('switching', plan.dataBytes, plan.dataBytes);
  try {
    await placeStaged(journal);
    await hooks.beforeStep?.('locate');
    journal = { ...journal, phase: 'cleaning' };
    writeLocation(root, { dataDir: to, moving: journal });
    release();
    await hooks.beforeStep?.('clean');
    await cleanFrom(root, journal);
    await hooks.beforeStep?.('finish');
    finishLocation(root, to);
  } catch (error) {
    release();
    throw new AppError('internal', `The data was copied to ${to} complete, but finishing the move failed (${(error as Error).message}): the next start of the app finishes it.`, { cause: error });
  }
  return { plan, mode: journal.mode === 'rename' ? 'renamed' : 'copied' };
}

/** Same disk: each entry renamed into the staging folder, then the stored paths rewritten (on the locked connection). */
async function stageByRenames(plan: MovePlan, journal: MoveJournal, lock: Db | undefined, release: () => void, options: MoveOptions): Promise<void> {
  const staging = stagingOf(journal);
  if (!HOLD_LOCK_ACROSS_RENAMES) release();
  let moved = 0;
  for (const name of plan.entries.filter((entry) => !WAL_FILES.includes(entry))) {
    const bytes = totalSize(await listFiles(plan.from, [name]));
    await rename(join(plan.from, name), join(staging, name));
    options.onProgress?.('copying', (moved += bytes), plan.dataBytes);
    await options.hooks?.afterFile?.(name);
  }
  syncToDisk(plan.from, 'folder');
  if (lock && HOLD_LOCK_ACROSS_RENAMES) {
    rewritePaths(lock, plan.from, plan.to, folderEntries(journal));
    checkpoint(lock);
  } else {
    rewritePathsIn(join(staging, 'architect.db'), plan.from, plan.to, folderEntries(journal));
  }
}

/** Another disk: everything copied into the staging folder and synced, compared, the database checked and its paths rewritten. */
async function stageByCopy(plan: MovePlan, journal: MoveJournal, options: MoveOptions): Promise<void> {
  const staging = stagingOf(journal);
  let copied = 0;
  await copyFiles(plan.from, staging, plan.files, (bytes) => options.onProgress?.('copying', (copied += bytes), plan.dataBytes), (file) => options.hooks?.afterFile?.(file.path));
  options.onProgress?.('verifying', copied, plan.dataBytes);
  await options.hooks?.beforeStep?.('verify');
  const difference = await compareCopy(staging, plan.files);
  if (difference) throw new Error(`the copy does not match: ${difference}`);
  const database = join(staging, 'architect.db');
  if (plan.entries.includes('architect.db')) {
    const problem = integrityProblem(database);
    if (problem) throw new Error(`the copied database fails its integrity check: ${problem}`);
    rewritePathsIn(database, plan.from, plan.to, folderEntries(journal));
    syncToDisk(database);
  }
}

/** Undoes a failed move (the old folder as it was, the location file as before) and says what happened. */
async function undo(error: unknown, step: string, plan: MovePlan, journal: MoveJournal, previous: { dataDir: string } | null, lock: Db | undefined, release: () => void): Promise<AppError> {
  const why = error instanceof Error ? error.message : String(error);
  let undone: Undone;
  try {
    undone = await undoStaging(plan.root, journal, previous && { dataDir: previous.dataDir }, lock);
  } catch (undoError) {
    release();
    return new AppError('internal', `Moving the data folder to ${plan.to} failed while ${step} (${why}), and undoing it failed too (${(undoError as Error).message}): the next start of the app undoes it. Restart the app.`, { cause: error });
  }
  release();
  if (undone.stuck.length > 0) {
    return new AppError('internal', `Moving the data folder to ${plan.to} failed while ${step} (${why}); ${undone.stuck.join(', ')} could not be put back in ${plan.from} and ${stagingOf(journal)} still holds it: restart the app.`, { cause: error });
  }
  const litter = undone.leftover ? ` The partial copy could not be deleted: remove ${undone.leftover} yourself.` : '';
  return new AppError('unavailable', `Moving the data folder to ${plan.to} failed while ${step} (${why}); the move was undone and the data is in ${plan.from} as before.${litter}`, { cause: error });
}
