// Writes the fuzzer's seed corpus into a folder (argv[2]): fixture models and adapters from
// tests/helpers/tinyModel.ts, cut down to a 32-token vocabulary so each is a few kilobytes and the fuzzer's
// mutations stay fast. Generated at run time (native/fuzz/run.sh), never committed.
import { mkdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeTinyAdapter, writeTinyModel } from '../../tests/helpers/tinyModel';
import type { Quantizer, TinyModelSpec } from '../../tests/helpers/tinyModel';
import { Trainer } from '../index';
import { readGguf, withVocabulary, writeGgufContent } from './gguf-edit';

const VOCAB = 32;
const dir = process.argv[2];
if (!dir) throw new Error('usage: seeds.mjs <folder>');
mkdirSync(dir, { recursive: true });

/** The trainer's quantizer when it is built; F32 alone without it. */
function quantizer(): Quantizer {
  try {
    const trainer = Trainer.cpu();
    return (type, data, row) => trainer.quantize(type, data, row);
  } catch {
    return (type, data) => {
      if (type !== 'f32') throw new Error(`the trainer is not built, so only f32 seeds can be written (not ${type})`);
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    };
  }
}

const quantize = quantizer();
const specs: [string, TinyModelSpec][] = [
  ['model-f32', { type: 'f32', nEmbd: 16, nLayer: 1, nHead: 2, nHeadKv: 1, nFf: 32 }],
  ['model-q8_0', { type: 'q8_0', nEmbd: 32, nLayer: 1, nHead: 4, nHeadKv: 2, nFf: 64, tiedOutput: true }],
];
for (const [name, spec] of specs) {
  const full = join(dir, `${name}.full.gguf`);
  let written: Required<TinyModelSpec>;
  try {
    written = writeTinyModel(full, spec, quantize);
  } catch (error) {
    console.error(`seeds: skipping ${name}: ${(error as Error).message}`);
    continue;
  }
  writeGgufContent(join(dir, `${name}.gguf`), withVocabulary(readGguf(full), VOCAB));
  unlinkSync(full);
  writeTinyAdapter(join(dir, `${name}.lora.gguf`), written, { rank: 2, alpha: 4, targets: ['attn_q', 'attn_v', 'ffn_down'] });
}
console.log(`seeds: written to ${dir}`);
