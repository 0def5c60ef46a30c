import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

const CHUNK_BYTES = 4 * 1024 * 1024;

export interface HashOptions {
  readonly signal?: AbortSignal;
  /** Called after each chunk with the bytes hashed so far. */
  readonly onProgress?: (bytes: number) => void;
}

/**
 * SHA-256 of a file, read in 4 MiB chunks through one reused buffer with fs/promises: the reads run on
 * libuv's thread pool and the event loop turns between chunks, so a multi-gigabyte model neither sits
 * in memory nor blocks the process.
 */
export async function sha256File(path: string, options: HashOptions = {}): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(path, 'r');
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
