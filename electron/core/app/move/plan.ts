// Whether the data folder can move to a folder, and what that takes: every refusal names the folder and what to do,
// and nothing is changed by asking.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, open, readdir, realpath, rename, rm, stat, statfs } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { Db } from '../../../../db/connection';
import { activityRefusal, withReadOnly } from '../../../../db/relocation';
import type { DataFolderMovePlan } from '../../../../shared/contract/app';
import { AppError } from '../../../../shared/errors';
import { formatSize, probeWrite, reason } from '../dataFolder';
import { locationFileOf, processAlive, readLocation } from '../location';
import { DATA_ENTRIES, listFiles, presentEntries, totalSize, WAL_FILES } from './entries';
import type { DataFile } from './entries';

/** Room left over on another disk after the copy, so that the app can go on working there: 500 MB. */
export const MOVE_MARGIN_BYTES = 500e6;

export interface MoveRequest {
  /** The data folder now. */
  readonly from: string;
  /** Where the data is to go: an absolute path. */
  readonly to: string;
  /** The folder whose location file names the data folder: the default one, or the one --data-dir gave. */
  readonly root: string;
}

/** What tests stand in for: another disk, a fuller one. */
export interface MoveSeams {
  /** Whether two existing folders are on one file system. Default: a probe file renamed from one into the other. */
  readonly sameDevice?: (a: string, b: string) => Promise<boolean>;
  /** Free bytes for this user on the disk of an existing folder. Default: statfs. */
  readonly freeSpace?: (path: string) => Promise<number>;
}

/** What the app is doing in this process that a move would break (a generation under way); null when nothing. */
export type BusyCheck = () => string | null;

export interface MovePlan extends DataFolderMovePlan {
  readonly root: string;
  /** The app's entries in `from`. */
  readonly entries: readonly string[];
  /** What is copied: everything under `entries` but the WAL files (checkpointed into the database first). */
  readonly files: readonly DataFile[];
  /** `to` is there already (an empty folder, or the root without app data in it). */
  readonly toExists: boolean;
}

const refuse = (message: string) => new AppError('invalid_arguments', `${message}; nothing was changed.`, { field: 'args.to' });

/** Whether `child` lies inside `parent` (not the same folder). */
function inside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** The nearest folder of `path` (itself included) that exists. */
async function existingAncestor(path: string): Promise<string> {
  let at = path;
  while (!(await lstat(at).then(() => true, () => false)) && dirname(at) !== at) at = dirname(at);
  return at;
}

/** A probe file renamed from `a` into `b`: EXDEV says they are on two file systems. */
async function renameProbe(a: string, b: string): Promise<boolean> {
  const name = `.architect-move-probe-${process.pid}-${randomBytes(4).toString('hex')}`;
  await (await open(join(a, name), 'wx')).close();
  try {
    await rename(join(a, name), join(b, name));
    await rm(join(b, name), { force: true });
    return true;
  } catch (error) {
    await rm(join(a, name), { force: true });
    if ((error as NodeJS.ErrnoException).code === 'EXDEV') return false;
    return (await stat(a)).dev === (await stat(b)).dev;
  }
}

const freeSpaceOf = async (path: string) => {
  const fs = await statfs(path);
  return fs.bavail * fs.bsize;
};

/**
 * Checks a move of `request.from` to `request.to`, in order: an absolute path; not the data folder, not inside it,
 * not holding it; a new folder that can be created, or an empty one (the root may hold other files, though none of
 * the app's); writable, and the location file too; on another disk, room for the data plus MOVE_MARGIN_BYTES; no
 * training job or model download running in any process (`db`, else the folder's database read-only), and nothing
 * `busy` names. Throws the refusal (an AppError); returns the plan.
 */
