// `architect presets`: what training settings fit, for a catalog model, an installed one or a file, on a stated VRAM
// or this machine. Through the real `architect` command (runCli, after `npm run build`) once bin/cli/index.ts
// registers presetsCommand, and always through the command object itself, with the CLI's exit codes.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseCommandArgs, UsageError } from '../../bin/cli/command';
import type { Command } from '../../bin/cli/command';
import { bitsOf, presetsCommand } from '../../bin/cli/presets';
import { runCli } from '../helpers/cli';
import { writeServedModel } from '../helpers/modelServer';
import { makeTempDir } from '../helpers/tempDir';

type Result = { status: number | null; stdout: string; stderr: string };

/** The command run in this process as bin/cli/index.ts's main runs it: usage errors exit 2, failures 1. */
async function inProcess(args: string[]): Promise<Result> {
  let stdout = '';
  const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void (stdout += `${parts.join(' ')}\n`));
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  try {
    const [, ...rest] = args;
    const command = presetsCommand as unknown as Command;
    const { values, positionals } = parseCommandArgs(command, rest);
    const status = await command.run({ ...values, 'data-dir': String(values['data-dir']) } as Parameters<Command['run']>[0], positionals);
    return { status, stdout, stderr: '' };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { status: error instanceof UsageError ? 2 : 1, stdout, stderr: `architect presets: ${message}\n` };
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
}

let dir: ReturnType<typeof makeTempDir>;
let modelPath: string;
beforeAll(() => {
  dir = makeTempDir('architect-presets-cli-');
  // An F32 llama (the GGUF writer needs no quantizer for it): imported in place by --model FILE.
  modelPath = writeServedModel(dir.path, 'tiny-f32.gguf', { nEmbd: 64, nFf: 128 }).path;
});
afterAll(() => dir?.remove());

const RUNNERS: [string, (args: string[]) => Result | Promise<Result>][] = [
  ['in process', inProcess],
  ['through the built architect command', runCli],
];

