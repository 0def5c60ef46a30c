import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers/cli';
import { writeGeneratedFile } from '../helpers/datasets';
import { makeTempDir } from '../helpers/tempDir';

const dir = makeTempDir();
afterAll(() => dir.remove());
const dataDir = join(dir.path, 'data');
const cli = (...args: string[]) => runCli([...args, '--data-dir', dataDir]);
const pc = (prompt: string, completion: string, kind?: string) => JSON.stringify({ prompt, completion, ...(kind ? { kind } : {}) });
function file(name: string, lines: string[]): string {
  const path = join(dir.path, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

describe('architect import, datasets, dataset, export dataset', () => {
  it('imports a file, says so when it comes again, lists, shows, renames and exports it', () => {
    const good = file('designs.jsonl', Array.from({ length: 20 }, (_, i) => pc(`design ${i}`, `answer ${i}`, 'erd')));
    const first = cli('import', good);
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^Imported dataset "designs" \(id 1, prompt-completion JSONL, [\d.]+ \w+\)$/m);
    expect(first.stdout).toContain('20 examples; split 18 train / 2 validation (seed 42, stratified by kind); tokens not counted');
    const again = cli('import', good, '--json');
    expect(again.status).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: 'duplicate', dataset: { id: 1, name: 'designs' } });

    const list = cli('datasets', '--json');
    expect(JSON.parse(list.stdout)).toMatchObject([{ id: 1, name: 'designs', examples: 20, train: 18, validation: 2 }]);
    expect(cli('datasets').stdout).toMatch(/^1 +designs +designs\.jsonl +20 +18\/2 +— +0 /m);
    expect(cli('dataset', 'show', 'DESIGNS').stdout).toContain('erd            18 train, 2 validation');
    expect(cli('dataset', 'rename', 'designs', 'diagrams')).toMatchObject({ status: 0, stdout: 'Renamed dataset 1 to "diagrams".\n' });

    const out = join(dir.path, 'out.jsonl');
    const exported = cli('export', 'dataset', 'diagrams', '--format', 'messages', '--out', out);
    expect(exported).toMatchObject({ status: 0, stderr: `Wrote 20 examples of "diagrams" (messages) to ${out}\n` });
    expect(JSON.parse(readFileSync(out, 'utf8').split('\n')[0]!)).toEqual({ messages: [{ role: 'user', content: 'design 0' }, { role: 'assistant', content: 'answer 0' }] });
    const alpaca = cli('export', 'dataset', '1', '--format', 'alpaca');
    expect(JSON.parse(alpaca.stdout.split('\n')[1]!)).toEqual({ instruction: 'design 1', input: '', output: 'answer 1' });
  });

  it('refuses a file with bad lines: exit code 1 and every bad line as FILE:LINE: reason; nothing stored', () => {
    const bad = file('bad.jsonl', [pc('a', 'b'), '{"prompt": "cut', pc('c', 'd'), JSON.stringify({ prompt: 'e', completion: '' })]);
    const refused = cli('import', bad);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('2 bad records of 4: nothing was imported');
    expect(refused.stderr).toContain(`${bad}:2: invalid JSON (`);
    expect(refused.stderr).toContain(`${bad}:4: "completion" is empty`);
    expect(refused.stdout).toBe('');
    const json = cli('import', bad, '--json');
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'refused', report: { invalid: 2, errors: [{ line: 2 }, { line: 4 }] } });
    expect(JSON.parse(cli('datasets', '--json').stdout).map((d: { name: string }) => d.name)).toEqual(['diagrams']);

    const skipped = cli('import', bad, '--skip-invalid', '--name', 'partial');
    expect(skipped.status).toBe(0);
    expect(skipped.stdout).toContain('Imported dataset "partial"');
    expect(skipped.stdout).toContain(`${bad}:2: invalid JSON`);
    expect(cli('dataset', 'delete', 'partial')).toMatchObject({ status: 0 });
  });

  it('answers bad usage and unknown names clearly', () => {
    expect(cli('import')).toMatchObject({ status: 2, stderr: expect.stringContaining('expected FILE') });
    expect(cli('import', join(dir.path, 'nope.jsonl'))).toMatchObject({ status: 1, stderr: expect.stringContaining('ENOENT') });
    expect(cli('import', join(dir.path, 'x'), '--validation-share', 'lots')).toMatchObject({ status: 2, stderr: expect.stringContaining('--validation-share must be a number') });
    expect(cli('export', 'dataset', 'nothing-by-this-name')).toMatchObject({ status: 1, stderr: expect.stringContaining('There is no dataset "nothing-by-this-name"') });
    expect(cli('export', 'dataset', 'diagrams', '--format', 'csv')).toMatchObject({ status: 2, stderr: expect.stringContaining('--format must be') });
    expect(cli('dataset', 'build')).toMatchObject({ status: 2, stderr: expect.stringContaining('--from-feedback') });
    expect(cli('dataset', 'build', '--from-feedback', '--kind', 'poem')).toMatchObject({ status: 2, stderr: expect.stringContaining('--kind must be one of') });
  });

  it('builds a dataset from feedback with filters', () => {
    for (const [kind, prompt] of [['other', 'first'], ['other', 'second'], ['code', 'third']]) {
      const id = cli('artifact', 'add', '--kind', kind!, '--prompt', prompt!, '--output', `${prompt} output`).stdout.trim();
      expect(cli('feedback', id, 'up').status).toBe(0);
    }
    const built = cli('dataset', 'build', '--from-feedback', '--kind', 'other', '--min-reward', '0.5', '--name', 'liked', '--json');
    expect(built.status).toBe(0);
    expect(JSON.parse(built.stdout)).toMatchObject({ status: 'imported', dataset: { name: 'liked', source: 'feedback', examples: 2, filters: { kind: 'other', minReward: 0.5 } } });
    expect(cli('dataset', 'build', '--from-feedback', '--min-reward', '0.1')).toMatchObject({ status: 1, stderr: expect.stringContaining('below the training threshold 0.3') });
  });
});

