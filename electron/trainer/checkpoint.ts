import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, readdirSync, readSync, renameSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { CheckpointState, stateMismatch } from '../../shared/training/checkpoint';
import type { RunShape } from '../../shared/training/checkpoint';
import { AppError } from '../../shared/errors';
import { formatBytes } from '../../shared/format';
import { syncToDisk } from '../core/durable';
import { openRegularFileSync, readRegularFileSync } from '../core/files';
import type { LoraAdapter, TrainingSession } from '../../native/index';

const PREFIX = 'step-';
/** A finished checkpoint folder; `.tmp` (being written) and `.old` (being replaced) ones are not. */
const STEP_FOLDER = /^step-(\d+)$/;
const LEFTOVER = /^(step-\d+)\.(tmp|old)$/;
/** The files of a checkpoint folder: a resume needs all three. */
const FILES = ['state.json', 'adapter.gguf', 'optimizer.gguf'] as const;
/** The most state.json may hold: its history grows by about 80 bytes a step. */
const STATE_MAX_BYTES = 256 << 20;

/**
 * Writes `<dir>/step-<n>/` (adapter, optimizer state, state.json) into a temporary folder, each file synced to
 * disk (the trainer syncs its GGUF files), then renames it into place: a power cut leaves the old or the new,
 * whole. A write that fails removes its partial folder and leaves the earlier checkpoints as they were; a full
 * disk fails with AppError('unavailable') naming the folder, "disk full", and the checkpoint kept.
 */
export async function writeCheckpoint(dir: string, state: CheckpointState, adapter: LoraAdapter, session: TrainingSession): Promise<string> {
  const final = join(dir, `${PREFIX}${String(state.step).padStart(6, '0')}`);
  const tmp = `${final}.tmp`;
  const json = `${JSON.stringify(state, null, 2)}\n`;
  try {
    mkdirSync(dir, { recursive: true });
    removeLeftovers(dir);
    mkdirSync(tmp);
    await adapter.save(join(tmp, 'adapter.gguf'));
    await session.saveOptimizer(join(tmp, 'optimizer.gguf'));
    writeFileSync(join(tmp, 'state.json'), json);
    syncToDisk(join(tmp, 'state.json'));
    syncToDisk(tmp, 'folder');
    replaceFolder(tmp, final);
    syncToDisk(dir, 'folder');
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw diskFull(error, final, checkpointBytes(adapter, json)) ?? error;
  }
  return final;
}

/**
 * About what a checkpoint takes on disk: the adapter and the optimizer's two moments (F32 each) with a GGUF header
 * entry per tensor in each of the three, state.json, and a block per file.
 */
function checkpointBytes(adapter: LoraAdapter, json: string): number {
  return adapter.info.parameterCount * 4 * 3 + adapter.tensorNames().length * 3 * 128 + Buffer.byteLength(json) + 3 * 4096;
}

/**
 * The error for a write that failed for want of room (ENOSPC, or less free than a checkpoint needs: the native
 * writer reports no errno), or undefined for any other failure.
 */
function diskFull(error: unknown, final: string, needed: number): AppError | undefined {
  const dir = resolve(final, '..');
  const code = (error as NodeJS.ErrnoException).code;
  let free: number | undefined;
  try {
    const fs = statfsSync(dir);
    free = fs.bavail * fs.bsize;
  } catch {
    // no figure: only the errno can tell
  }
  if (code !== 'ENOSPC' && code !== 'EDQUOT' && !(free !== undefined && free < needed)) return undefined;
  const room = free === undefined ? '' : ` (${formatBytes(free)} free in ${dir}, a checkpoint needs about ${formatBytes(needed)})`;
  const kept = latestCheckpoint(dir);
  const then = kept ? `The last checkpoint, ${kept}, is kept: free some space, then resume the job.` : 'Free some space, then start the job again.';
  return new AppError('unavailable', `Cannot write the checkpoint ${final}: disk full${room}. ${then}`, { cause: error });
}

/** Puts folder `from` at `to`; an old `to` (a step written again, as by a resume that is stopped at once) goes only once the new one is in place. */
function replaceFolder(from: string, to: string): void {
  if (!existsSync(to)) return renameSync(from, to);
  const old = `${to}.old`;
  rmSync(old, { recursive: true, force: true });
  renameSync(to, old);
  try {
    renameSync(from, to);
  } catch (error) {
    renameSync(old, to);
    throw error;
  }
  rmSync(old, { recursive: true, force: true });
}

/** What a write cut short (a crash, a power cut) left: a `.tmp` folder only takes room; an `.old` one whose new folder never arrived goes back. */
function removeLeftovers(dir: string): void {
  for (const name of readdirSync(dir)) {
    const match = LEFTOVER.exec(name);
    if (!match) continue;
    const path = join(dir, name);
    if (match[2] === 'old' && !existsSync(join(dir, match[1]!))) renameSync(path, join(dir, match[1]!));
    else rmSync(path, { recursive: true, force: true });
  }
}

/** The newest finished checkpoint folder in `dir` that has all its files, if any. */
function latestCheckpoint(dir: string): string | undefined {
  const complete = (name: string) => FILES.every((file) => existsSync(join(dir, name, file)));
  const steps = existsSync(dir) ? readdirSync(dir).filter((n) => STEP_FOLDER.test(n) && complete(n)) : [];
  const step = (name: string) => Number(STEP_FOLDER.exec(name)![1]);
  const newest = steps.sort((a, b) => step(a) - step(b)).at(-1);
  return newest === undefined ? undefined : join(dir, newest);
}

