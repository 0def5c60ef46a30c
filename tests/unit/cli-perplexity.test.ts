import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Trainer } from '../../native/index';
import { runCli } from '../helpers/cli';
import { FIXTURES, fixtureFolder, SAMPLE_TEXT } from '../helpers/fixtures';
import { diffStats, referenceLogProbs, testLlama } from '../helpers/llamaReference';

let fixtures: ReturnType<typeof fixtureFolder>;
let model: { path: string; spec: ReturnType<typeof fixtures.model>['spec'] };

beforeAll(async () => {
  const trainer = Trainer.forLlama(await testLlama());
  fixtures = fixtureFolder((type, data, row) => trainer.quantize(type, data, row));
  model = fixtures.model('f32', FIXTURES.f32);
});
afterAll(() => fixtures?.remove());

describe('architect perplexity', () => {
  it('prints per-token log-probabilities and the perplexity, equal to llama.cpp on the same file', async () => {
    const adapter = fixtures.adapter('cli', model.spec, ['attn_q', 'ffn_down']);
    const { status, stdout, stderr } = runCli(['perplexity', '--model', model.path, '--adapter', adapter, '--text', SAMPLE_TEXT, '--json', '--threads', '2']);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const result = JSON.parse(stdout) as { tokens: { id: number; text: string; logProb: number }[]; meanLogProb: number; perplexity: number; adapter: string };
    expect(result.adapter).toBe(adapter);
    expect(result.tokens.length).toBeGreaterThan(60);
    expect(result.perplexity).toBeCloseTo(Math.exp(-result.meanLogProb), 6);
    const llama = await testLlama();
    const reference = await llama.loadModel({ modelPath: model.path });
    const ids = [reference.tokens.bos!, ...result.tokens.map((t) => t.id)];
    const theirs = await referenceLogProbs(reference, ids, adapter);
    expect(diffStats(result.tokens.map((t) => t.logProb), theirs).max).toBeLessThan(1e-4);
    await reference.dispose();
  });

  it('reads the text from a file and prints a table for people', () => {
    const { status, stdout } = runCli(['perplexity', '--model', model.path, '--file', join(fixtures.dir, '..', 'nonexistent')]);
    expect(status).toBe(2);
    const ok = runCli(['perplexity', '--model', model.path, '--text', 'Entity relationship diagram']);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^Perplexity +[\d.]+ \(mean log-probability -[\d.]+\)$/m);
    expect(ok.stdout).toMatch(/^Adapter +none$/m);
    expect(stdout).toBe('');
  });

  it('answers bad input with a clear error and a non-zero exit', () => {
    expect(runCli(['perplexity', '--text', 'x'])).toMatchObject({ status: 2, stderr: expect.stringContaining('--model FILE is required') });
    expect(runCli(['perplexity', '--model', model.path])).toMatchObject({ status: 2, stderr: expect.stringContaining('--text TEXT or --file FILE') });
    expect(runCli(['perplexity', '--model', '/nope.gguf', '--text', 'a b c'])).toMatchObject({ status: 1, stderr: expect.stringContaining('/nope.gguf: no such file') });
    expect(runCli(['perplexity', '--model', model.path, '--adapter', model.path, '--text', 'a b c'])).toMatchObject({ status: 1, stderr: expect.stringContaining('not a LoRA adapter') });
    expect(runCli(['perplexity', '--model', model.path, '--text', ''])).toMatchObject({ status: 1, stderr: expect.stringContaining('too short to score') });
    expect(runCli(['perplexity', '--model', model.path, '--text', 'x', '--threads', '0'])).toMatchObject({ status: 2, stderr: expect.stringContaining('--threads must be a positive whole number') });
  });
});
