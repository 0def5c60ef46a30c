import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/connection';
import { createStore } from '../../db/store';
import { REPO, runCli } from '../helpers/cli';
import { makeTempDir } from '../helpers/tempDir';

// The real `architect` command handed hostile input: every case ends at once with an error naming the
// file, flag or field, and what is stored stays whole. A regression that hangs shows as a spawnSync
// timeout, not a stuck test run.

const dir = makeTempDir('architect-hostile-cli-');
const data = join(dir.path, 'data');
const fifo = join(dir.path, 'pipe');
const model = join(dir.path, 'model.gguf');
const good = join(dir.path, 'good.jsonl');
const cli = (...args: string[]) => runCli([...args, '--data-dir', data]);
const ERD = 'erDiagram\n  CUSTOMER ||--o{ ORDER : places';

beforeAll(() => {
  execFileSync('mkfifo', [fifo]);
  // Only checked as a regular file before the FIFO next to it is refused: never loaded.
  writeFileSync(model, 'GGUF');
  writeFileSync(good, `${JSON.stringify({ prompt: 'p', completion: 'c' })}\n`);
});
afterAll(() => dir.remove());

describe('a FIFO given to any command that reads a file', () => {
  it.each([
    ['validate --file', ['validate', '--kind', 'code', '--file', fifo], 2, /--file \S+pipe is a named pipe \(FIFO\)/],
    ['feedback correct --file', ['feedback', '1', 'correct', '--file', fifo], 2, /--file \S+pipe is a named pipe \(FIFO\)/],
    ['artifact add --output-file', ['artifact', 'add', '--kind', 'other', '--prompt', 'p', '--output-file', fifo], 2, /--output-file \S+pipe is a named pipe/],
    ['finetune --data', ['finetune', '--model', model, '--data', fifo, '--out', join(dir.path, 'a.gguf')], 2, /--data: The examples file \S+pipe is a named pipe/],
    ['finetune --model', ['finetune', '--model', fifo, '--data', good, '--out', join(dir.path, 'a.gguf')], 1, /--model \S+pipe is a named pipe/],
    ['perplexity --adapter', ['perplexity', '--model', model, '--adapter', fifo, '--text', 'x'], 1, /--adapter \S+pipe is a named pipe/],
    ['import FILE', ['import', fifo], 1, /The dataset file \S+pipe is a named pipe/],
    ['import --tokenizer', ['import', good, '--tokenizer', fifo], 1, /The tokenizer model \S+pipe is a named pipe/],
  ])('%s: refused by name, at once', (_name, args, status, message) => {
    const started = performance.now();
    const result = cli(...(args as string[]));
    expect(result).toMatchObject({ status, stderr: expect.stringMatching(message as RegExp) });
    // The whole process, start to exit; it used to wait for a writer for ever.
    expect(performance.now() - started).toBeLessThan(30_000);
  });

  it('and /dev/zero, a folder or an over-long file: refused too, validate --kind code --file /dev/zero included', () => {
    expect(cli('validate', '--kind', 'code', '--file', '/dev/zero')).toMatchObject({ status: 2, stderr: expect.stringContaining('/dev/zero is a character device, not a regular file') });
    expect(cli('artifact', 'add', '--kind', 'other', '--prompt', 'p', '--output-file', dir.path)).toMatchObject({ status: 2, stderr: expect.stringContaining('is a folder') });
    const long = join(dir.path, 'long.txt');
    writeFileSync(long, 'x'.repeat(2 * 1024 * 1024));
    expect(cli('validate', '--kind', 'code', '--file', long)).toMatchObject({ status: 2, stderr: expect.stringMatching(/long\.txt is larger than 1\.0 MiB/) });
  });
});

describe('numbers on the command line are decimal, with their range in the message', () => {
  it.each([
    [['feedback', '0x10', 'up'], /ID must be a positive whole number from 1 to \d+, got '0x10' \(decimal digits only\)/],
    [['feedback', '-5', 'up'], /ID must be a positive whole number from 1 to \d+: -5 is out of range/],
    [['artifact', 'show', '1e1'], /ID must be a positive whole number .*got '1e1'/],
    [['serve', '--port', '0x50'], /--port must be a whole number from 0 to 65535, got '0x50'/],
    [['serve', '--port', '-1'], /--port must be a whole number from 0 to 65535: -1 is out of range/],
    [['serve', '--port', '65536'], /--port must be a whole number from 0 to 65535: 65536 is out of range/],
    [['perplexity', '--model', model, '--text', 'x', '--threads', '-2'], /--threads must be a positive whole number from 1 to \d+: -2 is out of range/],
    [['finetune', '--model', model, '--data', good, '--out', 'x', '--lr', '0x10'], /--lr must be a number, got '0x10'/],
    [['import', good, '--seed', '0x2a'], /--seed must be a whole number from 0 to 2147483647, got '0x2a'/],
    [['import', good, '--validation-share', '-0.1'], /--validation-share must be from 0 to 0\.5: -0\.1 is out of range/],
  ])('%j', (args, message) => {
    expect(cli(...args)).toMatchObject({ status: 2, stderr: expect.stringMatching(message) });
  });
});