/** A checkpoint folder, or the newest complete one inside a folder of checkpoints. */
export function resolveCheckpoint(path: string): string {
  if (existsSync(join(path, 'state.json'))) return path;
  const newest = latestCheckpoint(path);
  if (!newest) throw new AppError('not_found', `${path}: no checkpoint here (expected state.json, or step-* folders holding one)`, { field: 'resume' });
  return newest;
}

/** The state of a checkpoint folder, once its files are all there. */
export function readCheckpointState(dir: string): CheckpointState {
  const missing = FILES.filter((name) => !existsSync(join(dir, name)));
  if (missing.length && missing.length < FILES.length) {
    throw new AppError('invalid_arguments', `${dir}: an incomplete checkpoint (${missing.join(' and ')} missing); resume from an earlier one`, { field: 'resume' });
  }
  const file = join(dir, 'state.json');
  // The app's one file rule: a FIFO or a device in its place is refused, never waited on; its size is bounded.
  const bytes = readRegularFileSync(file, { field: 'resume', what: 'The checkpoint state', maxBytes: STATE_MAX_BYTES });
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new AppError('invalid_arguments', `${file}: unreadable checkpoint state (${(error as Error).message})`, { field: 'resume' });
  }
  const parsed = CheckpointState.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || '(the whole file)';
    // Our own checks read as sentences about the field ("step is 1000000000, past…"); zod's as "field: what".
    const what = issue.code === 'custom' ? `${field} ${issue.message}` : `${field}: ${issue.message}`;
    throw new AppError('invalid_arguments', `${file}: not a checkpoint state this run can resume: ${what}`, { field: 'resume' });
  }
  return parsed.data;
}

/**
 * Refuses a checkpoint whose state does not fit the run resuming it (AppError 'conflict' naming state.json and the
 * field): another step count, an epoch its step does not fall in, a data order that is not a permutation of the
 * run's training examples.
 */
export function checkResumeState(dir: string, state: CheckpointState, run: RunShape): void {
  const mismatch = stateMismatch(state, run);
  if (!mismatch) return;
  throw new AppError('conflict', `${join(dir, 'state.json')}: ${mismatch[0]} ${mismatch[1]}; resume needs the run it was written by`, { field: 'resume' });
}

export const checkpointName = (dir: string) => basename(dir);

// ---- the base model's identity -------------------------------------------------------------------

/** What a checkpoint records of the base it was trained on (state.json's `model`). */
export type ModelIdentity = Required<CheckpointState['model']>;

const EDGE = 64 * 1024;
const SAMPLES = 64;
const BLOCK = 4096;

/**
 * The base model's identity: its size and a SHA-256 of its first and last 64 KiB (the GGUF header, the end of
 * the weights) and 64 blocks of 4 KiB spread evenly between: two same-size files (one base quantized twice, two
 * fine-tunes of one architecture) differ there. A full hash would read gigabytes at every start; this reads 400 KiB.
 */
export function modelIdentity(path: string): ModelIdentity {
  // A FIFO or a device as the model is refused here, by name, before anything waits on it.
  const { fd, size: bytes } = openRegularFileSync(path, { field: 'model', what: 'The model file' });
  try {
    const hash = createHash('sha256').update(`sampled-v1 ${bytes}\n`);
    const buffer = Buffer.alloc(EDGE);
    const take = (offset: number, length: number) => hash.update(buffer.subarray(0, readSync(fd, buffer, 0, length, offset)));
    if (bytes <= 2 * EDGE + SAMPLES * BLOCK) {
      for (let offset = 0; offset < bytes; offset += EDGE) take(offset, EDGE);
    } else {
      take(0, EDGE);
      const span = bytes - 2 * EDGE - BLOCK;
      for (let i = 0; i < SAMPLES; i++) take(EDGE + Math.floor((span * i) / (SAMPLES - 1)), BLOCK);
      take(bytes - EDGE, EDGE);
    }
    return { path: resolve(path), bytes, fingerprint: `sha256:${hash.digest('hex')}` };
  } finally {
    closeSync(fd);
  }
}

/**
 * Refuses to resume a checkpoint on another base than it was trained on, naming both. A checkpoint written before
 * fingerprints were kept is compared by size only.
 */
export function checkSameBase(checkpoint: string, saved: CheckpointState['model'], current: ModelIdentity): void {
  if (saved.bytes === current.bytes && (saved.fingerprint === undefined || saved.fingerprint === current.fingerprint)) return;
  const then = `${saved.path} (${saved.bytes} bytes)`;
  const detail =
    saved.path === current.path
      ? `it was trained on ${then}, and that file has changed since (now ${current.bytes} bytes, other contents)`
      : `it was trained on ${then}; this run's model is ${current.path} (${current.bytes} bytes${saved.bytes === current.bytes ? ', other contents' : ''})`;
  throw new AppError('conflict', `${checkpoint}: this checkpoint was made with another model: ${detail}. Resume with the model it was trained on, or start again.`, { field: 'model' });
}
