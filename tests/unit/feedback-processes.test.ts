import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/connection';
import { createStore } from '../../db/store';
import { LearningLoop } from '../../electron/core/learning';
import { buildScript } from '../helpers/buildScript';
import { makeTempDir } from '../helpers/tempDir';

let recorder: string;
const dir = makeTempDir();
beforeAll(async () => {
  recorder = await buildScript('tests/helpers/recorder.ts');
});
afterAll(() => dir.remove());

interface Run {
  /** Event ids whose record call had returned, with the batches each created. */
  events: { id: number; batches: number }[];
  done: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the recorder; `killAfter` kills it with SIGKILL once that many events were reported. */
function runRecorder(file: string, args: string[], killAfter?: number): Promise<Run> {
  const child = spawn(process.execPath, [recorder, file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = { events: [], done: false, code: null, signal: null, stderr: '' };
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      const match = /^event (\d+) (\d+)$/.exec(line);
      if (match) run.events.push({ id: Number(match[1]), batches: Number(match[2]) });
      if (line === 'done') run.done = true;
      if (killAfter !== undefined && run.events.length === killAfter) child.kill('SIGKILL');
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (run.stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ ...run, code, signal })));
}

function prepare(file: string, batchSize: number): void {
  const store = createStore(openDatabase(file));
  new LearningLoop(store, () => new Date()).updateSettings({ batchSize });
  store.db.close();
}

describe('feedback across processes', () => {
  it('survives SIGKILL mid-loop: the database checks out and every returned event is there', async () => {
    const file = join(dir.path, 'killed.db');
    prepare(file, 7);
    const run = await runRecorder(file, ['new', '100000'], 300);
    expect(run.signal).toBe('SIGKILL');
    expect(run.done).toBe(false);
    expect(run.events.length).toBeGreaterThanOrEqual(300);

    const db = new Database(file);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const present = new Set(db.prepare<[], { id: number }>('SELECT id FROM feedback_events').all().map((r) => r.id));
    expect(run.events.filter((e) => !present.has(e.id))).toEqual([]);
    // Each stored event left a consistent trail: its example, and batches of exactly 7 with one job each.
    const counts = db
      .prepare<[], { events: number; examples: number; batched: number; batches: number; jobs: number; odd: number }>(
        `SELECT (SELECT COUNT(*) FROM feedback_events) AS events, (SELECT COUNT(*) FROM training_examples) AS examples,
                (SELECT COUNT(*) FROM batch_examples) AS batched, (SELECT COUNT(*) FROM training_batches) AS batches,
                (SELECT COUNT(*) FROM training_jobs WHERE status = 'queued') AS jobs,
                (SELECT COUNT(*) FROM training_batches WHERE size != 7) AS odd`,
      )
      .get()!;
    expect(counts.examples).toBe(counts.events);
    expect(counts.batches).toBe(Math.floor(counts.events / 7));
    expect(counts).toMatchObject({ batched: counts.batches * 7, jobs: counts.batches, odd: 0 });
    db.close();
  });

  it('creates each batch exactly once while several processes record at the same time', async () => {
    const file = join(dir.path, 'concurrent.db');
    const batchSize = 10;
    prepare(file, batchSize);
    // Shared artifacts every process rates, in a different order, plus artifacts of their own.
    const store = createStore(openDatabase(file));
    const shared = Array.from({ length: 40 }, (_, i) =>
      store.artifacts.insert({ kind: 'erd', prompt: `shared ${i}`, output: 'erDiagram', language: null, model: '', modelVersion: '', createdAt: new Date().toISOString() }),
    );
    store.db.close();
    const orders = [shared, [...shared].reverse(), shared.filter((_, i) => i % 2).concat(shared.filter((_, i) => !(i % 2)))];
    const runs = await Promise.all([
      ...orders.map((ids) => runRecorder(file, ['shared', '2', JSON.stringify(ids)])),
      runRecorder(file, ['new', '60']),
      runRecorder(file, ['new', '60']),
    ]);
    for (const run of runs) expect({ code: run.code, stderr: run.stderr, done: run.done }).toEqual({ code: 0, stderr: '', done: true });

    const eligible = shared.length + 2 * 60;
    const reported = runs.flatMap((r) => r.events).reduce((n, e) => n + e.batches, 0);
    const db = new Database(file);
    const row = db
      .prepare<[], { batches: number; members: number; distinct: number; jobs: number; pending: number; sizes: number }>(
        `SELECT (SELECT COUNT(*) FROM training_batches) AS batches, (SELECT COUNT(*) FROM batch_examples) AS members,
                (SELECT COUNT(DISTINCT artifact_id) FROM batch_examples) AS "distinct",
                (SELECT COUNT(*) FROM training_jobs WHERE status = 'queued' AND type = 'adaptive') AS jobs,
                (SELECT COUNT(*) FROM training_examples WHERE pending = 1) AS pending,
                (SELECT COUNT(*) FROM training_batches WHERE size = ${batchSize}) AS sizes`,
      )
      .get()!;
    db.close();
    expect(row).toEqual({
      batches: eligible / batchSize,
      members: eligible,
      distinct: eligible,
      jobs: eligible / batchSize,
      pending: 0,
      sizes: eligible / batchSize,
    });
    // Every batch was reported by exactly one record call, in whichever process made it.
    expect(reported).toBe(eligible / batchSize);
  });
});