describe('an import interrupted', () => {
  const big = join(dir.path, 'big.jsonl');
  const tables = () => {
    const db = new Database(join(dataDir, 'architect.db'), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const n = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
      return { datasets: n("SELECT COUNT(*) AS n FROM datasets WHERE name = 'big'"), examples: n('SELECT COUNT(*) AS n FROM dataset_examples') };
    } finally {
      db.close();
    }
  };

  /** Starts `architect import big.jsonl` and sends `signal` once it reports reading past 10%. */
  function interrupt(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
    const child = spawn(process.execPath, [`${REPO}bin/architect.js`, 'import', big, '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!sent && /^reading [1-9]\d%/m.test(stderr)) {
        sent = true;
        child.kill(signal);
      }
    });
    return new Promise((resolve) => child.on('close', (code, killed) => resolve({ code, signal: killed, stderr })));
  }

  it('by SIGKILL leaves no dataset and no example; the scratch file is removed once stale; the file imports afterwards', async () => {
    writeGeneratedFile(big, 150_000);
    const before = tables().examples;
    const run = await interrupt('SIGKILL');
    expect(run.signal).toBe('SIGKILL');
    expect(run.stderr).not.toContain('saving');
    expect(tables()).toEqual({ datasets: 0, examples: before });
    // The killed process left its staging file; the next start removes it once it is an hour old.
    const staged = readdirSync(join(dataDir, 'tmp'));
    expect(staged).toHaveLength(1);
    const stale = new Date(Date.now() - 2 * 3600_000);
    utimesSync(join(dataDir, 'tmp', staged[0]!), stale, stale);
    expect(cli('datasets').status).toBe(0);
    expect(existsSync(join(dataDir, 'tmp', staged[0]!))).toBe(false);
  }, 60_000);

  it('by Ctrl-C stops with exit code 130 and stores nothing', async () => {
    const before = tables().examples;
    const run = await interrupt('SIGINT');
    expect(run.code).toBe(130);
    expect(run.stderr).toContain('The import was cancelled; nothing was stored.');
    expect(tables()).toEqual({ datasets: 0, examples: before });
    expect(readdirSync(join(dataDir, 'tmp'))).toEqual([]);
    const done = cli('import', big, '--json');
    expect(done.status).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ status: 'imported', dataset: { name: 'big', examples: 150_000, train: 135_000, validation: 15_000 } });
  }, 60_000);
});