export async function planMove(request: MoveRequest, seams: MoveSeams = {}, activity: { db?: Db; busy?: BusyCheck } = {}): Promise<MovePlan> {
  if (!isAbsolute(request.to)) {
    throw refuse(`${request.to || 'An empty path'} is not an absolute path: give the whole path of the new folder (e.g. ${process.platform === 'win32' ? 'D:\\Architect' : '/mnt/disk/architect'})`);
  }
  const from = resolve(request.from);
  const to = resolve(request.to);
  const root = resolve(request.root);
  if (to === from) throw refuse(`${to} is the data folder already: choose another folder`);
  const ancestor = await existingAncestor(to);
  const realFrom = await realpath(from);
  const realTo = join(await realpath(ancestor), relative(ancestor, to));
  if (realTo === realFrom) throw refuse(`${to} is the data folder already (through a link): choose another folder`);
  if (inside(realTo, realFrom)) throw refuse(`${to} is inside the data folder ${from}: a folder cannot move into itself. Choose a folder outside it`);
  if (inside(realFrom, realTo)) throw refuse(`${to} holds the data folder ${from}: choose a new or empty folder outside it`);

  const toExists = ancestor === to;
  const ancestorInfo = await stat(ancestor);
  if (!ancestorInfo.isDirectory()) {
    throw refuse(toExists ? `${to} is a file, not a folder: choose a new or empty folder` : `${to} cannot be created: ${ancestor} is a file, not a folder. Choose another place`);
  }
  if (toExists) await checkEmpty(to, to === root);
  const writeFailure = await probeWrite(ancestor);
  if (writeFailure) {
    throw refuse(`${to} cannot be ${toExists ? 'written' : 'created'} (${reason(writeFailure)}${toExists ? '' : ` in ${ancestor}`}): choose a folder this user can write`);
  }
  await checkLocationFile(root);

  const entries = await presentEntries(from);
  const files = await listFiles(from, entries.filter((name) => !WAL_FILES.includes(name)));
  const dataBytes = totalSize(files);
  const sameDisk = await (seams.sameDevice ?? renameProbe)(from, ancestor);
  const freeBytes = await (seams.freeSpace ?? freeSpaceOf)(ancestor);
  const neededBytes = sameDisk ? 0 : dataBytes + MOVE_MARGIN_BYTES;
  if (freeBytes < neededBytes) {
    throw new AppError(
      'unavailable',
      `The disk of ${to} has ${formatSize(freeBytes)} free, and the data needs ${formatSize(dataBytes)} plus a margin of ${formatSize(MOVE_MARGIN_BYTES)} (${formatSize(neededBytes)}): free some space there or choose another disk; nothing was changed.`,
      { field: 'args.to' },
    );
  }
  const busy = activity.busy?.() ?? checkActivity(from, activity.db);
  if (busy) throw new AppError('conflict', busy);
  return { from, to, root, sameDisk, dataBytes, freeBytes, neededBytes, entries, files, toExists };
}

/** An existing target must be empty; the root may hold other things (the location file, Chromium's files), never the app's data. */
async function checkEmpty(to: string, isRoot: boolean): Promise<void> {
  const names = await readdir(to);
  const ours = names.filter((name) => (DATA_ENTRIES as readonly string[]).includes(name));
  if (ours.length > 0) throw refuse(`${to} holds Architect data already (${ours.join(', ')}): choose a new or empty folder`);
  const others = names.filter((name) => !isRoot && !name.startsWith('.architect-write-check-'));
  if (others.length > 0) {
    throw refuse(`${to} is not empty (it holds ${others.length === 1 ? `'${others[0]}'` : `${others.length} entries, such as '${others[0]}'`}): choose a new or empty folder, so that nothing of yours is mixed with the app's data`);
  }
}

/** The location file must be writable, and readable if it is there: a move that cannot say where the data went is refused. */
async function checkLocationFile(root: string): Promise<void> {
  const file = locationFileOf(root);
  const { problem } = readLocation(root);
  if (problem) throw refuse(`${problem.replace(/: the data folder .* is used\..*$/, '')}: fix or delete it first`);
  const failure = existsSync(root) ? await probeWrite(root) : null;
  if (failure) throw refuse(`The location file ${file}, which says where the data is, cannot be written (${reason(failure)}): make ${root} writable for this user`);
}

/** activityRefusal on `db`, or on the folder's database opened read-only for the question. */
function checkActivity(from: string, db: Db | undefined): string | null {
  if (db) return activityRefusal(db, processAlive);
  return withReadOnly(join(from, 'architect.db'), (readOnly) => activityRefusal(readOnly, processAlive)) ?? null;
}
