import { availableParallelism } from 'node:os';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { Trainer } from '../../native/index';
import { makeTempDir } from '../helpers/tempDir';
import type { BenchSuite } from './figures';
import { measureHeldOut } from './learning/heldOut';
import type { HeldOutReport } from './learning/heldOut';
import { BATCH_SIZE, cpuSeconds, finishedJob, MAX_TOKENS, servingErd, startLoop } from './learning/loop';
import type { LoopCore } from './learning/loop';
import { makeTaskSplit } from './learning/task';
import { SimulatedUser } from './learning/user';

const CYCLES = 6;
const HELD_OUT_PROMPTS = 16;
const TARGET_SHARE = 0.8;
const SEED = 7;

interface CycleRow {
  readonly cycle: number;
  readonly asked: number;
  readonly thumbsUp: number;
  readonly heldOut: HeldOutReport;
  /** The gate's held-out loss of the new version, and of the one it was compared with. */
  readonly loss: { candidate: number | null; against: number | null };
  readonly promoted: boolean;
  readonly seconds: number;
  /** Where the time went: the questions, the job's training steps, the rest of the job (trainer start, the gate), the held-out drafts. */
  readonly split: readonly [ask: number, train: number, jobRest: number, heldOut: number];
}

/**
 * The adaptive loop closing, end to end on the CPU: a simulated user asks what serves ERDs (the active version)
 * for diagrams of seeded synthetic requirements, 👍s the valid ones and corrects the others with the reference
 * ERD; every batch of feedback becomes an adaptive job (a trainer child process) whose version the evaluation
 * gate judges and activates when better. Per cycle: the held-out valid-Mermaid share and mean score of what
 * serves afterwards (16 prompts never trained on), the gate's held-out loss, whether it promoted, the time.
 * Then one deliberately bad batch (completions shuffled across prompts), which the gate must reject.
 */
