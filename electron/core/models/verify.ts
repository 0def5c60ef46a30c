import { rm, stat } from 'node:fs/promises';
import { readModelFile } from './ggufInfo';
import type { ModelFileInfo } from './ggufInfo';
import { sha256File } from './hash';

/** A failure of the finished file itself (not a GGUF, truncated): the file is deleted. */
export class VerifyError extends Error {}

/**
 * Checks a finished download: as long as the server announced (when `expectedBytes` > 0) and a whole
 * GGUF model; then hashes it. A file that fails is deleted and a VerifyError thrown.
 */
export async function verifyDownloadedFile(path: string, expectedBytes: number, signal: AbortSignal): Promise<{ size: number; info: ModelFileInfo; sha256: string }> {
  const size = (await stat(path)).size;
  if (expectedBytes > 0 && size !== expectedBytes) {
    await rm(path, { force: true });
    throw new VerifyError(`the finished file has ${size} bytes but the server announced ${expectedBytes}: it was cut off`);
  }
  let info;
  try {
    info = await readModelFile(path, 'args.uri');
  } catch (error) {
    await rm(path, { force: true });
    throw new VerifyError((error as Error).message.replace(/\.$/, ''));
  }
  const sha256 = await sha256File(path, { signal });
  return { size, info, sha256 };
}
