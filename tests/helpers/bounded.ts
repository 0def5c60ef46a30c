import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { REPO } from './cli';

// Calls that must return at once, bounded: a regression that blocks (an open(2) waiting on a FIFO) fails the
// test with a message saying so, instead of hanging the run.

/** `promise`, or a rejection saying it did not settle within `ms` (what is tested is that it returns, not how fast). */
export function within<T>(ms: number, promise: Promise<T>, what = 'the call'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not return within ${ms / 1000} s (blocked?)`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** How a CLI run ended; `timedOut` when it was killed for running past its bound. */
export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/**
 * Runs the real `architect` command, killed (SIGKILL) after `timeoutMs`. `onSpawn` is called as soon as the
 * child has a pid, before it has done anything (to put something at a name derived from the pid).
 */
export function runCliBounded(args: string[], timeoutMs: number, onSpawn?: (child: ChildProcess) => void): Promise<CliRun> {
  const child = spawn(process.execPath, [`${REPO}bin/architect.js`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  onSpawn?.(child);
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  return new Promise((resolve) => {
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, timedOut });
    });
  });
}