describe.each(RUNNERS)('architect presets, %s', (_how, run) => {
  const data = () => ['--data-dir', `${dir.path}/data`];

  it('plans a catalog model on a stated VRAM: the chosen preset and every tier with fits or not and why', async () => {
    const r = await run(['presets', '--model', 'codellama-7b-instruct', '--vram', '12', ...data()]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Presets for CodeLlama 7B Instruct \(catalog codellama-7b-instruct\): 32 layers, width 4096, vocabulary 32016; files Q4_K_M 4\.1 GB, Q8_0 7\.2 GB$/m);
    expect(r.stdout).toMatch(/^Memory: 12\.0 GB of VRAM \(--vram\); max length 512 tokens/m);
    expect(r.stdout).toMatch(/^Preset 12gb: batch 2, rank 8, Q4_K_M base \(not installed: `architect models download codellama-7b-instruct --quant Q4_K_M`\), max length 512, gradient checkpointing on$/m);
    expect(r.stdout).toMatch(/^ {2}\d+\.\d GB of 12: weights 4\.1, activations \d+\.\d, /m);
    for (const tier of ['8gb', '12gb', '16gb', '24gb']) expect(r.stdout).toMatch(new RegExp(`^  ${tier} +batch`, 'm'));
    expect(r.stdout).toMatch(/^ {8}does not fit: its smallest \(batch 4, rank 16, Q8_0 \(8-bit\) base, max length 512, gradient checkpointing\) needs \d+\.\d GB, \d+\.\d usable of 12$/m);
  });

  it('prints JSON, and the guide’s remedies in its order when nothing fits', async () => {
    const r = await run(['presets', '--model', 'llama-3-8b-instruct', '--vram', '6', '--max-length', '1024', '--json', ...data()]);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as {
      device: string;
      memoryBytes: number;
      memorySource: string;
      maxLength: number;
      preset: { fits: boolean; name: string; remedies: { kind: string; savingBytes: number }[] };
      tiers: { tier: { name: string }; fits: boolean; why: string }[];
    };
    expect(out).toMatchObject({ device: 'gpu', memoryBytes: 6e9, memorySource: 'vram-option', maxLength: 1024, preset: { fits: false, name: '8gb' } });
    expect(out.preset.remedies.map((x) => x.kind)).toEqual(['base-4bit', 'batch-1', 'shorter-max-length', 'gradient-checkpointing', 'smaller-rank']);
    expect(out.tiers.map((t) => [t.tier.name, t.fits])).toEqual([['8gb', false], ['12gb', false], ['16gb', false], ['24gb', false]]);
    const text = await run(['presets', '--model', 'llama-3-8b-instruct', '--vram', '6', ...data()]);
    expect(text.stdout).toMatch(/^Nothing fits: even batch 1, rank 8, Q4_K_M base .* needs \d+\.\d GB of 6: /m);
    expect(text.stdout).toMatch(/^ {2}1\. 4-bit base: already Q4_K_M \(4-bit\)$/m);
    expect(text.stdout).toMatch(/^ {2}3\. shorter max length \(max length 512 → 256\): saves \d+\.\d+ GB, then \d+\.\d GB/m);
  });

  it('imports a GGUF file in place and plans it; an installed id gives the same', async () => {
    const r = await run(['presets', '--model', modelPath, '--vram', '8', '--json', ...data()]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { model: { source: string; shape: { width: number }; files: { bits: number; quant: string }[] }; preset: { fits: boolean; config: { base: { quant: string } } } };
    expect(out.model.shape.width).toBe(64);
    expect(out.model.files).toMatchObject([{ bits: 32, quant: 'F32' }]);
    expect(out.preset).toMatchObject({ fits: true, config: { base: { quant: 'F32' } } });
    const id = /^installed model (\d+) /.exec(out.model.source)![1]!;
    const again = await run(['presets', '--model', id, '--vram', '8', '--json', ...data()]);
    expect(again.status).toBe(0);
    expect((JSON.parse(again.stdout) as { model: { source: string } }).model.source).toBe(out.model.source);
  });

  it('judges this machine when no VRAM is stated: free VRAM on a GPU backend, else RAM', async () => {
    const r = await run(['presets', '--model', 'llama-3.2-1b-instruct', '--json', ...data()]);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { device: string; memorySource: string; memoryBytes: number; tiers: { tier: { name: string } }[] };
    expect(out.memoryBytes).toBeGreaterThan(0);
    if (out.device === 'cpu') {
      expect(out.memorySource).toBe('ram');
      expect(out.tiers.map((t) => t.tier.name)).toEqual(['cpu']);
    } else {
      expect(out.memorySource).toBe('gpu-free');
      expect(out.tiers).toHaveLength(4);
    }
  }, 60_000);

  it.each([
    [['--vram', '1e10'], /--vram must be a decimal number of GB from 1 to 1024, such as 12 or 11\.5, got '1e10'/],
    [['--vram', '0x10'], /--vram must be a decimal number of GB from 1 to 1024.*got '0x10'/],
    [['--vram', '12GB'], /got '12GB'/],
    [['--vram', '0'], /from 1 to 1024.*got '0'/],
    [['--vram', '2000'], /from 1 to 1024.*got '2000'/],
    [['--vram=-8'], /from 1 to 1024.*got '-8'/],
    [['--vram', 'NaN'], /got 'NaN'/],
    [['--max-length', '12.5'], /--max-length must be a whole number from 8 to the model's context \(e\.g\. 512\), got '12\.5'/],
    [['--max-length', '100000'], /--max-length must be a whole number from 8 to 16384 \(the model's context\), got '100000'/],
    [['--max-length', '4'], /from 8 to 16384.*got '4'/],
  ])('refuses %j with the range in the message (exit 2)', async (flags, message) => {
    const r = await run(['presets', '--model', 'codellama-7b-instruct', ...flags, ...data()]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('needs --model, and names what it accepts when the model is unknown', async () => {
    const none = await run(['presets', '--vram', '12', ...data()]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/give --model ID\|FILE/);
    const unknown = await run(['presets', '--model', 'no-such-model', '--vram', '12', ...data()]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/--model no-such-model: no installed model id, catalog id \(llama-3\.2-1b-instruct, codellama-7b-instruct, .*\) or file of that name/);
    const missing = await run(['presets', '--model', '999', '--vram', '12', ...data()]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/there is no installed model 999/);
  });
});

describe('bits per weight from a type name', () => {
  it.each([
    ['Q4_K_M', 4],
    ['MOSTLY_Q8_0', 8],
    ['MOSTLY_F16', 16],
    ['BF16', 16],
    ['ALL_F32', 32],
    ['IQ3_XXS', 3],
    ['file type 99', null],
  ])('%s → %s', (type, bits) => expect(bitsOf(type)).toBe(bits));
});