export const learningSuite: BenchSuite = {
  name: 'learning',
  async run(record) {
    const started = performance.now();
    const cpuStarted = cpuSeconds();
    // Generation on one thread: on this tiny model two are no faster, and far slower on a busy machine.
    const threads = { generation: 1, train: Math.min(2, availableParallelism()) };
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
    const dir = makeTempDir('architect-bench-learning-');
    let loop: LoopCore | undefined;
    try {
      loop = await startLoop(dir.path, Trainer.forLlama(llama), threads);
      const { core, api, gated } = loop;
      const { heldOut, train } = makeTaskSplit(SEED, HELD_OUT_PROMPTS);
      const user = new SimulatedUser(api, train, { maxTokens: MAX_TOKENS, maxAsked: 4 * BATCH_SIZE });

      const base = await measureHeldOut(core, api, heldOut, MAX_TOKENS);
      console.log(`  base: held-out valid ${base.validShare.toFixed(2)}, mean score ${base.meanScore.toFixed(1)} on ${HELD_OUT_PROMPTS} prompts (${seconds(started)} s to here)`);
      console.log(`  ${'cycle'.padEnd(6)}${'asked'.padStart(6)}${'👍'.padStart(5)}${'valid'.padStart(8)}${'score'.padStart(7)}${'loss (parent)'.padStart(17)}${'promoted'.padStart(10)}${'serves'.padStart(8)}${'s'.padStart(6)}  ask/train/job rest/held-out s`);
      const rows: CycleRow[] = [];
      for (let cycle = 1; cycle <= CYCLES; cycle++) {
        const cycleStarted = performance.now();
        const round = await user.round();
        const asked = performance.now();
        const { job, version } = await finishedJob(api, round.batch.jobId);
        const trained = performance.now();
        const held = await measureHeldOut(core, api, heldOut, MAX_TOKENS);
        const train = (job.progress?.elapsedMs ?? 0) / 1000;
        const row: CycleRow = {
          cycle,
          asked: round.asked,
          thumbsUp: round.valid,
          heldOut: held,
          loss: { candidate: version.gate?.candidate.validationLoss ?? null, against: version.gate?.against.metrics.validationLoss ?? null },
          promoted: gated.get(version.id) ?? false,
          seconds: (performance.now() - cycleStarted) / 1000,
          split: [(asked - cycleStarted) / 1000, train, (trained - asked) / 1000 - train, (performance.now() - trained) / 1000],
        };
        rows.push(row);
        console.log(`  ${formatRow(row)}`);
      }

      // The bad batch: every completion belongs to another prompt. The gate must keep what serves.
      const badStarted = performance.now();
      const before = await servingErd(api);
      const bad = await user.badBatch(BATCH_SIZE, SEED + 1);
      const { version: badVersion } = await finishedJob(api, bad.batch.jobId);
      const after = await servingErd(api);
      const rejected = gated.get(badVersion.id) === false && badVersion.status === 'rejected' && after === before;
      const serving = (id: number | null) => (id === null ? 'the plain base' : `version id ${id}`);
      console.log(`  bad batch (${BATCH_SIZE} shuffled corrections): v${badVersion.number} ${badVersion.status}, ${seconds(badStarted)} s. ${badVersion.gate?.summary ?? 'No verdict.'}`);
      console.log(`  ERDs served by ${serving(after)} after it, ${serving(before)} before`);

      const final = rows.at(-1)!.heldOut;
      const reached = rows.find((r) => r.heldOut.validShare >= TARGET_SHARE);
      const cpu = cpuStarted === null ? null : cpuSeconds()! - cpuStarted;
      record({ name: 'learning.base_valid_share', value: base.validShare, unit: 'share', note: `${HELD_OUT_PROMPTS} held-out prompts, greedy` });
      record({ name: 'learning.final_valid_share', value: final.validShare, unit: 'share', note: `after ${CYCLES} cycles; target ≥ ${TARGET_SHARE}` });
      record({ name: 'learning.final_mean_score', value: final.meanScore, unit: 'points', note: `base ${base.meanScore.toFixed(1)}` });
      record({ name: 'learning.cycles_to_target', value: reached?.cycle ?? Number.NaN, unit: 'cycles', note: reached ? `first cycle with held-out valid ≥ ${TARGET_SHARE}` : `not reached in ${CYCLES}` });
      record({ name: 'learning.promotions', value: rows.filter((r) => r.promoted).length, unit: 'versions', note: `of ${CYCLES} adaptive jobs` });
      record({ name: 'learning.cycle_seconds_mean', value: mean(rows.map((r) => r.seconds)), unit: 's', note: `${BATCH_SIZE} questions, a job and its gate, ${HELD_OUT_PROMPTS} held-out drafts` });
      record({ name: 'learning.bad_batch_rejected', value: rejected ? 1 : 0, unit: 'bool', note: `gate ${badVersion.gate?.passed === false ? 'failed it' : 'passed it'}; what serves ERDs ${after === before ? 'stayed' : 'changed'}` });
      record({ name: 'learning.total_seconds', value: (performance.now() - started) / 1000, unit: 's', note: 'target < 900 on the 2-core CI machine' });
      if (cpu !== null) record({ name: 'learning.cpu_seconds', value: cpu, unit: 's', note: `this process and its trainers; ${threads.train} training threads` });
    } finally {
      await loop?.core.dispose();
      dir.remove();
      await llama.dispose();
    }
  },
};

const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(0);
const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;

function formatRow(row: CycleRow): string {
  const loss = `${row.loss.candidate?.toFixed(3) ?? '—'} (${row.loss.against?.toFixed(3) ?? '—'})`;
  return [
    String(row.cycle).padEnd(6),
    String(row.asked).padStart(6),
    String(row.thumbsUp).padStart(5),
    row.heldOut.validShare.toFixed(2).padStart(8),
    row.heldOut.meanScore.toFixed(1).padStart(7),
    loss.padStart(17),
    (row.promoted ? 'yes' : 'no').padStart(10),
    (row.heldOut.version ? `v${row.heldOut.version}` : 'base').padStart(8),
    row.seconds.toFixed(0).padStart(6),
    `  ${row.split.map((s) => s.toFixed(0)).join('/')}`,
  ].join('');
}
