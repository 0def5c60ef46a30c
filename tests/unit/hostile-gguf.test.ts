// Crafted GGUF files against the trainer's readers: each is refused with an error naming the file and the key or
// tensor at fault, never an abort, a hang or gigabytes of memory. The loads run in a child process
// (native/fuzz/load.ts), so that an abort would fail a test instead of killing vitest.
import { spawnSync } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, ftruncateSync, openSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadJob, LoadOutcome, LoadReport } from '../../native/fuzz/load';
import { readGguf, withVocabulary, writeGgufContent } from '../../native/fuzz/gguf-edit';
import type { GgufContent } from '../../native/fuzz/gguf-edit';
import { buildScript } from '../helpers/buildScript';
import { runCli } from '../helpers/cli';
import { ValueType } from '../helpers/gguf/format';
import type { MetaValue } from '../helpers/gguf/format';
import { MEMORISE } from '../helpers/training';
import { makeTempDir } from '../helpers/tempDir';
import { writeTinyAdapter, writeTinyModel } from '../helpers/tinyModel';
import type { TinyModelSpec } from '../helpers/tinyModel';

const dir = makeTempDir('architect-hostile-gguf-');
let script: string;
let base: string;
let spec: Required<TinyModelSpec>;
let content: GgufContent;
let adapter: string;
let adapterContent: GgufContent;
let fifo: string;

// Small enough to write dozens of variants: 2 layers, width 32, 4 heads (2 KV heads), tied output, 256 tokens.
const SPEC: TinyModelSpec = { type: 'f32', nEmbd: 32, nLayer: 2, nHead: 4, nHeadKv: 2, nFf: 64, tiedOutput: true };
const VOCAB = 256;

beforeAll(async () => {
  script = await buildScript('native/fuzz/load.ts');
  const full = join(dir.path, 'full.gguf');
  spec = writeTinyModel(full, SPEC, (_type, data) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  content = withVocabulary(readGguf(full), VOCAB);
  base = join(dir.path, 'base.gguf');
  writeGgufContent(base, content);
  adapter = join(dir.path, 'base.lora.gguf');
  writeTinyAdapter(adapter, spec, { rank: 2, alpha: 4, targets: ['attn_q', 'ffn_down'] });
  adapterContent = readGguf(adapter);
  fifo = join(dir.path, 'pipe.gguf');
  execFileSync('mkfifo', [fifo]);
}, 60_000);
afterAll(() => dir.remove());

/** Runs the jobs in a child process; it must exit on its own, in time, with a report. */
function load(jobs: LoadJob[], timeout = 60_000): LoadReport & { wallMs: number } {
  const started = performance.now();
  const child = spawnSync(process.execPath, [script, JSON.stringify(jobs)], { encoding: 'utf8', timeout });
  const wallMs = performance.now() - started;
  expect(child.signal, `the loader was killed (${child.signal}): ${child.stderr}`).toBeNull();
  expect(child.status, child.stderr).toBe(0);
  return { ...(JSON.parse(child.stdout) as LoadReport), wallMs };
}

function refusal(outcome: LoadOutcome | undefined): { message: string; name: string } {
  if (!outcome || outcome.ok) throw new Error('expected a refusal, the file was accepted');
  return outcome;
}

/** A copy of `from` with edits, written as `name`.gguf. */
function variant(name: string, from: GgufContent, edit: (c: GgufContent) => void): string {
  const copy: GgufContent = { metadata: new Map(from.metadata), tensors: from.tensors.map((t) => ({ ...t, dims: [...t.dims] })) };
  edit(copy);
  const path = join(dir.path, `${name}.gguf`);
  writeGgufContent(path, copy);
  return path;
}

const set = (key: string, value: MetaValue) => (c: GgufContent) => void c.metadata.set(key, value);
const f32 = (value: number): MetaValue => ({ type: ValueType.F32, value });
const u32 = (value: number): MetaValue => ({ type: ValueType.U32, value });
const tensor = (c: GgufContent, name: string) => c.tensors.find((t) => t.name === name)!;

/** A file of raw bytes: for headers the writer would never produce. */
function raw(name: string, ...parts: (Buffer | string | bigint | number)[]): string {
  const bytes = parts.map((p) => {
    if (Buffer.isBuffer(p)) return p;
    if (typeof p === 'string') return Buffer.concat([u64(BigInt(Buffer.byteLength(p))), Buffer.from(p)]);
    if (typeof p === 'bigint') return u64(p);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(p);
    return b;
  });
  const path = join(dir.path, `${name}.gguf`);
  writeFileSync(path, Buffer.concat(bytes));
  return path;
}
function u64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b;
}
const MAGIC = Buffer.from('GGUF');

