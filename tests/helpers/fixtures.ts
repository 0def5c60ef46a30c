import { join } from 'node:path';
import type { TensorType } from './gguf/format';
import { makeTempDir } from './tempDir';
import { writeTinyAdapter, writeTinyModel } from './tinyModel';
import type { Quantizer, TinyModelSpec } from './tinyModel';

/** The fixture models the trainer is tested on, one per stored weight type. */
export const FIXTURES: Record<TensorType, TinyModelSpec> = {
  f32: { type: 'f32' },
  f16: { type: 'f16', tiedOutput: true },
  q8_0: { type: 'q8_0' },
  q4_0: { type: 'q4_0', tiedOutput: true },
  q4_K: { type: 'q4_K' },
};

/** Writes fixture models into one temporary folder per test file, on first use. */
export function fixtureFolder(quantize: Quantizer) {
  const dir = makeTempDir('architect-models-');
  const models = new Map<string, { path: string; spec: Required<TinyModelSpec> }>();
  return {
    dir: dir.path,
    model(name: string, spec: TinyModelSpec) {
      let entry = models.get(name);
      if (!entry) {
        const path = join(dir.path, `${name}.gguf`);
        entry = { path, spec: writeTinyModel(path, spec, quantize) };
        models.set(name, entry);
      }
      return entry;
    },
    adapter(name: string, model: Required<TinyModelSpec>, targets: readonly string[], rank = 4, alpha = 8) {
      const path = join(dir.path, `${name}.lora.gguf`);
      writeTinyAdapter(path, model, { rank, alpha, targets });
      return path;
    },
    remove: () => dir.remove(),
  };
}

/** A fixed English text of about 64 tokens in the llama vocabulary. */
export const SAMPLE_TEXT =
  'An entity relationship diagram shows the tables of a system and how they relate: a customer places many ' +
  'orders, each order holds one or more line items, and every line item refers to exactly one product in stock. ' +
  'The API exposes these resources over HTTP with pagination, filtering and clear error codes for clients, and every response body is documented as JSON with examples.';
