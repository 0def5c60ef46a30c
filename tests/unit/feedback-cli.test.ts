import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { makeTempDir } from '../helpers/tempDir';

const dir = makeTempDir();
afterAll(() => dir.remove());
const cli = (...args: string[]) => runCli([...args, '--data-dir', dir.path]);
const json = (...args: string[]) => {
  const result = cli(...args, '--json');
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout);
};

const ERD = 'erDiagram\n  USER ||--o{ ORDER : places\n  USER { string id }\n  ORDER { string id }\n';

describe('architect CLI over the feedback store', () => {
  it('adds an artifact (validated at once), records 👍, 👎 and a correction, and shows them', () => {
    const added = cli('artifact', 'add', '--kind', 'erd', '--prompt', 'users and orders', '--output', ERD);
    expect(added.status).toBe(0);
    expect(added.stdout).toBe('1\n'); // the id alone, for scripts
    expect(added.stderr).toMatch(/validation 100\/100, reward \+1\.00/);

    const up = json('feedback', '1', 'up');
    expect(up.event).toMatchObject({ id: 2, type: 'explicit_positive', reward: 1 });
    const file = join(dir.path, 'fixed.mmd');
    writeFileSync(file, ERD.replace('places', 'submits'));
    const fixed = cli('feedback', '1', 'correct', '--file', file);
    expect(fixed.status).toBe(0);
    expect(fixed.stdout).toMatch(/^Recorded correction \(similarity 0\.\d+\) on artifact 1: reward \+0\.[2-6]\d \(event 3\)$/m);
    const down = cli('feedback', '1', 'down');
    expect(down.stdout).toMatch(/^Recorded 👎 on artifact 1: reward −1\.00 \(event 4\)$/m);

    const shown = json('artifact', 'show', '1');
    expect(shown.events.map((e: { type: string }) => e.type)).toEqual(['validation', 'explicit_positive', 'correction', 'explicit_negative']);
    expect(shown.correction.text).toContain('submits');
  });

  it('fails with a non-zero exit and a message naming the problem', () => {
    expect(cli('feedback', '99', 'up')).toMatchObject({ status: 1, stderr: expect.stringContaining('There is no artifact 99') });
    const big = join(dir.path, 'big.txt');
    writeFileSync(big, 'x'.repeat(1024 * 1024 + 1)); // over 1 MiB (and over the OS limit for one argument)
    // Refused while reading, at byte 1 MiB + 1, naming the flag.
    expect(cli('feedback', '1', 'correct', '--file', big)).toMatchObject({ status: 2, stderr: expect.stringMatching(/--file \S+big\.txt is larger than 1\.0 MiB/) });
    expect(cli('artifact', 'add', '--kind', 'poem', '--prompt', 'p', '--output', 'o')).toMatchObject({ status: 1, stderr: expect.stringContaining('args.kind') });
    expect(cli('feedback', 'one', 'up')).toMatchObject({ status: 2, stderr: expect.stringContaining('ID must be a positive whole number') });
    expect(cli('feedback', '1', 'sideways')).toMatchObject({ status: 2 });
    expect(cli('feedback', '1', 'correct')).toMatchObject({ status: 2, stderr: expect.stringContaining('give --text TEXT or --file FILE') });
    expect(cli('learning', 'set', '--batch-size', '0')).toMatchObject({ status: 1, stderr: expect.stringContaining('args.batchSize') });
    expect(cli('export', 'everything')).toMatchObject({ status: 2 });
  });

  it('validates a text without storing it', () => {
    const result = json('validate', '--kind', 'erd', '--text', 'erDiagram\n  A ||--o{ B : has');
    expect(result.score).toBe(85);
    const plain = cli('validate', '--kind', 'code', '--language', 'python', '--text', 'def f(:\n  pass');
    expect(plain.status).toBe(0);
    expect(plain.stdout).toMatch(/^Score \d+(\.\d)?\/100 for code \(heuristic\)$/m);
    expect(plain.stdout).toMatch(/✗ Heuristic \(no python parser here\): "\(" opened on line 1 never closes/);
    expect(json('stats').artifacts).toBe(1);
  });

  it('pauses, resumes and configures learning; stats and exports reflect the store', () => {
    expect(json('learning', 'pause')).toMatchObject({ paused: true });
    expect(json('learning', 'set', '--batch-size', '1', '--min-reward', '0.5', '--auto-trigger', 'on')).toMatchObject({
      paused: true,
      settings: { batchSize: 1, minRewardThreshold: 0.5, autoTrigger: true },
      batches: 0,
    });
    cli('artifact', 'add', '--kind', 'flowchart', '--prompt', 'flow', '--output', 'flowchart TD\n  A --> B');
    expect(json('learning', 'status')).toMatchObject({ pending: 1, batches: 0 });
    expect(json('learning', 'resume')).toMatchObject({ paused: false, pending: 0, batches: 1, jobs: { queued: 1 } });
    expect(cli('learning', 'status').stdout).toMatch(/^Training batches: 1, last at /m);

    const stats = json('stats');
    expect(stats).toMatchObject({ totalFeedback: 5, artifacts: 2, trainingBatches: 1, byType: { explicit_positive: 1, explicit_negative: 1, correction: 1, validation: 2 } });
    expect(cli('stats').stdout).toMatch(/^Total feedback: 5; average reward [+−]\d\.\d\d$/m);

    const out = join(dir.path, 'feedback_events.jsonl');
    expect(cli('export', 'feedback', '--out', out)).toMatchObject({ status: 0, stderr: expect.stringContaining('Wrote 5 feedback events') });
    const events = readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(events.map((e) => [e.type, e.artifact_kind])).toEqual([
      ['validation', 'erd'],
      ['explicit_positive', 'erd'],
      ['correction', 'erd'],
      ['explicit_negative', 'erd'],
      ['validation', 'flowchart'],
    ]);
    for (const event of events) expect(Object.keys(event)).toEqual(expect.arrayContaining(['type', 'reward', 'artifact_kind', 'timestamp']));
    const examples = cli('export', 'examples');
    expect(examples.stdout.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual([{ prompt: 'flow', completion: 'flowchart TD\n  A --> B' }]);
  });

  it('documents the new commands', () => {
    expect(runCli(['--help']).stdout).toMatch(/feedback[\s\S]*validate[\s\S]*learning[\s\S]*export/);
    expect(runCli(['feedback', '--help']).stdout).toContain('Usage: architect feedback ID up|down|correct|validate [options]');
  });
});
