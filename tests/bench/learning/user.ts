// The learning bench's simulated user: asks the active version for ERDs through the app's contract, reads the
// app's own validation of each stored answer, and gives the feedback a careful user would: 👍 for a diagram
// that is valid Mermaid, a correction (the reference ERD) for one that is not.
import type { BatchSummary } from '../../../shared/contract/feedback';
import type { Contract } from '../../../shared/contract';
import type { RpcClient } from '../../../shared/rpc/client';
import type { ValidationResult } from '../../../shared/contract/validation';
import { parsesAsMermaid } from '../../../electron/core/validation/mermaid';
import type { ErdTask, TaskStream } from './task';
import { shuffled, uniform } from './task';

export type Api = RpcClient<Contract>['api'];

/** What one round of asking and judging did. */
export interface RoundReport {
  readonly asked: number;
  /** Answers the app's validator found valid Mermaid (👍). */
  readonly valid: number;
  /** Answers corrected with a reference ERD. */
  readonly corrected: number;
  /** Replies that were empty: nothing was stored, so there was nothing to judge. */
  readonly empty: number;
  /** The batch the round's feedback completed. */
  readonly batch: BatchSummary;
}

export interface UserOptions {
  /** Token limit of each generation. */
  readonly maxTokens: number;
  /** Questions at most before a round gives up waiting for a batch (a batch needs `batchSize` eligible examples). */
  readonly maxAsked: number;
}

/** Valid the way the evaluation gate counts it: Mermaid's own parser accepts the diagram. */
export function isValid(result: ValidationResult | null): boolean {
  return result !== null && parsesAsMermaid(result);
}

let generations = 0;

export class SimulatedUser {
  constructor(
    private readonly api: Api,
    private readonly tasks: TaskStream,
    private readonly options: UserOptions,
  ) {}

  /** Asks for ERDs and judges them until the feedback completes a batch (the loop then queues its job). */
  async round(): Promise<RoundReport> {
    let valid = 0;
    let corrected = 0;
    let empty = 0;
    for (let asked = 1; asked <= this.options.maxAsked; asked++) {
      const task = this.tasks.next();
      const answer = await this.ask(task);
      if (!answer) {
        empty++;
        continue;
      }
      const ok = isValid(answer.validation);
      if (ok) valid++;
      else corrected++;
      const recorded = ok
        ? await this.api.feedback.record({ artifactId: answer.artifactId, type: 'explicit_positive' })
        : await this.api.feedback.record({ artifactId: answer.artifactId, type: 'correction', text: task.erd });
      // The batch may have been completed by this feedback or by the answer's own validation (a valid answer is
      // eligible at once); either way this answer's example is in it, the newest of the batch.
      const batchId = recorded.example?.batchId ?? null;
      if (batchId !== null) {
        const batch = recorded.batches.find((b) => b.id === batchId) ?? (await this.api.learning.status({})).recentBatches.find((b) => b.id === batchId);
        if (!batch) throw new Error(`batch ${batchId} is not among the recent batches`);
        return { asked, valid, corrected, empty, batch };
      }
    }
    throw new Error(`${this.options.maxAsked} questions made no batch: is minRewardThreshold above the reward of a correction?`);
  }

  /**
   * The deliberately bad batch: `size` answers, each "corrected" with the reference ERD of another prompt of the
   * batch (a seeded derangement), so every example is eligible and every completion belongs to another prompt.
   * Made with automatic batching off, then as one batch through `learning.createBatch`.
   */
  async badBatch(size: number, seed: number): Promise<{ batch: BatchSummary; asked: number }> {
    await this.api.learning.updateSettings({ autoTrigger: false });
    try {
      const answered: { artifactId: number; output: string }[] = [];
      const tasks: ErdTask[] = [];
      let asked = 0;
      while (answered.length < size && asked < this.options.maxAsked) {
        asked++;
        const task = this.tasks.next();
        const answer = await this.ask(task);
        if (!answer) continue;
        answered.push({ artifactId: answer.artifactId, output: answer.output });
        tasks.push(task);
      }
      if (answered.length < size) throw new Error(`only ${answered.length} of ${size} answers came back non-empty`);
      // Rotating a shuffled order by one: nobody gets their own prompt's reference.
      const order = shuffled(uniform(seed), answered.map((_, i) => i));
      for (const [k, i] of order.entries()) {
        let other = order[(k + 1) % order.length]!;
        // A correction must differ from the answer; if the model wrote exactly that ERD, take the next one.
        if (tasks[other]!.erd === answered[i]!.output) other = order[(k + 2) % order.length]!;
        await this.api.feedback.record({ artifactId: answered[i]!.artifactId, type: 'correction', text: tasks[other]!.erd });
      }
      return { batch: await this.api.learning.createBatch({}), asked };
    } finally {
      await this.api.learning.updateSettings({ autoTrigger: true });
    }
  }

  /** One generation with the active version, stored and validated by the app; null when the reply was empty. */
  private async ask(task: ErdTask): Promise<{ artifactId: number; output: string; validation: ValidationResult | null } | null> {
    try {
      const result = await this.api.generation.generate({
        generationId: `learning-bench-${++generations}`,
        kind: 'erd',
        requirements: task.requirements,
        model: { provider: 'active' },
        sampling: { temperature: 0, seed: 1, maxTokens: this.options.maxTokens },
      });
      // The app validated the stored answer on arrival: its latest validation event is the verdict.
      const event = result.artifact.events.filter((e) => e.type === 'validation').at(-1);
      const validation = event && event.type === 'validation' ? { kind: 'erd' as const, score: event.score, reasons: event.reasons, validator: event.validator } : null;
      return { artifactId: result.artifact.id, output: result.artifact.output, validation };
    } catch (error) {
      // An empty reply (the model ended its turn at once) stores nothing: there is no answer to judge.
      if ((error as { code?: string }).code === 'unavailable' && /nothing was stored/.test((error as Error).message)) return null;
      throw error;
    }
  }
}
