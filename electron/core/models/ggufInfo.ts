import { GgmlType, GgufFileType, readGgufFileInfo } from 'node-llama-cpp';
import type { GgufFileInfo, GgufTensorInfo } from 'node-llama-cpp';
import type { ModelShape } from '../../../shared/contract/models';
import { AppError } from '../../../shared/errors';
import { heldPath, openRegularFile } from '../files';
import type { FileRef } from '../files';

/** What the app needs to know about a model file, from its GGUF header (the weights are not read). */
export interface ModelFileInfo {
  readonly path: string;
  readonly sizeBytes: number;
  /** general.architecture, e.g. "llama". */
  readonly architecture: string;
  /** general.file_type in words, e.g. "MOSTLY_Q4_K_M". */
  readonly fileType: string;
  /** general.name, when the file has one. */
  readonly name: string | null;
  /** Null when the header lacks one of the fields. */
  readonly shape: ModelShape | null;
  /** Whether our trainer (native/src/model.cpp) takes this file; `trainReason` says why not. */
  readonly trainable: boolean;
  readonly trainReason: string | null;
}

/** The architecture our trainer trains. */
export const TRAINABLE_ARCHITECTURE = 'llama';

// Large tokenizer arrays are skipped: the header is read for its shape, not its vocabulary.
const IGNORE_KEYS = ['tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type', 'tokenizer.ggml.merges'];

/** ggml's block size and bytes per block, for the types model files use (others skip the size check). */
const TYPE_SIZES: Partial<Record<GgmlType, readonly [block: number, bytes: number]>> = {
  [GgmlType.F32]: [1, 4],
  [GgmlType.F16]: [1, 2],
  [GgmlType.BF16]: [1, 2],
  [GgmlType.F64]: [1, 8],
  [GgmlType.I8]: [1, 1],
  [GgmlType.I16]: [1, 2],
  [GgmlType.I32]: [1, 4],
  [GgmlType.I64]: [1, 8],
  [GgmlType.Q4_0]: [32, 18],
  [GgmlType.Q4_1]: [32, 20],
  [GgmlType.Q5_0]: [32, 22],
  [GgmlType.Q5_1]: [32, 24],
  [GgmlType.Q8_0]: [32, 34],
  [GgmlType.Q8_1]: [32, 36],
  [GgmlType.Q2_K]: [256, 84],
  [GgmlType.Q3_K]: [256, 110],
  [GgmlType.Q4_K]: [256, 144],
  [GgmlType.Q5_K]: [256, 176],
  [GgmlType.Q6_K]: [256, 210],
  [GgmlType.Q8_K]: [256, 292],
  [GgmlType.IQ2_XXS]: [256, 66],
  [GgmlType.IQ2_XS]: [256, 74],
  [GgmlType.IQ3_XXS]: [256, 98],
  [GgmlType.IQ1_S]: [256, 50],
  [GgmlType.IQ4_NL]: [32, 18],
  [GgmlType.IQ3_S]: [256, 110],
  [GgmlType.IQ2_S]: [256, 82],
  [GgmlType.IQ4_XS]: [256, 136],
  [GgmlType.IQ1_M]: [256, 56],
  [GgmlType.TQ1_0]: [256, 54],
  [GgmlType.TQ2_0]: [256, 66],
  [GgmlType.MXFP4]: [32, 17],
};

/**
 * node-llama-cpp's readGgufFileInfo on a regular file only (files.ts: a FIFO, a device or a folder is refused by
 * name, as an AppError on `ref.field`), read through the descriptor that was checked: the reader opens the path
 * again for each read, and a FIFO put at the name meanwhile would block that open. A header that does not parse
 * rejects with the reader's own error, for the caller to phrase. `size` is the file's when it was opened.
 */
export async function readGgufHeader(path: string, ref: FileRef, options: { readTensorInfo?: boolean; ignoreKeys?: string[] } = {}): Promise<{ info: GgufFileInfo; size: number }> {
  const opened = await openRegularFile(path, ref);
  const held = heldPath(opened.path, opened.handle.fd);
  try {
    const info = await readGgufFileInfo(held, { sourceType: 'filesystem', logWarnings: false, spliceSplitFiles: false, ...options });
    return { info, size: opened.size };
  } catch (error) {
    // Its messages name the file by the path it was given: the user's, not /proc/self/fd/N.
    if (error instanceof Error && held !== opened.path) error.message = error.message.split(held).join(opened.path);
    throw error;
  } finally {
    await opened.handle.close();
  }
}

/**
 * Reads a model file's header with node-llama-cpp's own reader and checks that it is a whole GGUF
 * model: a regular file (files.ts), the GGUF signature, an architecture, weights, and every tensor's bytes
 * inside the file (a truncated download is caught here). Anything else is refused with the reason and the
 * path, as an `invalid_arguments` error on `field` (a missing file: `not_found`).
 */
