import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportExamples, exportFeedbackEvents, writeFileAtomically } from '../../electron/core/feedbackExport';
import { readStats } from '../../electron/core/stats';
import { feedbackCore } from '../helpers/feedbackCore';

let core: ReturnType<typeof feedbackCore>;
const ids = { erd: 0, flow: 0, seq: 0, code: 0 };

// Four artifacts: an ERD with 👍, a flowchart with a correction, a sequence diagram with 👎, code validated.
beforeAll(async () => {
  core = feedbackCore();
  ids.erd = await core.add('erd', 'erDiagram\n  A ||--o{ B : has', 'shop ERD');
  ids.flow = await core.add('flowchart', 'flowchart TD\n  A --> B', 'login flow');
  ids.seq = await core.add('sequence', 'sequenceDiagram\n  A->>B: hi', 'handshake');
  ids.code = await core.add('code', 'export const x = 1;', 'a constant');
  core.feedback.record({ artifactId: ids.erd, type: 'explicit_positive' });
  core.feedback.record({ artifactId: ids.flow, type: 'correction', text: 'flowchart TD\n  A --> C' });
  core.feedback.record({ artifactId: ids.seq, type: 'explicit_negative' });
  core.feedback.record({ artifactId: ids.code, type: 'validation', score: 90, reasons: [{ ok: true, text: 'parses', points: 90, of: 100 }] });
});
afterAll(async () => core?.close());

describe('stats', () => {
  it('counts feedback by type and kind, averages rewards and fills the histogram', () => {
    const stats = readStats(core.store, core.learning);
    const correction = core.artifacts.get(ids.flow).events[0]!.reward;
    expect(stats.totalFeedback).toBe(4);
    expect(stats.averageReward).toBeCloseTo((1 + correction - 1 + 0.9) / 4, 4);
    expect(stats.byType).toEqual({ explicit_positive: 1, explicit_negative: 1, correction: 1, validation: 1 });
    expect(stats.byKind).toMatchObject({ erd: { artifacts: 1, feedback: 1 }, code: { artifacts: 1, feedback: 1 }, other: { artifacts: 0, feedback: 0 } });
    expect(stats.artifacts).toBe(4);
    expect(stats.histogram).toHaveLength(10);
    expect(stats.histogram[0]).toEqual({ from: -1, to: -0.8, count: 1 }); // 👎 at −1
    expect(stats.histogram[9]).toEqual({ from: 0.8, to: 1, count: 2 }); // 👍 at +1 and the validation at +0.9
    expect(stats.histogram.reduce((n, b) => n + b.count, 0)).toBe(4);
    expect(stats).toMatchObject({ eligiblePending: 3, untilNextBatch: 47, trainingBatches: 0, lastBatchAt: null });
  });
});

describe('history list', () => {
  it('filters by kind and sorts by date or reward, unrewarded last', async () => {
    const extra = await core.add('erd', 'erDiagram\n  X ||--|| Y : is', 'no feedback yet');
    const byDate = core.artifacts.list({});
    expect(byDate.total).toBe(5);
    expect(byDate.items.map((i) => i.id)).toEqual([extra, ids.code, ids.seq, ids.flow, ids.erd]);
    expect(core.artifacts.list({ order: 'asc' }).items[0]!.id).toBe(ids.erd);
    const byReward = core.artifacts.list({ sort: 'reward' });
    expect(byReward.items.map((i) => i.id)).toEqual([ids.erd, ids.code, ids.flow, ids.seq, extra]);
    expect(byReward.items.map((i) => i.eligible)).toEqual([true, true, true, false, false]);
    expect(core.artifacts.list({ sort: 'reward', order: 'asc' }).items.map((i) => i.id)).toEqual([ids.seq, ids.flow, ids.code, ids.erd, extra]);
    const erds = core.artifacts.list({ kind: 'erd' });
    expect(erds.total).toBe(2);
    expect(erds.items.map((i) => i.id)).toEqual([extra, ids.erd]);
    expect(erds.items[1]!.events).toMatchObject([{ type: 'explicit_positive', reward: 1 }]);
  });
});

describe('export', () => {
  it("writes feedback_events.jsonl in the guide's shape, one object per event", () => {
    let text = '';
    expect(exportFeedbackEvents(core.store, (chunk) => void (text += chunk))).toBe(4);
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(4);
    expect(lines[0]).toEqual({ id: 1, type: 'explicit_positive', reward: 1, artifact_id: ids.erd, artifact_kind: 'erd', timestamp: expect.stringMatching(/^2026-/) });
    expect(lines[1]).toMatchObject({ type: 'correction', artifact_kind: 'flowchart', similarity: expect.any(Number) });
    expect(lines[3]).toMatchObject({ type: 'validation', reward: 0.9, score: 90, reasons: [{ ok: true, text: 'parses', points: 90, of: 100 }] });
    // Page by page, the same lines.
    let paged = '';
    expect(exportFeedbackEvents(core.store, (chunk) => void (paged += chunk), 3)).toBe(4);
    expect(paged).toBe(text);
  });

  it('writes eligible examples as prompt/completion JSONL, corrections as their completion', () => {
    let text = '';
    expect(exportExamples(core.store, 0.3, (chunk) => void (text += chunk))).toBe(3);
    expect(text.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual([
      { prompt: 'shop ERD', completion: 'erDiagram\n  A ||--o{ B : has' },
      { prompt: 'login flow', completion: 'flowchart TD\n  A --> C' },
      { prompt: 'a constant', completion: 'export const x = 1;' },
    ]);
  });

  it('writes a file whole or not at all', () => {
    const file = join(core.dir.path, 'feedback_events.jsonl');
    expect(writeFileAtomically(file, (sink) => exportFeedbackEvents(core.store, sink))).toBe(4);
    expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(5);
    expect(() =>
      writeFileAtomically(file, (sink) => {
        sink('partial\n');
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(5); // the old file stands
    expect(readdirSync(core.dir.path).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
