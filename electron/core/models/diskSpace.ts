import { statfs } from 'node:fs/promises';
import { AppError } from '../../../shared/errors';
import { formatGB } from '../../../shared/models/memory';

/** Free space kept beyond the file itself. */
const diskMargin = (bytes: number) => 256 * 1024 * 1024 + Math.ceil(bytes * 0.01);

/**
 * Refuses (AppError 'unavailable' on `field`) when the disk of `folder` cannot take the rest of a file
 * of `totalBytes`, `haveBytes` of which are already there, with a margin. An unknown size passes.
 */
export async function checkDiskSpace(folder: string, totalBytes: number | null, haveBytes: number, field: string): Promise<void> {
  if (totalBytes === null || totalBytes <= 0) return;
  const remaining = Math.max(0, totalBytes - haveBytes);
  const needed = remaining + diskMargin(totalBytes);
  const fs = await statfs(folder);
  const free = fs.bavail * fs.bsize;
  if (free < needed) {
    throw new AppError(
      'unavailable',
      `Not enough free disk space in ${folder}: the download needs ${formatGB(needed)} (${formatGB(remaining)} of file and a margin) and ${formatGB(free)} is free. Free some space or choose a smaller file.`,
      { field },
    );
  }
}
