// The one rule for every file a user hands the app (a dataset, a tokenizer model, a text to validate, an
// adapter): it must be a regular file, it is opened without ever waiting for a writer, and what is read
// from it is bounded while reading. A FIFO would block open(2) until something writes to it; a device such
// as /dev/zero never ends; a folder or a socket cannot be read at all. Each is refused by name, before it
// is opened (stat), and again on the open handle (fstat), so a path swapped between the two cannot slip
// through: the open itself uses O_NONBLOCK, which returns at once even for a FIFO.
//
// Files the app writes at a path it was given (an export's --out, a trained adapter) follow the same rule
// from the other side: see "Writing" below.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AppError } from '../../shared/errors';
import { formatBytes } from '../../shared/format';
import { syncToDisk } from './durable';

/** How a file is named in errors, and which field or flag gave it. */
export interface FileRef {
  /** The argument field or command-line flag that named the file, e.g. 'tokenizerModel' or '--file'. */
  readonly field: string;
  /** What the file is to the user, e.g. 'The tokenizer model'; default 'The file'. */
  readonly what?: string;
}

export interface ReadLimit extends FileRef {
  /** The most bytes read; a longer file is refused when its byte maxBytes + 1 arrives, not after reading it all. */
  readonly maxBytes: number;
}

// Windows has no O_NONBLOCK (and no FIFOs at a path): 0 there.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);
const CHUNK_BYTES = 1 << 20;

/** What a non-regular file is, in words, or undefined for a regular file. */
export function notRegular(info: Stats): string | undefined {
  if (info.isFile()) return undefined;
  if (info.isDirectory()) return 'a folder';
  if (info.isFIFO()) return 'a named pipe (FIFO)';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

function label(ref: FileRef): string {
  return ref.what ?? 'The file';
}

function refused(path: string, kind: string, ref: FileRef): AppError {
  return new AppError('invalid_arguments', `${label(ref)} ${path} is ${kind}, not a regular file: only regular files are read.`, { field: ref.field });
}

function unreadable(path: string, error: unknown, ref: FileRef): AppError {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file (ENOENT)' : code === 'EACCES' || code === 'EPERM' ? `permission denied (${code})` : (code ?? String(error));
  return new AppError(code === 'ENOENT' ? 'not_found' : 'invalid_arguments', `Cannot read ${label(ref).toLowerCase()} ${path}: ${why}.`, {
    field: ref.field,
    cause: error,
  });
}

function tooLarge(path: string, maxBytes: number, ref: FileRef): AppError {
  return new AppError('invalid_arguments', `${label(ref)} ${path} is larger than ${formatBytes(maxBytes)} (the limit is ${maxBytes} bytes).`, { field: ref.field });
}

/** A regular file open for reading, with its size when opened. Close it. */
export interface OpenedFile {
  readonly path: string;
  readonly handle: FileHandle;
  readonly size: number;
}

/** Opens a regular file for reading (absolute path in errors), or refuses it by what it is. Never waits for a writer. */
export async function openRegularFile(path: string, ref: FileRef): Promise<OpenedFile> {
  const file = resolve(path);
  const before = await stat(file).catch((error: unknown) => {
    throw unreadable(file, error, ref);
  });
  const kind = notRegular(before);
  if (kind) throw refused(file, kind, ref);
  const handle = await open(file, OPEN_FLAGS).catch((error: unknown) => {
    throw unreadable(file, error, ref);
  });
  try {
    const info = await handle.stat();
    const swapped = notRegular(info);
    if (swapped) throw refused(file, swapped, ref);
    return { path: file, handle, size: info.size };
  } catch (error) {
    await handle.close().catch(() => {});
    throw error;
  }
}

/** The absolute path of a regular file (checked, not opened), or the error that names what it is instead. */
export async function checkRegularFile(path: string, ref: FileRef): Promise<string> {
  const opened = await openRegularFile(path, ref);
  await opened.handle.close();
  return opened.path;
}

/** A whole regular file of at most `maxBytes`, read off the main thread; refused as soon as it proves longer. */
export async function readRegularFile(path: string, limit: ReadLimit): Promise<Buffer> {
  const { path: file, handle } = await openRegularFile(path, limit);
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      // One byte past the limit is enough to know the file is too long.
      const want = Math.min(CHUNK_BYTES, limit.maxBytes + 1 - total);
      const buffer = Buffer.allocUnsafe(want);
      const { bytesRead } = await handle.read(buffer, 0, want, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > limit.maxBytes) throw tooLarge(file, limit.maxBytes, limit);
      chunks.push(buffer.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, total);
  } finally {
    await handle.close();
  }
}

