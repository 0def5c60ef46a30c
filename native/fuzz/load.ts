// Reads GGUF files through the trainer in a process of its own and prints one JSON object: each job's outcome,
// how long it took and the process's peak memory. For tests and fuzzing: a file that aborts or exhausts this
// process takes only it down, and the caller sees the exit status. Usage: node load.mjs '<JSON array of jobs>'
import { Trainer } from '../index';

export type LoadJob =
  | { op: 'model'; path: string; threads?: number }
  | { op: 'adapter'; model: string; path: string }
  | { op: 'merge'; model: string; adapter: string; out: string; threads?: number };

export type LoadOutcome = ({ ok: true } | { ok: false; name: string; message: string; field?: string }) & { ms: number };

export interface LoadReport {
  readonly outcomes: LoadOutcome[];
  /** Peak resident memory of this process, in bytes. */
  readonly maxRssBytes: number;
}

async function run(trainer: Trainer, job: LoadJob): Promise<void> {
  if (job.op === 'model') {
    const model = await trainer.loadModel(job.path, { device: 'cpu', threads: job.threads ?? 1 });
    model.dispose();
  } else if (job.op === 'adapter') {
    const model = await trainer.loadModel(job.model, { device: 'cpu', threads: 1 });
    try {
      (await model.loadAdapter(job.path)).dispose();
    } finally {
      model.dispose();
    }
  } else {
    await trainer.mergeAdapter(job.model, job.adapter, job.out, { threads: job.threads ?? 1 });
  }
}

const jobs = JSON.parse(process.argv[2] ?? '[]') as LoadJob[];
const trainer = Trainer.cpu();
const outcomes: LoadOutcome[] = [];
for (const job of jobs) {
  const started = performance.now();
  try {
    await run(trainer, job);
    outcomes.push({ ok: true, ms: performance.now() - started });
  } catch (error) {
    const e = error as Error & { field?: string };
    outcomes.push({ ok: false, name: e.name, message: e.message, ...(e.field ? { field: e.field } : {}), ms: performance.now() - started });
  }
}
const report: LoadReport = { outcomes, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
process.stdout.write(`${JSON.stringify(report)}\n`);
