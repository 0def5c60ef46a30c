// Whole GGUF files as data, to edit and write back: the fuzzer's seeds (a fixture model cut to a small
// vocabulary) and the hostile-file tests (a fixture model with one field changed) are made this way.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { DEFAULT_ALIGNMENT, TENSOR_TYPES, ValueType } from '../../tests/helpers/gguf/format';
import type { MetaValue } from '../../tests/helpers/gguf/format';
import { readGgufHeader } from '../../tests/helpers/gguf/reader';
import { writeGguf } from '../../tests/helpers/gguf/writer';
import type { TensorToWrite } from '../../tests/helpers/gguf/writer';

export interface GgufContent {
  metadata: Map<string, MetaValue>;
  /** In file order, each with its bytes. */
  tensors: (TensorToWrite & { data: Uint8Array })[];
}

/** Stored bytes of a tensor of one of the fixtures' types (tests/helpers/gguf/format.ts). */
export function tensorBytes(typeId: number, dims: readonly number[]): number {
  const type = Object.values(TENSOR_TYPES).find((t) => t.id === typeId);
  if (!type) throw new Error(`type id ${typeId} is not one of the fixtures' types`);
  return (dims.reduce((a, b) => a * b, 1) / type.blockSize) * type.blockBytes;
}

const padded = (n: number) => n + ((DEFAULT_ALIGNMENT - (n % DEFAULT_ALIGNMENT)) % DEFAULT_ALIGNMENT);

/** A GGUF file written by tests/helpers/gguf/writer.ts (default alignment), read whole. */
export function readGguf(path: string): GgufContent {
  const { metadata, tensors } = readGgufHeader(path);
  // The writer pads every tensor, the last one too: the data section is the file's tail.
  const dataStart = statSync(path).size - tensors.reduce((sum, t) => sum + padded(tensorBytes(t.typeId, t.dims)), 0);
  const fd = openSync(path, 'r');
  try {
    return {
      metadata,
      tensors: tensors.map((t) => {
        const data = new Uint8Array(tensorBytes(t.typeId, t.dims));
        readSync(fd, data, 0, data.length, dataStart + Number(t.offset));
        return { name: t.name, dims: t.dims, typeId: t.typeId, data };
      }),
    };
  } finally {
    closeSync(fd);
  }
}

export function writeGgufContent(path: string, content: GgufContent): void {
  writeGguf(path, content.metadata, content.tensors);
}

/** A model with only its first `vocab` tokens: the tokenizer's arrays, llama.vocab_size and the embedding rows cut to match. */
export function withVocabulary(content: GgufContent, vocab: number): GgufContent {
  const metadata = new Map<string, MetaValue>();
  for (const [key, value] of content.metadata) {
    if (key === 'tokenizer.chat_template' || key === 'tokenizer.ggml.merges') continue;
    metadata.set(key, value.type === ValueType.Array && key.startsWith('tokenizer.') ? { ...value, value: value.value.slice(0, vocab) } : value);
  }
  metadata.set('llama.vocab_size', { type: ValueType.U32, value: vocab });
  const tensors = content.tensors.map((t) => {
    if (t.name !== 'token_embd.weight' && t.name !== 'output.weight') return t;
    const dims = [t.dims[0]!, vocab];
    return { ...t, dims, data: t.data.subarray(0, tensorBytes(t.typeId, dims)) };
  });
  return { metadata, tensors };
}
