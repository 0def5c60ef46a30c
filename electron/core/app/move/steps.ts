// The steps of a move that a crash can interrupt, each safe to run again: undo what was staged, place a complete
// staging folder into the target, clean the old folder, write the final location. A move runs them in order; the
// next start after a crash runs the rest of them (recover.ts).
import { lstat, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { syncToDisk } from '../../durable';
import { stagingOf, writeLocation } from '../location';
import type { MoveJournal } from '../location';
import type { Db } from '../../../../db/connection';
import { checkpoint, rewritePaths, rewritePathsIn } from '../../../../db/relocation';
import { removeEntries, WAL_FILES } from './entries';

const exists = (path: string) => lstat(path).then(() => true, () => false);
const namesIn = (folder: string) => readdir(folder).catch(() => [] as string[]);

/** Folders among the moved entries: the stored paths under them are rewritten. */
export const folderEntries = (journal: Pick<MoveJournal, 'entries'>) => journal.entries.filter((name) => !name.startsWith('architect.db'));

/** Removes `folder` if it is empty; anything in it is kept. */
async function removeIfEmpty(folder: string): Promise<void> {
  await rmdir(folder).catch(() => undefined);
}

export interface Undone {
  /** Names that could not go back to `from` (kept in the staging folder, never deleted); the location is left as it was. */
  readonly stuck: string[];
  /** A partial copy that could not be deleted (a target gone read-only, say): the old data is whole, this is litter. */
  readonly leftover: string | null;
}

/**
 * Undoes a move in its staging phase: renamed entries go back to `from` (a copy is deleted), the stored paths are
 * those of `from` again, a target the move created is removed, and the location file says `from` as before. The
 * data in `from` was never changed but for those renames. `locked`: the move's own connection, which holds the
 * database's lock.
 */
export async function undoStaging(root: string, journal: MoveJournal, previous: { dataDir: string } | null, locked?: Db): Promise<Undone> {
  const staging = stagingOf(journal);
  const stuck: string[] = [];
  let leftover: string | null = null;
  if (journal.mode === 'copy') {
    leftover = await rm(staging, { recursive: true, force: true }).then(() => null, () => staging);
  } else {
    for (const name of await namesIn(staging)) {
      if (await exists(join(journal.from, name))) stuck.push(name);
      else await rename(join(staging, name), join(journal.from, name));
    }
    syncToDisk(journal.from, 'folder');
    if (stuck.length === 0) await removeIfEmpty(staging);
    // Only renames rewrite the database in place; a copy's original was never changed.
    if (locked) {
      rewritePaths(locked, journal.to, journal.from, folderEntries(journal));
      checkpoint(locked);
    } else {
      rewritePathsIn(join(journal.from, 'architect.db'), journal.to, journal.from, folderEntries(journal));
    }
  }
  if (journal.createdTo) await removeIfEmpty(journal.to);
  if (stuck.length === 0) writeLocation(root, previous);
  return { stuck, leftover };
}

/**
 * Moves a complete staging folder's entries into the target (one rename each, on one disk) and removes the staging
 * folder; entries already placed are skipped. Throws when a name is in both (nothing is overwritten).
 */
export async function placeStaged(journal: MoveJournal): Promise<void> {
  const staging = stagingOf(journal);
  for (const name of await namesIn(staging)) {
    const target = join(journal.to, name);
    if (await exists(target)) throw new Error(`${target} exists already, and ${join(staging, name)} is to go there: move one of them aside`);
    await rename(join(staging, name), target);
  }
  await removeIfEmpty(staging);
  syncToDisk(journal.to, 'folder');
}

/** The stored paths name the target's files (a crash may have come before a copy's rewrite was written through). */
export function pathsAtTarget(journal: MoveJournal): void {
  rewritePathsIn(join(journal.to, 'architect.db'), journal.from, journal.to, folderEntries(journal));
}

/**
 * Once the data is at the target: removes what is left of it in `from` (a copy's originals; after renames, only the
 * emptied WAL files), then `from` itself when it is empty and not the root.
 */
export async function cleanFrom(root: string, journal: MoveJournal): Promise<void> {
  await removeEntries(journal.from, journal.mode === 'copy' ? journal.entries : WAL_FILES);
  if (resolve(journal.from) !== resolve(root)) await removeIfEmpty(journal.from);
}

/** The location file says the target, with no move under way (none at all when the target is the root itself). */
export function finishLocation(root: string, to: string): void {
  writeLocation(root, resolve(to) === resolve(root) ? null : { dataDir: to });
}