export async function readModelFile(path: string, field = 'args.path'): Promise<ModelFileInfo> {
  const refuse = (reason: string) => new AppError('invalid_arguments', `${path} is not a usable GGUF model: ${reason}.`, { field });
  let info: GgufFileInfo;
  let size: number;
  try {
    ({ info, size } = await readGgufHeader(path, { field, what: 'The model file' }, { ignoreKeys: IGNORE_KEYS }));
  } catch (error) {
    if (error instanceof AppError) throw error;
    const message = (error as Error).message ?? String(error);
    if ((error as Error).name === 'InvalidGgufMagicError' || /magic/i.test(message)) throw refuse('it does not start with the GGUF signature (another format, or not a model at all)');
    throw refuse(`its header cannot be read (${message.slice(0, 200)}); the file may be truncated or damaged`);
  }
  const metadata = info.metadata as unknown as Record<string, unknown> & { general?: Record<string, unknown> };
  const general = metadata.general ?? {};
  const architecture = typeof general.architecture === 'string' ? general.architecture : '';
  if (architecture === '') throw refuse('its header names no architecture (general.architecture)');
  if (general.type === 'adapter') throw refuse('it is a LoRA adapter, not a base model');
  const tensors = info.fullTensorInfo ?? info.tensorInfo ?? [];
  if (tensors.length === 0) throw refuse('it holds no weights (a vocabulary-only or empty GGUF)');
  const end = dataEnd(info, tensors);
  if (end > size) throw refuse(`the file is truncated: its tensors need ${end} bytes but it has ${size}`);

  const shape = shapeOf(info, tensors);
  const { trainable, reason } = trainability(architecture, shape, info);
  return {
    path,
    sizeBytes: size,
    architecture,
    fileType: fileTypeName(general.file_type, tensors),
    name: typeof general.name === 'string' && general.name.trim() !== '' ? general.name.trim() : null,
    shape,
    trainable,
    trainReason: reason,
  };
}

/** Where the last tensor's bytes end (the header, its padding and the data); unknown types count from their offset. */
function dataEnd(info: GgufFileInfo, tensors: readonly GgufTensorInfo[]): number {
  let end = info.infoEndOffset ?? 0;
  for (const t of tensors) {
    const offset = Number(t.fileOffset ?? t.offset);
    const size = TYPE_SIZES[t.ggmlType];
    let bytes = 0;
    if (size) {
      const count = t.dimensions.reduce<number>((a, d) => a * Number(d), 1);
      bytes = (count / size[0]) * size[1];
    }
    end = Math.max(end, offset + bytes);
  }
  return end;
}

function shapeOf(info: GgufFileInfo, tensors: readonly GgufTensorInfo[]): ModelShape | null {
  const arch = info.architectureMetadata as unknown as Record<string, unknown> & { attention?: Record<string, unknown> };
  const positive = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : typeof v === 'bigint' && v > 0n ? Number(v) : undefined);
  const heads = positive(arch?.attention?.head_count);
  const embedding = tensors.find((t) => t.name === 'token_embd.weight');
  const shape = {
    layers: positive(arch?.block_count),
    width: positive(arch?.embedding_length),
    heads,
    kvHeads: positive(arch?.attention?.head_count_kv) ?? heads,
    feedForward: positive(arch?.feed_forward_length),
    vocabulary: positive(arch?.vocab_size) ?? (embedding ? positive(Number(embedding.dimensions[1])) : undefined),
    contextLength: positive(arch?.context_length),
  };
  return Object.values(shape).every((v) => v !== undefined) ? (shape as ModelShape) : null;
}

function trainability(architecture: string, shape: ModelShape | null, info: GgufFileInfo): { trainable: boolean; reason: string | null } {
  const no = (why: string) => ({ trainable: false, reason: `generation only: ${why}` });
  if (architecture !== TRAINABLE_ARCHITECTURE) return no(`architecture ${architecture} — our trainer trains llama-family models`);
  if (!shape) return no('the header lacks a llama.* shape field (block_count, embedding_length, attention.head_count, feed_forward_length or context_length) that the trainer needs');
  if (shape.width % shape.heads !== 0) return no('embedding_length is not a multiple of attention.head_count');
  if (shape.heads % shape.kvHeads !== 0) return no('attention.head_count is not a multiple of attention.head_count_kv');
  const arch = info.architectureMetadata as unknown as { rope?: { dimension_count?: unknown; scaling?: { type?: unknown; factor?: unknown } } };
  const rotary = arch.rope?.dimension_count;
  if (typeof rotary === 'number' && rotary !== shape.width / shape.heads) return no('rope.dimension_count differs from the head size');
  const scaling = typeof arch.rope?.scaling?.type === 'string' ? arch.rope.scaling.type : 'none';
  const factor = typeof arch.rope?.scaling?.factor === 'number' ? arch.rope.scaling.factor : 0;
  if (scaling !== 'none' && scaling !== 'linear' && factor > 0 && factor !== 1) return no(`RoPE scaling "${scaling}" is not supported by the trainer yet (none and linear are)`);
  return { trainable: true, reason: null };
}

function fileTypeName(fileType: unknown, tensors: readonly GgufTensorInfo[]): string {
  if (typeof fileType === 'number' && GgufFileType[fileType] !== undefined) return GgufFileType[fileType]!;
  if (typeof fileType === 'number') return `file type ${fileType}`;
  // No general.file_type: name the type most weights are stored in.
  const counts = new Map<GgmlType, number>();
  for (const t of tensors) if (t.dimensions.length >= 2) counts.set(t.ggmlType, (counts.get(t.ggmlType) ?? 0) + 1);
  const top = [...counts].sort((a, b) => b[1] - a[1])[0];
  return top ? `MOSTLY_${GgmlType[top[0]] ?? top[0]}` : 'unknown';
}
