import { createHash, randomBytes } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { access, open, rm, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { AppError } from '../../../shared/errors';
import { ExportMessage } from '../../../shared/versions/exportProtocol';
import type { ExportPhase, ExportProgress, ExportRequest } from '../../../shared/versions/exportProtocol';
import { ChildHost } from '../childHost';
import type { Spawner } from '../childHost';
import { checkTarget, openRegularFile, placeFile } from '../files';
import { readGgufHeader } from '../models/ggufInfo';
import { sha256File } from '../models/hash';

/** Where `npm run build` puts the export child's entry: out/workers/, next to the bundles that import this module. */
export const DEFAULT_EXPORT_ENTRY = fileURLToPath(new URL('../workers/export.js', import.meta.url));

export type { ExportProgress } from '../../../shared/versions/exportProtocol';

export interface ExportOptions {
  /** Runs the export child (merged exports only): forked Node headless, Electron's utility process in the app. */
  readonly spawner: Spawner;
  /** The child's built entry. Default DEFAULT_EXPORT_ENTRY (out/workers/export.js). */
  readonly workerEntry?: string;
  /** The base GGUF the adapter was trained on (read for merged exports only). */
  readonly modelPath: string;
  /** The version's LoRA adapter GGUF. */
  readonly adapterPath: string;
  /** The file to write; its folder must exist and be writable. An existing file there is replaced, atomically. */
  readonly outPath: string;
  /** true: the base with the adapter merged in, a standalone GGUF; false: a verified copy of the adapter. */
  readonly merged: boolean;
  /** CPU threads of the merge. Default: all cores. */
  readonly threads?: number;
  /** Bytes done / total per phase. Exceptions it throws are ignored. */
  readonly onProgress?: (progress: ExportProgress) => void;
  /** Kills the child (or stops the copy) and removes the temporary file; the promise rejects with AppError('cancelled'). */
  readonly signal?: AbortSignal;
}

export interface ExportResult {
  /** The written file (outPath, resolved). */
  readonly path: string;
  readonly bytes: number;
  /** SHA-256 of the written file, hex. */
  readonly sha256: string;
}

type Report = (phase: ExportPhase, done: number, total: number, message: string) => void;

const OUT_REF = { field: 'outPath', what: 'The export target' };

/**
 * Exports a trained version as GGUF: the adapter alone (a verified copy) or merged into its base as a standalone
 * model. Written atomically: a hidden temporary file next to outPath, flushed to disk, checked, then renamed over
 * it, so a failure (a full disk, an abort, a crash of the child) leaves no partial file, not even the temporary
 * one. Errors are AppErrors naming the file and the option at fault (`field`: modelPath, adapterPath, outPath).
 */
export async function exportVersion(options: ExportOptions): Promise<ExportResult> {
  const outPath = resolve(options.outPath);
  const adapterPath = resolve(options.adapterPath);
  const modelPath = resolve(options.modelPath);
  const inputs = [await inputFile(adapterPath, 'adapter', 'adapterPath')];
  if (options.merged) inputs.push(await inputFile(modelPath, 'model file', 'modelPath'));
  await checkOutPath(outPath, inputs);
  if (options.signal?.aborted) throw cancelled(outPath);

  const tempPath = join(dirname(outPath), `.${basename(outPath)}.${randomBytes(6).toString('hex')}.partial`);
  const report: Report = (phase, done, total, message) => {
    try {
      options.onProgress?.({ phase, done, total, message });
    } catch {
      // A listener's failure is not the export's.
    }
  };
  try {
    const written = options.merged
      ? await mergeInChild(options, { type: 'merge', modelPath, adapterPath, outPath, tempPath, ...(options.threads ? { threads: options.threads } : {}) }, report)
      : await copyVerified(adapterPath, tempPath, outPath, report, options.signal);
    if (options.signal?.aborted) throw cancelled(outPath);
    // Checked again: a FIFO or a folder put at the target while the export ran is refused, not replaced.
    await placeFile(tempPath, outPath, OUT_REF);
    return { path: outPath, ...written };
  } catch (error) {
    await rm(tempPath, { force: true });
    if (options.signal?.aborted) throw cancelled(outPath);
    throw error;
  }
}

function cancelled(outPath: string): AppError {
  return new AppError('cancelled', `The export to ${outPath} was cancelled; nothing was written.`);
}

const ERRNO: Record<string, string> = {
  ENOSPC: 'the disk is full (ENOSPC)',
  EDQUOT: 'the disk quota is used up (EDQUOT)',
  EROFS: 'the file system is read-only (EROFS)',
  EACCES: 'permission denied (EACCES)',
  EPERM: 'permission denied (EPERM)',
  ENOENT: 'no such file or folder (ENOENT)',
  EIO: 'an input/output error (EIO: a failing disk?)',
};

function errnoText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return (code && ERRNO[code]) ?? (error instanceof Error ? error.message : String(error));
}

/** An input of the export, a regular file (files.ts: anything else is refused by name, never waited on). */
async function inputFile(path: string, what: string, field: string): Promise<Stats> {
  const opened = await openRegularFile(path, { field, what: `The ${what}` }).catch((error: unknown) => {
    if ((error as AppError).code !== 'not_found') throw error;
    throw new AppError('not_found', `The ${what} ${path} cannot be read: ${errnoText((error as AppError).cause)}.`, { field });
  });
  try {
    return await opened.handle.stat();
  } finally {
    await opened.handle.close();
  }
}

/**
 * The folder exists and takes files; what is at the target already, if anything, is a regular file (a FIFO, a
 * device or a folder is refused by name: files.ts checkTarget), and not one of the inputs.
 */
