import { createHash } from 'node:crypto';
import { openRegularFile } from '../files';
import type { FileRef } from '../files';

const CHUNK_BYTES = 4 * 1024 * 1024;

export interface HashOptions {
  readonly signal?: AbortSignal;
  /** Called after each chunk with the bytes hashed so far. */
  readonly onProgress?: (bytes: number) => void;
  /** How the file is named in errors (files.ts). Default: field 'path', "The file". */
  readonly ref?: FileRef;
}

/**
 * SHA-256 of a regular file (files.ts: a FIFO, a device or a folder is refused by name, never waited on),
 * read in 4 MiB chunks through one reused buffer with fs/promises: the reads run on libuv's thread pool and
 * the event loop turns between chunks, so a multi-gigabyte model neither sits in memory nor blocks the process.
 */
export async function sha256File(path: string, options: HashOptions = {}): Promise<string> {
  const hash = createHash('sha256');
  const { handle } = await openRegularFile(path, options.ref ?? { field: 'path' });
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let position = 0;
    for (;;) {
      options.signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, position);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
      options.onProgress?.(position);
    }
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}
