// Tiny GGUF models for the end-to-end tests: random F32 weights (no quantizer, so no native addon), the real
// llama vocabulary, tied output; about 8 MB. A random-weight model writes gibberish, quickly.
import { runCli } from './cli';
import { writeServedModel } from './modelServer';
import type { ServedModel } from './modelServer';
import type { TinyModelSpec } from './tinyModel';

export const E2E_MODEL: Omit<TinyModelSpec, 'type'> = { tiedOutput: true, contextLength: 1024, seed: 3 };

/** Writes the tiny model to `dir/name`. */
export function writeE2eModel(dir: string, name = 'tiny-e2e.gguf', spec: Omit<TinyModelSpec, 'type'> = E2E_MODEL): ServedModel {
  return writeServedModel(dir, name, spec);
}

/** Registers a GGUF file in a data folder through the real CLI (`architect models import FILE --json`); returns its id. */
export function importModel(dataDir: string, path: string): { id: number; name: string } {
  const result = runCli(['models', 'import', path, '--json', '--data-dir', dataDir]);
  if (result.status !== 0) throw new Error(`architect models import ${path} exited with ${result.status}:\n${result.stdout}\n${result.stderr}`);
  const model = JSON.parse(result.stdout) as { id: number; name: string };
  return { id: model.id, name: model.name };
}
