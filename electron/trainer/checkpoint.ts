import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CheckpointState } from '../../shared/training/checkpoint';
import { AppError } from '../../shared/errors';
import { syncToDisk } from '../core/durable';
import type { LoraAdapter, TrainingSession } from '../../native/index';

const PREFIX = 'step-';

/**
 * Writes `<dir>/step-<n>/` (adapter, optimizer state, state.json) through a temporary folder and a rename, each
 * synced to disk first (the trainer syncs its GGUF files), so that a power cut leaves the old or the new, whole.
 */
export async function writeCheckpoint(dir: string, state: CheckpointState, adapter: LoraAdapter, session: TrainingSession): Promise<string> {
  const final = join(dir, `${PREFIX}${String(state.step).padStart(6, '0')}`);
  const tmp = `${final}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    await adapter.save(join(tmp, 'adapter.gguf'));
    await session.saveOptimizer(join(tmp, 'optimizer.gguf'));
    writeFileSync(join(tmp, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
    syncToDisk(join(tmp, 'state.json'));
    syncToDisk(tmp, 'folder');
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  // A step is written once per run; an old folder of the same step (a rerun) is replaced.
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  syncToDisk(dir, 'folder');
  return final;
}

/** A checkpoint folder, or the newest one inside a folder of checkpoints. */
export function resolveCheckpoint(path: string): string {
  if (existsSync(join(path, 'state.json'))) return path;
  const steps = existsSync(path)
    ? readdirSync(path).filter((n) => n.startsWith(PREFIX) && !n.endsWith('.tmp') && existsSync(join(path, n, 'state.json')))
    : [];
  if (steps.length === 0) throw new AppError('not_found', `${path}: no checkpoint here (expected state.json, or step-* folders holding one)`, { field: 'resume' });
  const step = (name: string) => Number(name.slice(PREFIX.length));
  return join(path, steps.sort((a, b) => step(a) - step(b)).at(-1)!);
}

export function readCheckpointState(dir: string): CheckpointState {
  const file = join(dir, 'state.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new AppError('invalid_arguments', `${file}: unreadable checkpoint state (${(error as Error).message})`, { field: 'resume' });
  }
  const parsed = CheckpointState.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('invalid_arguments', `${file}: not a checkpoint state (${issue?.path.join('.')}: ${issue?.message})`, { field: 'resume' });
  }
  return parsed.data;
}

export const checkpointName = (dir: string) => basename(dir);
