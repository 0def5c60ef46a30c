import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

/** ipull (node-llama-cpp's downloader) keeps a download's bytes and progress here until it is whole. */
export const PARTIAL_SUFFIX = '.ipull';

/**
 * The bytes a partial file in `folder` really holds: ipull writes whole 5 MiB chunks and keeps, after
 * the file's bytes, a JSON record of which chunks are complete; bytes of a chunk in flight are fetched
 * again. 0 when neither the partial nor the final file is there; undefined when there is no record to read.
 */
export function keptBytes(folder: string, fileName: string, totalBytes: number | null): number | undefined {
  if (totalBytes === null || totalBytes <= 0) return undefined;
  let fd: number;
  try {
    fd = openSync(join(folder, fileName + PARTIAL_SUFFIX), 'r');
  } catch {
    return existsSync(join(folder, fileName)) ? undefined : 0;
  }
  try {
    const size = fstatSync(fd).size;
    if (size <= totalBytes || size - totalBytes > 4 * 1024 * 1024) return undefined;
    const tail = Buffer.alloc(size - totalBytes);
    readSync(fd, tail, 0, tail.length, totalBytes);
    const record = JSON.parse(tail.toString('utf8')) as { part?: unknown; chunks?: unknown; chunkSize?: unknown };
    if (record.part !== 0 || !Array.isArray(record.chunks) || typeof record.chunkSize !== 'number') return undefined;
    const complete = record.chunks.filter((c) => c === 2).length;
    return Math.min(totalBytes, complete * record.chunkSize);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