describe('what is stored', () => {
  it('a correction must have text; export examples writes only what import takes back', () => {
    expect(cli('artifact', 'add', '--kind', 'other', '--prompt', 'draw it', '--output', 'first')).toMatchObject({ status: 0, stdout: '1\n' });
    for (const text of ['', '  \n\t']) {
      expect(cli('feedback', '1', 'correct', '--text', text)).toMatchObject({ status: 1, stderr: expect.stringContaining('args.text: is empty') });
    }
    expect(cli('feedback', '1', 'correct', '--text', 'the corrected text')).toMatchObject({ status: 0 });
    // An empty correction stored by an earlier version, made eligible by a low threshold.
    expect(cli('artifact', 'add', '--kind', 'other', '--prompt', 'another', '--output', 'second')).toMatchObject({ status: 0, stdout: '2\n' });
    const db = openDatabase(join(data, 'architect.db'));
    const store = createStore(db);
    const now = new Date().toISOString();
    const eventId = store.events.insert({ artifactId: 2, type: 'correction', reward: 0.2, correctedText: '', similarity: 0, score: null, reasons: null, validator: null, createdAt: now });
    store.learning.upsertExample({ artifactId: 2, correctionId: eventId, decidedBy: eventId, reward: 0.2, threshold: 0.1, now });
    db.close();
    expect(cli('learning', 'set', '--min-reward', '0.1')).toMatchObject({ status: 0 });
    const out = join(dir.path, 'examples.jsonl');
    expect(cli('export', 'examples', '--out', out)).toMatchObject({ status: 0 });
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([{ prompt: 'draw it', completion: 'the corrected text' }]);
    expect(cli('import', out)).toMatchObject({ status: 0 });
  });

  it('import counts every record, good or bad, in its refusal', () => {
    const mixed = join(dir.path, 'mixed.jsonl');
    // One good line and one that is not UTF-8 (refused before it is parsed).
    writeFileSync(mixed, Buffer.concat([Buffer.from(`${JSON.stringify({ prompt: 'a', completion: 'b' })}\n`), Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a])]));
    expect(cli('import', mixed)).toMatchObject({ status: 1, stderr: expect.stringContaining('1 bad record of 2') });
  });

  it('a corrupt database is reported with its path, and left as it was', () => {
    const broken = join(dir.path, 'broken');
    mkdirSync(broken);
    const garbage = Buffer.alloc(8192, 0x5a);
    writeFileSync(join(broken, 'architect.db'), garbage);
    const result = runCli(['artifact', 'show', '1', '--data-dir', broken]);
    expect(result).toMatchObject({ status: 1, stderr: expect.stringContaining(`Cannot open the database ${join(broken, 'architect.db')}: file is not a database`) });
    expect(readFileSync(join(broken, 'architect.db')).equals(garbage)).toBe(true);
  });
});

describe('artifact add killed with SIGKILL', () => {
  it('leaves a validated artifact or none, whenever it is killed', async () => {
    const killed = join(dir.path, 'killed');
    const delays = [150, 500, 900, 1300, 1700, 2100, 2600];
    for (const delay of delays) {
      const child = spawn(process.execPath, [`${REPO}bin/architect.js`, 'artifact', 'add', '--kind', 'erd', '--prompt', `killed after ${delay} ms`, '--output', ERD, '--data-dir', killed], {
        stdio: 'ignore',
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      setTimeout(() => child.kill('SIGKILL'), delay);
      await exited;
    }
    // And one left to finish, so at least one artifact exists to check.
    expect(runCli(['artifact', 'add', '--kind', 'erd', '--prompt', 'finished', '--output', ERD, '--data-dir', killed])).toMatchObject({ status: 0 });
    const db = openDatabase(join(killed, 'architect.db'));
    try {
      const artifacts = db.prepare('SELECT id, prompt FROM artifacts').all() as { id: number; prompt: string }[];
      const validated = new Set((db.prepare("SELECT artifact_id AS id FROM feedback_events WHERE type = 'validation'").all() as { id: number }[]).map((r) => r.id));
      expect(artifacts.map((a) => a.prompt)).toContain('finished');
      for (const artifact of artifacts) expect({ ...artifact, validated: validated.has(artifact.id) }).toEqual({ ...artifact, validated: true });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
  }, 120_000);
});
