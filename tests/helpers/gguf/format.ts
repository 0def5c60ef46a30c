// GGUF v3 as llama.cpp writes it (ggml/include/gguf.h): header, metadata key-values, tensor infos, aligned data.

export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
export const GGUF_VERSION = 3;
export const DEFAULT_ALIGNMENT = 32;

export enum ValueType {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
}

/** A metadata value with its stored type, so a copy keeps the exact encoding. */
export type MetaValue =
  | { type: Exclude<ValueType, ValueType.String | ValueType.Array | ValueType.Bool>; value: number | bigint }
  | { type: ValueType.Bool; value: boolean }
  | { type: ValueType.String; value: string }
  | { type: ValueType.Array; itemType: ValueType; value: (number | bigint | string | boolean)[] };

/** ggml tensor types used by the fixtures, with their ggml ids and block geometry. */
export const TENSOR_TYPES = {
  f32: { id: 0, blockSize: 1, blockBytes: 4 },
  f16: { id: 1, blockSize: 1, blockBytes: 2 },
  q4_0: { id: 2, blockSize: 32, blockBytes: 18 },
  q8_0: { id: 8, blockSize: 32, blockBytes: 34 },
  q4_K: { id: 12, blockSize: 256, blockBytes: 144 },
} as const;
export type TensorType = keyof typeof TENSOR_TYPES;

export interface TensorInfo {
  name: string;
  /** ggml order: ne[0] is the row length. */
  dims: number[];
  typeId: number;
  /** Offset of the data from the start of the data section. */
  offset: bigint;
}
