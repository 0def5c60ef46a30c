import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors';
import { MAX_TEXT_BYTES } from '../../shared/contract/validation';
import { feedbackCore } from '../helpers/feedbackCore';

let core: ReturnType<typeof feedbackCore>;
afterEach(async () => core?.close());

/** The AppError a call throws, or undefined. */
async function failure(call: () => unknown): Promise<AppError | undefined> {
  try {
    await call();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  return undefined;
}

describe('feedback store', () => {
  it('records 👍, 👎, corrections and validations, each with its reward, and keeps the best target per artifact', async () => {
    core = feedbackCore();
    const id = await core.add();
    const validation = core.feedback.record({ artifactId: id, type: 'validation', score: 30, reasons: [{ ok: false, text: 'bad', points: 0, of: 100 }] });
    expect(validation.event).toMatchObject({ type: 'validation', score: 30, reward: -0.65 });
    expect(validation.example).toMatchObject({ target: 'generated', reward: -0.65, eligible: false });
    // 👍 on a text that validated at 30: +0.7 … +1.0 scaled by the score.
    const up = core.feedback.record({ artifactId: id, type: 'explicit_positive' });
    expect(up.event).toMatchObject({ type: 'explicit_positive', reward: 0.79 });
    expect(up.example).toMatchObject({ target: 'generated', reward: 0.79, eligible: true });
    const correction = core.feedback.record({ artifactId: id, type: 'correction', text: 'flowchart TD\n  A --> C' });
    expect(correction.event.type).toBe('correction');
    expect(correction.event.reward).toBeGreaterThan(0.2);
    expect(correction.event.reward).toBeLessThan(0.6);
    expect(correction.example).toMatchObject({ target: 'correction', reward: correction.event.reward });
    const down = core.feedback.record({ artifactId: id, type: 'explicit_negative' });
    expect(down.event.reward).toBe(-1); // the user replaced the text: validation no longer speaks for it
    expect(down.example).toMatchObject({ target: 'correction', eligible: false });

    const detail = core.artifacts.get(id);
    expect(detail.events.map((e) => e.type)).toEqual(['validation', 'explicit_positive', 'correction', 'explicit_negative']);
    expect(detail.correction).toMatchObject({ eventId: correction.event.id, text: 'flowchart TD\n  A --> C' });
    expect(detail.events[0]).toMatchObject({ reasons: [{ ok: false, text: 'bad', points: 0, of: 100 }] });
  });

  it('refuses a correction that changes nothing', async () => {
    core = feedbackCore();
    const id = await core.add('flowchart', 'flowchart TD\n  A --> B');
    const error = await failure(() => core.feedback.record({ artifactId: id, type: 'correction', text: 'flowchart TD\n  A --> B' }));
    expect(error).toMatchObject({ code: 'invalid_arguments', field: 'args.text' });
    expect(core.count('feedback_events')).toBe(0);
  });

  describe('bad input: a typed error naming the field, and nothing stored', () => {
    const cases: [string, (c: ReturnType<typeof feedbackCore>, id: number) => unknown, object][] = [
      ['an unknown artifact id', (c) => c.feedback.record({ artifactId: 4242, type: 'explicit_positive' }), { code: 'not_found', field: 'args.artifactId' }],
      ['a NaN score', (c, id) => c.feedback.record({ artifactId: id, type: 'validation', score: Number.NaN }), { code: 'invalid_arguments', field: 'args.score' }],
      ['a score above 100', (c, id) => c.feedback.record({ artifactId: id, type: 'validation', score: 100.5 }), { code: 'invalid_arguments', field: 'args.score' }],
      ['a negative score', (c, id) => c.feedback.record({ artifactId: id, type: 'validation', score: -1 }), { code: 'invalid_arguments', field: 'args.score' }],
      ['a correction over 1 MiB', (c, id) => c.feedback.record({ artifactId: id, type: 'correction', text: 'x'.repeat(MAX_TEXT_BYTES + 1) }), { code: 'invalid_arguments', field: 'args.text' }],
      ['a correction over 1 MiB of UTF-8 (fewer characters)', (c, id) => c.feedback.record({ artifactId: id, type: 'correction', text: 'é'.repeat(MAX_TEXT_BYTES / 2 + 1) }), { code: 'invalid_arguments', field: 'args.text' }],
      ['an output over 1 MiB', (c) => c.artifacts.add({ kind: 'erd', prompt: 'p', output: 'x'.repeat(MAX_TEXT_BYTES + 1) }), { code: 'invalid_arguments', field: 'args.output' }],
      ['an unknown kind', (c) => c.artifacts.add({ kind: 'poem' as never, prompt: 'p', output: 'o' }), { code: 'invalid_arguments', field: 'args.kind' }],
      ['an unknown feedback type', (c, id) => c.feedback.record({ artifactId: id, type: 'meh' } as never), { code: 'invalid_arguments', field: 'args.type' }],
    ];
    for (const [name, call, expected] of cases) {
      it(name, async () => {
        core = feedbackCore();
        const id = await core.add();
        const before = [core.count('artifacts'), core.count('feedback_events'), core.count('training_examples')];
        const error = await failure(() => call(core, id));
        expect(error).toMatchObject(expected);
        expect([core.count('artifacts'), core.count('feedback_events'), core.count('training_examples')]).toEqual(before);
      });
    }

    it('a custom policy returning a reward outside [−1, 1] (or NaN)', async () => {
      for (const bad of [1.5, -1.01, Number.NaN]) {
        core = feedbackCore({ policy: () => bad });
        const id = await core.add();
        const error = await failure(() => core.feedback.record({ artifactId: id, type: 'explicit_positive' }));
        expect(error).toMatchObject({ code: 'internal', field: 'reward', message: expect.stringContaining('[−1, 1]') });
        expect(core.count('feedback_events')).toBe(0);
        await core.close();
      }
      core = feedbackCore({ policy: () => 0.42 }); // a valid custom policy is used as is
      const id = await core.add();
      expect(core.feedback.record({ artifactId: id, type: 'explicit_negative' }).event.reward).toBe(0.42);
    });
  });

  it('takes the reward table from the settings', async () => {
    core = feedbackCore();
    const settings = core.feedback.rewardSettings();
    core.feedback.setRewardSettings({ ...settings, positive: { weak: 0.75, strong: 0.75 } });
    const id = await core.add();
    expect(core.feedback.record({ artifactId: id, type: 'explicit_positive' }).event.reward).toBe(0.75);
    const error = await failure(() => core.feedback.setRewardSettings({ ...settings, negative: { weak: -2, strong: -1 } }));
    expect(error).toMatchObject({ code: 'invalid_arguments', field: 'args.negative.weak' });
  });
});

describe('adaptive-learning loop', () => {
  async function eligible(c: ReturnType<typeof feedbackCore>, n: number) {
    const results = [];
    for (let i = 0; i < n; i++) results.push(c.feedback.record({ artifactId: await c.add(), type: 'explicit_positive' }));
    return results;
  }

  it('creates one batch with a queued adaptive job when batchSize eligible examples wait', async () => {
    core = feedbackCore();
    expect(core.learning.status().settings).toEqual({ batchSize: 50, minRewardThreshold: 0.3, autoTrigger: true });
    core.learning.updateSettings({ batchSize: 3 });
    // A 👎 is not eligible and does not count.
    core.feedback.record({ artifactId: await core.add(), type: 'explicit_negative' });
    const results = await eligible(core, 4);
    expect(results.map((r) => r.batches.length)).toEqual([0, 0, 1, 0]);
    const [batch] = results[2]!.batches;
    expect(batch).toMatchObject({ size: 3, averageReward: 1, jobStatus: 'queued' });
    expect(results.slice(0, 3).map((r) => core.artifacts.get(r.event.artifactId).example?.batchId)).toEqual([batch!.id, batch!.id, batch!.id]);
    const status = core.learning.status();
    expect(status).toMatchObject({ pending: 1, untilNextBatch: 2, batches: 1, jobs: { queued: 1 }, lastBatchAt: batch!.createdAt });
    const snapshot = core.store.db.prepare('SELECT prompt, completion, reward FROM batch_examples WHERE batch_id = ?').all(batch!.id);
    expect(snapshot).toHaveLength(3);
    expect(snapshot[0]).toEqual({ prompt: 'a prompt', completion: 'flowchart TD\n  A --> B', reward: 1 });
  });

  it('stops creating batches while paused and catches up on resume', async () => {
    core = feedbackCore();
    core.learning.updateSettings({ batchSize: 3 });
    core.learning.pause();
    const results = await eligible(core, 7);
    expect(results.every((r) => r.batches.length === 0)).toBe(true);
    expect(core.learning.status()).toMatchObject({ paused: true, pending: 7, untilNextBatch: 0, batches: 0 });
    const resumed = core.learning.resume();
    expect(resumed).toMatchObject({ paused: false, pending: 1, batches: 2, jobs: { queued: 2 } });
  });

  it('with autoTrigger off, batches are made only on request', async () => {
    core = feedbackCore();
    core.learning.updateSettings({ batchSize: 3, autoTrigger: false });
    await eligible(core, 4);
    expect(core.learning.status()).toMatchObject({ pending: 4, batches: 0 });
    expect(core.learning.createBatch()).toMatchObject({ size: 3 });
    expect(core.learning.createBatch()).toMatchObject({ size: 1 });
    expect(await failure(() => core.learning.createBatch())).toMatchObject({ code: 'conflict' });
  });

  it('creates the batches that become due when batchSize is lowered', async () => {
    core = feedbackCore();
    await eligible(core, 5);
    expect(core.learning.status().batches).toBe(0);
    expect(core.learning.updateSettings({ batchSize: 2 })).toMatchObject({ batches: 2, pending: 1 });
  });

  it('re-decides eligibility when the threshold changes', async () => {
    core = feedbackCore();
    const id = await core.add();
    core.feedback.record({ artifactId: id, type: 'correction', text: 'sequenceDiagram\n  Q->>W: ping' }); // a total rewrite: low reward
    const reward = core.artifacts.get(id).example!.reward;
    expect(reward).toBeLessThan(0.3);
    expect(core.learning.status().pending).toBe(0);
    core.learning.updateSettings({ minRewardThreshold: 0.2 });
    expect(core.learning.status().pending).toBe(1);
    expect(core.artifacts.get(id).example).toMatchObject({ eligible: true });
    const invalid = await failure(() => core.learning.updateSettings({ minRewardThreshold: 2 }));
    expect(invalid).toMatchObject({ code: 'invalid_arguments', field: 'args.minRewardThreshold' });
    expect(await failure(() => core.learning.updateSettings({ batchSize: 0 }))).toMatchObject({ field: 'args.batchSize' });
  });

  it('a batched target never joins another batch; a new correction is a new target', async () => {
    core = feedbackCore();
    core.learning.updateSettings({ batchSize: 1 });
    const id = await core.add();
    expect(core.feedback.record({ artifactId: id, type: 'explicit_positive' }).batches).toHaveLength(1);
    expect(core.feedback.record({ artifactId: id, type: 'explicit_positive' }).batches).toHaveLength(0);
    const corrected = core.feedback.record({ artifactId: id, type: 'correction', text: 'flowchart TD\n  A --> B --> C' });
    expect(corrected.batches).toHaveLength(1);
    const completions = core.store.db.prepare('SELECT completion FROM batch_examples ORDER BY batch_id').all();
    expect(completions).toEqual([{ completion: 'flowchart TD\n  A --> B' }, { completion: 'flowchart TD\n  A --> B --> C' }]);
  });
});