async function checkOutPath(outPath: string, inputs: Stats[]): Promise<void> {
  const folder = dirname(outPath);
  const info = await stat(folder).catch(() => undefined);
  if (!info) throw new AppError('not_found', `The folder ${folder} does not exist; nothing was written to ${outPath}.`, { field: 'outPath' });
  if (!info.isDirectory()) throw new AppError('invalid_arguments', `${folder} is not a folder; nothing was written to ${outPath}.`, { field: 'outPath' });
  await access(folder, constants.W_OK).catch((error: unknown) => {
    throw new AppError('invalid_arguments', `Cannot write to the folder ${folder}: ${errnoText(error)}; nothing was written to ${outPath}.`, { field: 'outPath' });
  });
  await checkTarget(outPath, OUT_REF);
  const target = await stat(outPath).catch(() => undefined);
  if (target && inputs.some((i) => i.dev === target.dev && i.ino === target.ino)) {
    throw new AppError('invalid_arguments', `${outPath} is one of the export's own inputs; choose another file.`, { field: 'outPath' });
  }
}

/** The merge in a child process: it writes and hashes `request.tempPath`; an abort kills it. */
async function mergeInChild(options: ExportOptions, request: ExportRequest, report: Report): Promise<{ bytes: number; sha256: string }> {
  const { signal } = options;
  const host = await ChildHost.start<ExportRequest, ExportMessage>({
    name: 'exporter',
    entry: options.workerEntry ?? DEFAULT_EXPORT_ENTRY,
    spawner: options.spawner,
    messages: ExportMessage,
    isReady: (m) => m.type === 'ready',
  });
  const onAbort = () => host.kill();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) host.kill();
  try {
    return await new Promise((resolvePromise, reject) => {
      host.onMessage((message) => {
        switch (message.type) {
          case 'progress':
            return report(message.progress.phase, message.progress.done, message.progress.total, message.progress.message);
          case 'log':
            return host.addLog(message.text);
          case 'done':
            return resolvePromise({ bytes: message.bytes, sha256: message.sha256 });
          case 'error':
            return reject(AppError.fromWire(message.error));
          case 'ready':
            return undefined;
        }
      });
      // After the end is reported the child is gone: nothing writes the temporary file any more.
      host.onCrash((info) => {
        const tail = info.logTail.slice(-20);
        reject(new AppError('internal', `The export to ${request.outPath} failed: the ${info.reason}.${tail.length ? `\nLast lines of its log:\n${tail.join('\n')}` : ''}`));
      });
      host.onExit(() => reject(new AppError('internal', `The export to ${request.outPath} failed: the exporter exited without an answer.`)));
      host.send(request);
    });
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await host.waitForExit(10_000);
  }
}

/** The adapter must be a LoRA GGUF: a copy of anything else is no version export. */
async function checkAdapterFile(path: string): Promise<void> {
  let meta: Record<string, Record<string, unknown> | undefined>;
  try {
    meta = (await readGgufHeader(path, { field: 'adapterPath', what: 'The adapter' }, { readTensorInfo: false })).info.metadata as unknown as typeof meta;
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('invalid_arguments', `The adapter ${path} is not a GGUF file: ${(error as Error).message}`, { field: 'adapterPath' });
  }
  if (meta.general?.type !== 'adapter' || meta.adapter?.type !== 'lora') {
    throw new AppError('invalid_arguments', `The adapter ${path} is a GGUF file but no LoRA adapter (general.type is "${String(meta.general?.type)}").`, { field: 'adapterPath' });
  }
}

/** Streams the adapter into the temporary file while hashing it, flushes it, then hashes the copy and compares. */
async function copyVerified(adapterPath: string, tempPath: string, outPath: string, report: Report, signal: AbortSignal | undefined): Promise<{ bytes: number; sha256: string }> {
  await checkAdapterFile(adapterPath);
  const input = await openRegularFile(adapterPath, { field: 'adapterPath', what: 'The adapter' });
  const total = input.size;
  const hash = createHash('sha256');
  let done = 0;
  let failed: 'read' | 'write' | undefined;
  // Read through the checked descriptor (closed when the stream ends or fails), never the path again.
  const source = input.handle.createReadStream({ highWaterMark: 4 << 20 }).once('error', () => (failed ??= 'read'));
  const target = createWriteStream(tempPath, { flags: 'wx' }).once('error', () => (failed ??= 'write'));
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      done += chunk.length;
      report('writing', done, total, `copying ${adapterPath}`);
      callback(null, chunk);
    },
  });
  try {
    await pipeline(source, tap, target, ...(signal ? [{ signal }] : []));
    const handle = await open(tempPath, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (signal?.aborted) throw cancelled(outPath);
    if (failed === 'read') throw new AppError('invalid_arguments', `${adapterPath}: could not read the adapter: ${errnoText(error)}`, { field: 'adapterPath' });
    throw new AppError('unavailable', `${outPath}: could not write: ${errnoText(error)}; nothing was left behind.`, { field: 'outPath' });
  }
  const expected = hash.digest('hex');
  const sha256 = await sha256File(tempPath, { ...(signal ? { signal } : {}), onProgress: (bytes) => report('hashing', bytes, done, `checking ${outPath}`) });
  const bytes = (await stat(tempPath)).size;
  if (sha256 !== expected || bytes !== done) {
    throw new AppError('internal', `${outPath}: the copy does not match ${adapterPath} (${bytes} bytes, SHA-256 ${sha256}; expected ${done} bytes, ${expected}); nothing was written.`, { field: 'outPath' });
  }
  return { bytes, sha256 };
}