/** The first `bytes` bytes of a regular file (fewer when it is shorter). */
export async function readHead(path: string, bytes: number, ref: FileRef): Promise<{ path: string; head: Buffer }> {
  const { path: file, handle } = await openRegularFile(path, ref);
  try {
    const head = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(head, 0, bytes, 0);
    return { path: file, head: head.subarray(0, bytesRead) };
  } finally {
    await handle.close();
  }
}

// Synchronous twins, for worker threads and child processes (whose thread serves nobody else) and for
// command-line code that reads its own arguments before it starts anything. They refuse the same files
// the same way; none of them can block on a FIFO either.

/** Opens a regular file for reading; returns its descriptor and size. Close it with closeSync. */
export function openRegularFileSync(path: string, ref: FileRef): { path: string; fd: number; size: number } {
  const file = resolve(path);
  let before: Stats;
  try {
    before = statSync(file);
  } catch (error) {
    throw unreadable(file, error, ref);
  }
  const kind = notRegular(before);
  if (kind) throw refused(file, kind, ref);
  let fd: number;
  try {
    fd = openSync(file, OPEN_FLAGS);
  } catch (error) {
    throw unreadable(file, error, ref);
  }
  try {
    const info = fstatSync(fd);
    const swapped = notRegular(info);
    if (swapped) throw refused(file, swapped, ref);
    return { path: file, fd, size: info.size };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** The absolute path of a regular file, checked without reading it. */
export function checkRegularFileSync(path: string, ref: FileRef): string {
  const opened = openRegularFileSync(path, ref);
  closeSync(opened.fd);
  return opened.path;
}

/** Reads a regular file in chunks, each handed to `each`, stopping at `maxBytes` (refused) or when `each` returns false. */
export function readChunksSync(path: string, limit: ReadLimit, each: (chunk: Buffer) => boolean | void): void {
  const { path: file, fd } = openRegularFileSync(path, limit);
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let total = 0;
    for (;;) {
      const n = readSync(fd, buffer, 0, Math.min(CHUNK_BYTES, limit.maxBytes + 1 - total), null);
      if (n === 0) return;
      total += n;
      if (total > limit.maxBytes) throw tooLarge(file, limit.maxBytes, limit);
      if (each(buffer.subarray(0, n)) === false) return;
    }
  } finally {
    closeSync(fd);
  }
}

/** A whole regular file of at most `maxBytes`. */
export function readRegularFileSync(path: string, limit: ReadLimit): Buffer {
  const chunks: Buffer[] = [];
  readChunksSync(path, limit, (chunk) => void chunks.push(Buffer.from(chunk)));
  return Buffer.concat(chunks);
}

/**
 * A path that names the file `fd` has open, whatever is at its name by now (Linux /proc/self/fd, macOS /dev/fd),
 * for a library that opens a path itself (node-llama-cpp's GGUF reader opens it again for every read): a FIFO
 * swapped in after the check is never what it opens. Elsewhere (Windows has no FIFOs at a path), `path` itself.
 */
export function heldPath(path: string, fd: number): string {
  const folder = process.platform === 'linux' ? '/proc/self/fd' : process.platform === 'darwin' ? '/dev/fd' : undefined;
  return folder && existsSync(folder) ? `${folder}/${fd}` : path;
}

// ---- Writing ---------------------------------------------------------------------------------------------
// What is at a path the app writes must be nothing yet or a regular file: a FIFO would block the open until a
// reader comes, and a folder, a device or a socket is not ours to replace. Each is refused by name before
// anything is written, and again just before the rename. The bytes go into a new file beside the target,
// created with O_CREAT | O_EXCL ('wx') under a random name, so a name already taken (a FIFO included) fails
// with EEXIST at once instead of being opened; then flushed, renamed over the target, and the folder flushed
// (durable.ts): a crash leaves the old file or the new one, never a part of it.

const WRITE_ERRORS: Record<string, string> = {
  ENOSPC: 'the disk is full (ENOSPC)',
  EDQUOT: 'the disk quota is used up (EDQUOT)',
  EROFS: 'the file system is read-only (EROFS)',
  EACCES: 'permission denied (EACCES)',
  EPERM: 'permission denied (EPERM)',
  ENOTDIR: 'a part of its path is not a folder (ENOTDIR)',
  EIO: 'an input/output error (EIO: a failing disk?)',
};

function unwritable(path: string, error: unknown, ref: FileRef): AppError {
  if (error instanceof AppError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const why = code === 'ENOENT' ? `its folder ${dirname(path)} does not exist (ENOENT)` : (WRITE_ERRORS[code] ?? (code || String(error)));
  const kind = code === 'ENOENT' ? 'not_found' : code === 'ENOSPC' || code === 'EDQUOT' || code === 'EIO' ? 'unavailable' : 'invalid_arguments';
  return new AppError(kind, `Cannot write ${label(ref).toLowerCase()} ${path}: ${why}; nothing was written.`, { field: ref.field, cause: error });
}

function notReplaced(path: string, info: Stats | undefined, ref: FileRef): AppError | undefined {
  const kind = info && notRegular(info);
  if (!kind) return undefined;
  return new AppError('invalid_arguments', `${label(ref)} ${path} is ${kind}, not a regular file: only a regular file is replaced, so nothing was written.`, {
    field: ref.field,
  });
}

const missing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';

/** The absolute path of a file to write: nothing is there yet, or a regular file (a link is followed). Refused by name otherwise. */
export async function checkTarget(path: string, ref: FileRef): Promise<string> {
  const file = resolve(path);
  const info = await stat(file).catch((error: unknown) => {
    if (missing(error)) return undefined;
    throw unwritable(file, error, ref);
  });
  const refusal = notReplaced(file, info, ref);
  if (refusal) throw refusal;
  return file;
}

/** checkTarget, synchronously. */
export function checkTargetSync(path: string, ref: FileRef): string {
  const file = resolve(path);
  let info: Stats | undefined;
  try {
    info = statSync(file, { throwIfNoEntry: false });
  } catch (error) {
    throw unwritable(file, error, ref);
  }
  const refusal = notReplaced(file, info, ref);
  if (refusal) throw refusal;
  return file;
}

/** The name of a new file beside `file`: hidden, random, ending in .tmp. */
function besideName(file: string): string {
  return join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Puts a finished, flushed file at `path`: the target checked again (something that took the name meanwhile is
 * refused, and `temporary` removed), `temporary` renamed over it, the folder flushed. Returns the absolute path.
 */
export async function placeFile(temporary: string, path: string, ref: FileRef): Promise<string> {
  try {
    const file = await checkTarget(path, ref);
    await rename(temporary, file).catch((error: unknown) => {
      throw unwritable(file, error, ref);
    });
    syncToDisk(dirname(file), 'folder');
    return file;
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Writes `data` to `path` whole or not at all (see "Writing" above). Returns the absolute path. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, ref: FileRef): Promise<string> {
  const file = await checkTarget(path, ref);
  const temporary = besideName(file);
  const handle = await open(temporary, 'wx').catch((error: unknown) => {
    throw unwritable(file, error, ref);
  });
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(temporary, { force: true });
    throw unwritable(file, error, ref);
  }
  await handle.close();
  return placeFile(temporary, file, ref);
}

/**
 * Writes `path` whole or not at all, synchronously (see "Writing" above): `produce` hands its chunks to `write`,
 * and what it returns is returned. Anything it throws leaves the old file as it was and no temporary file.
 */
export function writeFileAtomicSync<T>(path: string, ref: FileRef, produce: (write: (chunk: string | Uint8Array) => void) => T): T {
  const file = checkTargetSync(path, ref);
  const temporary = besideName(file);
  const io = <R>(step: () => R): R => {
    try {
      return step();
    } catch (error) {
      throw unwritable(file, error, ref);
    }
  };
  // Opened before the try: a name that was taken (EEXIST) is not ours to remove.
  let fd: number | undefined = io(() => openSync(temporary, 'wx'));
  try {
    const out = fd;
    const result = produce((chunk) => io(() => writeAll(out, chunk)));
    io(() => fsyncSync(out));
    closeSync(out);
    fd = undefined;
    checkTargetSync(file, ref);
    io(() => renameSync(temporary, file));
    syncToDisk(dirname(file), 'folder');
    return result;
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** write(2) may take less than it was given (a disk filling up): the rest goes again, until all of it is written or it fails. */
function writeAll(fd: number, chunk: string | Uint8Array): void {
  const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
}