describe('a crafted model is refused, naming the file and the field', () => {
  const L = 'llama.';
  const cases: [string, (c: GgufContent) => void, RegExp][] = [
    ['epsilon NaN', set(`${L}attention.layer_norm_rms_epsilon`, f32(NaN)), /llama\.attention\.layer_norm_rms_epsilon is nan; it must be a finite number above 0 and below 1/],
    ['epsilon negative', set(`${L}attention.layer_norm_rms_epsilon`, f32(-1e-5)), /layer_norm_rms_epsilon is -1e-05; it must be/],
    ['epsilon 0', set(`${L}attention.layer_norm_rms_epsilon`, f32(0)), /layer_norm_rms_epsilon is 0; it must be/],
    ['epsilon infinite', set(`${L}attention.layer_norm_rms_epsilon`, f32(Infinity)), /layer_norm_rms_epsilon is inf; it must be/],
    ['epsilon 1e-300 (0 as a float)', set(`${L}attention.layer_norm_rms_epsilon`, { type: ValueType.F64, value: 1e-300 }), /layer_norm_rms_epsilon is 1e-300; it must be/],
    ['epsilon 1', set(`${L}attention.layer_norm_rms_epsilon`, f32(1)), /layer_norm_rms_epsilon is 1; it must be/],
    ['epsilon a string', set(`${L}attention.layer_norm_rms_epsilon`, { type: ValueType.String, value: '1e-5' }), /metadata key 'llama\.attention\.layer_norm_rms_epsilon' must be a number \(f32 or f64\), not str/],
    ['RoPE base negative', set(`${L}rope.freq_base`, f32(-10000)), /llama\.rope\.freq_base is -10000; it must be a finite number above 0/],
    ['RoPE base NaN', set(`${L}rope.freq_base`, f32(NaN)), /llama\.rope\.freq_base is nan/],
    ['RoPE base 0', set(`${L}rope.freq_base`, f32(0)), /llama\.rope\.freq_base is 0/],
    ['RoPE scale NaN', (c) => { set(`${L}rope.scaling.type`, { type: ValueType.String, value: 'linear' })(c); set(`${L}rope.scaling.factor`, f32(NaN))(c); }, /llama\.rope\.scaling\.factor is nan; it must be a finite number above 0/],
    ['RoPE scale negative', set(`${L}rope.scaling.factor`, f32(-2)), /llama\.rope\.scaling\.factor is -2/],
    ['RoPE scale tiny (its inverse overflows)', (c) => { set(`${L}rope.scaling.type`, { type: ValueType.String, value: 'linear' })(c); set(`${L}rope.scaling.factor`, f32(1e-40))(c); }, /llama\.rope\.scaling\.factor is [0-9.e-]+; it must be a finite number above 0/],
    ['RoPE scaling unsupported', (c) => { set(`${L}rope.scaling.type`, { type: ValueType.String, value: 'yarn' })(c); set(`${L}rope.scaling.factor`, f32(4))(c); }, /llama\.rope\.scaling\.type 'yarn' is not supported yet/],
    ['RoPE dimensions', set(`${L}rope.dimension_count`, u32(4)), /llama\.rope\.dimension_count \(4\) must equal the head size \(8\)/],
    ['head count not dividing the width', set(`${L}attention.head_count`, u32(5)), /llama\.attention\.head_count \(5\) does not divide llama\.embedding_length \(32\)/],
    ['head count 0', set(`${L}attention.head_count`, u32(0)), /llama\.attention\.head_count is 0; the attention head count must be from 1/],
    ['KV heads 0', set(`${L}attention.head_count_kv`, u32(0)), /llama\.attention\.head_count_kv is 0; the key-value head count must be from 1/],
    ['KV heads not dividing the heads', set(`${L}attention.head_count_kv`, u32(3)), /llama\.attention\.head_count_kv \(3\) does not divide llama\.attention\.head_count \(4\)/],
    ['odd head size', (c) => { set(`${L}attention.head_count`, u32(32))(c); set(`${L}attention.head_count_kv`, u32(32))(c); set(`${L}rope.dimension_count`, u32(1))(c); }, /the head size 1 .* is odd/],
    ['block count 3 (more than the tensors)', set(`${L}block_count`, u32(3)), /llama\.block_count is 3, but the file holds only 20 tensors \(a llama layer has 9\)/],
    ['block count 2^63', set(`${L}block_count`, { type: ValueType.U64, value: 2n ** 63n }), /metadata key 'llama\.block_count' is 9223372036854775808, far too large/],
    ['block count negative', set(`${L}block_count`, { type: ValueType.I32, value: -1 }), /llama\.block_count is -1; the layer count must be from 1 to 512/],
    ['block count a string', set(`${L}block_count`, { type: ValueType.String, value: 'two' }), /metadata key 'llama\.block_count' must be an integer, not str/],
    ['context length 0', set(`${L}context_length`, u32(0)), /llama\.context_length is 0/],
    ['context length 2^40', set(`${L}context_length`, { type: ValueType.U64, value: 2n ** 40n }), /llama\.context_length is 1099511627776; the context length must be from 1 to 2147483647/],
    ['missing width', (c) => void c.metadata.delete(`${L}embedding_length`), /missing metadata key 'llama\.embedding_length'/],
    ['no architecture', (c) => void c.metadata.delete('general.architecture'), /unsupported model architecture '\(none\)'/],
    ['vocab size against the embedding', set(`${L}vocab_size`, u32(255)), /llama\.vocab_size is 255 but tensor 'token_embd\.weight' has 256 rows/],
    [
      'tokenizer against the embedding',
      (c) => {
        const tokens = c.metadata.get('tokenizer.ggml.tokens')!;
        if (tokens.type === ValueType.Array) c.metadata.set('tokenizer.ggml.tokens', { ...tokens, value: tokens.value.slice(0, 100) });
      },
      /tokenizer\.ggml\.tokens lists 100 tokens but tensor 'token_embd\.weight' has 256 rows/,
    ],
    ['tensor dims overflowing', (c) => void (tensor(c, 'token_embd.weight').dims = [2 ** 62, 2 ** 62]), /tensor 'token_embd\.weight' has shape \[4611686018427387904, 4611686018427387904\], too many elements to count/],
    ['a negative dimension', (c) => void (tensor(c, 'output_norm.weight').dims = [2n ** 64n - 1n as unknown as number]), /tensor 'output_norm\.weight' has a negative dimension \(-1\)/],
    ['five dimensions', (c) => void (tensor(c, 'output_norm.weight').dims = [32, 1, 1, 1, 1]), /tensor 'output_norm\.weight' has 5 dimensions; at most 4/],
    ['a shape against the hyperparameters', (c) => Object.assign(tensor(c, 'blk.0.attn_norm.weight'), { dims: [16], data: new Uint8Array(64) }), /tensor 'blk\.0\.attn_norm\.weight' has shape \[16\], expected \[32\]/],
    ['a norm in f16', (c) => Object.assign(tensor(c, 'output_norm.weight'), { typeId: 1, data: new Uint8Array(64) }), /tensor 'output_norm\.weight' has type f16; it must be f32/],
    ['a weight in i32', (c) => Object.assign(tensor(c, 'blk.1.attn_q.weight'), { typeId: 26 }), /tensor 'blk\.1\.attn_q\.weight' has type i32, which the trainer cannot multiply by/],
    ['an unknown tensor type', (c) => Object.assign(tensor(c, 'blk.1.attn_q.weight'), { typeId: 200 }), /tensor 'blk\.1\.attn_q\.weight' has unknown or removed type id 200/],
    ['a missing tensor', (c) => void (tensor(c, 'blk.1.ffn_up.weight').name = 'blk.1.ffn_upper.weight'), /missing tensor 'blk\.1\.ffn_up\.weight'/],
    ['a duplicated tensor', (c) => void c.tensors.push({ ...tensor(c, 'output_norm.weight') }), /tensor 'output_norm\.weight' appears twice/],
    ['alignment not a power of two', set('general.alignment', u32(48)), /general\.alignment must be a power of two, got 48/],
    ['rope_freqs holding NaN', (c) => void c.tensors.push({ name: 'rope_freqs.weight', dims: [4], typeId: 0, data: new Uint8Array(new Float32Array([1, NaN, 1, 1]).buffer) }), /tensor 'rope_freqs\.weight' holds nan at index 1; RoPE frequency factors must be finite numbers above 0/],
  ];

  it('through Trainer.loadModel, in a child process that lives through them all', () => {
    const paths = cases.map(([name, edit]) => variant(name.replace(/\W+/g, '-'), content, edit));
    const { outcomes } = load([{ op: 'model', path: base }, ...paths.map((path) => ({ op: 'model' as const, path }))]);
    expect(outcomes[0], 'the unedited model loads').toMatchObject({ ok: true });
    cases.forEach(([name, , pattern], i) => {
      const { message } = refusal(outcomes[i + 1]);
      expect(message, name).toContain(paths[i]);
      expect(message, name).toMatch(pattern);
    });
  });

  it('headers that would size allocations from the file: counts and lengths bounded before anything is allocated', () => {
    const files: [string, RegExp][] = [
      [raw('kv-count', MAGIC, 3, 0n, 2n ** 40n), /not a valid GGUF file: the header declares 1099511627776 metadata keys; at most 4096 are supported/],
      [raw('tensor-count', MAGIC, 3, 2n ** 32n, 0n), /the header declares 4294967296 tensors; at most 16384 are supported/],
      [raw('key-length', MAGIC, 3, 0n, 1n, 2n ** 60n), /metadata key #0 is 1152921504606846976 bytes long; at most 256 are allowed/],
      [raw('array-length', MAGIC, 3, 0n, 1n, 'a.b', 9, 0, 2n ** 40n), /metadata key 'a\.b' holds an array of 1099511627776 u8 items, more than the rest of the file \(0 bytes\) can hold/],
      [raw('string-length', MAGIC, 3, 0n, 1n, 'general.name', 8, 2n ** 50n), /metadata key 'general\.name' holds a string of 1125899906842624 bytes, more than the rest of the file/],
      [raw('strings-array', MAGIC, 3, 0n, 1n, 'a.b', 9, 8, 2n ** 59n), /holds an array of 576460752303423488 str items/],
      [raw('tensor-name', MAGIC, 3, 1n, 0n, 'x'.repeat(64)), /the name of tensor #0 is 64 bytes long; at most 63 are allowed/],
      [raw('alignment', MAGIC, 3, 1n, 1n, 'general.alignment', 4, 2 ** 30, 'x', 1, 8n, 0, 0n), /the header ends at byte 90 but the tensor data would start past the end of the file/],
      [raw('data-past-end', MAGIC, 3, 1n, 0n, 'x', 1, 1_000_000n, 0, 0n, Buffer.alloc(32)), /file is truncated: tensor 'x' ends at byte 4000064 but the file has 89 bytes/],
      [raw('data-offset', MAGIC, 3, 1n, 0n, 'x', 1, 8n, 0, 64n, Buffer.alloc(128)), /tensor 'x' starts at data offset 64, expected 0/],
      [raw('version-1', MAGIC, 1, 0n, 0n), /GGUF version 1 is not supported/],
      [raw('not-gguf', Buffer.from('PK\x03\x04 a zip file')), /not a valid GGUF file: it does not start with the GGUF magic bytes/],
      [raw('empty'), /not a valid GGUF file: the file has only 0 bytes/],
    ];
    const { outcomes, maxRssBytes } = load(files.map(([path]) => ({ op: 'model', path })));
    files.forEach(([path, pattern], i) => {
      const { message } = refusal(outcomes[i]);
      expect(message).toContain(path);
      expect(message).toMatch(pattern);
    });
    expect(maxRssBytes).toBeLessThan(500 * 2 ** 20);
  });

  it.each([
    ['1e8', 100_000_000],
    ['2^32-1', 2 ** 32 - 1],
  ])('block_count %s is refused at once, without allocating for it', (_, count) => {
    const path = variant(`blocks-${count}`, content, set('llama.block_count', u32(count)));
    const { outcomes, maxRssBytes, wallMs } = load([{ op: 'model', path }]);
    const { message } = refusal(outcomes[0]);
    expect(message).toBe(`${path}: llama.block_count is ${count}; the layer count must be from 1 to 512`);
    expect(wallMs).toBeLessThan(10_000);
    expect(maxRssBytes).toBeLessThan(500 * 2 ** 20);
  });

  it('a file cut at any point is refused as truncated or invalid', () => {
    const size = statSync(base).size;
    const cuts = [...new Set([0, 1, 3, 4, 7, 8, 15, 16, 23, 24, 30, 40, 64, 100, 257, 1000, 4096, 50_000, 300_000, 600_000, ...Array.from({ length: 24 }, (_, i) => Math.floor(((i + 1) * size) / 25)), size - 1])].filter((n) => n < size);
    const paths = cuts.map((n) => {
      const path = join(dir.path, `cut-${n}.gguf`);
      copyFileSync(base, path);
      const fd = openSync(path, 'r+');
      ftruncateSync(fd, n);
      closeSync(fd);
      return path;
    });
    const { outcomes } = load(paths.map((path) => ({ op: 'model', path })));
    paths.forEach((path, i) => {
      const { message } = refusal(outcomes[i]);
      expect(message, `cut at ${cuts[i]}`).toContain(path);
      expect(message, `cut at ${cuts[i]}`).toMatch(/not a valid GGUF file|file is truncated/);
    });
  });

  it('a FIFO, a device and a folder are refused by what they are, never waited on', () => {
    const { outcomes, wallMs } = load(
      [
        { op: 'model', path: fifo },
        { op: 'model', path: '/dev/zero' },
        { op: 'model', path: dir.path },
        { op: 'adapter', model: base, path: fifo },
        { op: 'merge', model: fifo, adapter, out: join(dir.path, 'never.gguf') },
      ],
      20_000,
    );
    expect(refusal(outcomes[0]).message).toBe(`The model file ${fifo} is a named pipe (FIFO), not a regular file: only regular files are read.`);
    expect(refusal(outcomes[1]).message).toMatch(/The model file \/dev\/zero is a character device, not a regular file/);
    expect(refusal(outcomes[2]).message).toMatch(/is a folder, not a regular file/);
    expect(refusal(outcomes[3]).message).toBe(`The adapter ${fifo} is a named pipe (FIFO), not a regular file: only regular files are read.`);
    expect(refusal(outcomes[4]).message).toMatch(/pipe\.gguf is a named pipe \(FIFO\)/);
    expect(existsSync(join(dir.path, 'never.gguf'))).toBe(false);
    expect(wallMs).toBeLessThan(20_000);
  });

  it('thread counts: anything but 1 to 1024 is refused before a thread pool is sized by it', () => {
    const counts = [1e9, 0, -1, 1.5, 1025];
    const { outcomes } = load([
      ...counts.map((threads) => ({ op: 'model' as const, path: base, threads })),
      { op: 'merge', model: base, adapter, out: join(dir.path, 'merged-threads.gguf'), threads: 1e9 },
    ]);
    counts.forEach((threads, i) => expect(refusal(outcomes[i]).message).toBe(`threads must be a whole number from 1 to 1024, got ${threads}`));
    expect(refusal(outcomes[counts.length]).message).toBe('threads must be a whole number from 1 to 1024, got 1000000000');
  });
});

describe('a crafted adapter is refused, naming the file and the field', () => {
  const pair = (c: GgufContent, name: string, rank: number, nIn: number, nOut: number) => {
    Object.assign(tensor(c, `${name}.lora_a`), { dims: [nIn, rank], data: new Uint8Array(4 * nIn * rank) });
    Object.assign(tensor(c, `${name}.lora_b`), { dims: [rank, nOut], data: new Uint8Array(4 * rank * nOut) });
  };
  // The fourth field: whether a merge refuses it too (it takes a rank per pair, so two ranks are fine there).
  const cases: [string, (c: GgufContent) => void, RegExp, boolean?][] = [
    ['alpha NaN', set('adapter.lora.alpha', f32(NaN)), /adapter\.lora\.alpha is nan; it must be a finite number ≥ 0/],
    ['alpha negative', set('adapter.lora.alpha', f32(-1)), /adapter\.lora\.alpha is -1/],
    ['alpha a string', set('adapter.lora.alpha', { type: ValueType.String, value: '4' }), /metadata key 'adapter\.lora\.alpha' must be a number/],
    ['rank 0', (c) => pair(c, 'blk.0.attn_q.weight', 0, 32, 32), /tensor 'blk\.0\.attn_q\.weight\.lora_a' has rank 0; a LoRA rank must be from 1 to 65536/],
    ['two ranks', (c) => pair(c, 'blk.1.attn_q.weight', 3, 32, 32), /tensors have different ranks: blk\.0\.attn_q\.weight has rank 2, blk\.1\.attn_q\.weight rank 3/, false],
    ['a shape of another model', (c) => pair(c, 'blk.0.attn_q.weight', 2, 16, 32), /adapter was made for another model: blk\.0\.attn_q\.weight is \[32, 32\] but lora_a is \[16, 2\]/],
    ['NaN values', (c) => void (tensor(c, 'blk.1.ffn_down.weight.lora_b').data = new Uint8Array(new Float32Array(2 * 32).fill(NaN).buffer)), /tensor 'blk\.1\.ffn_down\.weight\.lora_b' holds NaN or infinite values/],
    ['an i32 tensor', (c) => Object.assign(tensor(c, 'blk.0.ffn_down.weight.lora_a'), { typeId: 26 }), /tensor blk\.0\.ffn_down\.weight\.lora_a has unsupported type i32/],
    ['a tensor of no weight', (c) => void c.tensors.push({ name: 'blk.9.attn_q.weight.lora_a', dims: [1], typeId: 0, data: new Uint8Array(4) }), /tensor 'blk\.9\.attn_q\.weight\.lora_a' matches no weight of this model/],
    ['only lora_a', (c) => void (c.tensors = c.tensors.filter((t) => t.name !== 'blk.1.attn_q.weight.lora_b')), /tensor blk\.1\.attn_q\.weight has only one of lora_a and lora_b/],
    ['another kind of file', set('general.type', { type: ValueType.String, value: 'model' }), /not a LoRA adapter/],
  ];

  it('through TrainerModel.loadAdapter and Trainer.mergeAdapter, in a child process', () => {
    const paths = cases.map(([name, edit]) => variant(`adapter-${name.replace(/\W+/g, '-')}`, adapterContent, edit));
    const out = (i: number) => join(dir.path, `merged-${i}.gguf`);
    const { outcomes } = load([
      { op: 'adapter', model: base, path: adapter },
      { op: 'merge', model: base, adapter, out: out(-1) },
      ...paths.map((path) => ({ op: 'adapter' as const, model: base, path })),
      ...paths.map((path, i) => ({ op: 'merge' as const, model: base, adapter: path, out: out(i) })),
    ]);
    expect(outcomes.slice(0, 2), 'the unedited adapter loads and merges').toMatchObject([{ ok: true }, { ok: true }]);
    cases.forEach(([name, , pattern, mergeRefuses = true], i) => {
      const { message } = refusal(outcomes[i + 2]);
      expect(message, name).toContain(paths[i]);
      expect(message, name).toMatch(pattern);
      if (!mergeRefuses) return void expect(outcomes[i + 2 + cases.length], `merge: ${name}`).toMatchObject({ ok: true });
      // The merge's own wording differs for some; it refuses each, naming the adapter, and leaves no file.
      const merged = refusal(outcomes[i + 2 + cases.length]);
      expect(merged.message, `merge: ${name}`).toContain(paths[i]);
      expect(existsSync(out(i)), `merge: ${name}`).toBe(false);
    });
  });
});

describe('the CLI answers a crafted model with an error, not a crash', () => {
  it('architect perplexity: epsilon NaN, and --threads 1e9', () => {
    const path = variant('cli-epsilon', content, set('llama.attention.layer_norm_rms_epsilon', f32(NaN)));
    const nan = runCli(['perplexity', '--model', path, '--text', 'a b c']);
    expect(nan.status, nan.stderr).toBe(1);
    expect(nan.stderr).toContain(`${path}: llama.attention.layer_norm_rms_epsilon is nan; it must be a finite number above 0 and below 1`);
    const threads = runCli(['perplexity', '--model', base, '--text', 'a b c', '--threads', '1000000000']);
    expect(threads.status, threads.stderr).toBe(1);
    expect(threads.stderr).toContain('threads must be a whole number from 1 to 1024, got 1000000000');
  });

  it('architect finetune: a negative RoPE base, and block_count 1e8', () => {
    const data = join(dir.path, 'train.jsonl');
    writeFileSync(data, MEMORISE.map((e) => JSON.stringify(e)).join('\n'));
    for (const [name, edit, expected] of [
      ['cli-rope', set('llama.rope.freq_base', f32(-10000)), 'llama.rope.freq_base is -10000; it must be a finite number above 0'],
      ['cli-blocks', set('llama.block_count', u32(100_000_000)), 'llama.block_count is 100000000; the layer count must be from 1 to 512'],
    ] as const) {
      const path = variant(name, content, edit);
      const out = join(dir.path, `${name}.lora.gguf`);
      const started = performance.now();
      const result = runCli(['finetune', '--model', path, '--data', data, '--out', out, '--threads', '1', '--epochs', '1']);
      expect(result.status, result.stderr).toBe(1);
      expect(result.stderr).toContain(`${path}: ${expected}`);
      expect(result.stderr).not.toMatch(/diverged|bad_alloc|GGML_ASSERT/);
      expect(performance.now() - started).toBeLessThan(30_000);
      expect(existsSync(out)).toBe(false);
    }
  });
});
