import { resolve } from 'node:path';
import { writeLocation } from '../location';
import type { MoveJournal } from '../location';
import { cleanFrom, finishLocation, pathsAtTarget, placeStaged, undoStaging } from './steps';

/**
 * Settles a move whose process is gone (a crash, a kill): before its staging folder was complete, it is undone and
 * the data is in `from` as it was; after, it is finished and the data is in `to`. Returns the folder the data is in.
 * Said on stderr, since it happens at start before anything else is shown.
 */
export async function recoverMove(root: string, journal: MoveJournal): Promise<string> {
  const say = (message: string) => console.warn(`[data] ${message}`);
  if (journal.phase === 'staging') {
    const previous = resolve(journal.from) === resolve(root) ? null : { dataDir: journal.from };
    const { stuck, leftover } = await undoStaging(root, journal, previous);
    if (leftover) say(`The partial copy of an interrupted move could not be deleted: remove ${leftover}.`);
    if (stuck.length > 0) {
      throw new Error(
        `A move of the data folder from ${journal.from} to ${journal.to} was interrupted, and ${stuck.join(', ')} could not be put back: both folders hold it. Move the older one aside, then start again.`,
      );
    }
    say(`A move of the data folder to ${journal.to} was interrupted before its data was complete there: it was undone, and the data is in ${journal.from}.`);
    return journal.from;
  }
  if (journal.phase === 'placing') {
    await placeStaged(journal);
    pathsAtTarget(journal);
    writeLocation(root, { dataDir: journal.to, moving: { ...journal, phase: 'cleaning' } });
  }
  await cleanFrom(root, journal);
  finishLocation(root, journal.to);
  say(`A move of the data folder from ${journal.from} was interrupted after its data was complete at ${journal.to}: it was finished there.`);
  return journal.to;
}
