import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_VERSION, ValueType } from './format';
import type { MetaValue } from './format';

/** Bytes made only when written, so a multi-gigabyte model never sits in memory whole. */
export interface LazyBytes {
  readonly byteLength: number;
  produce(): Uint8Array;
}

export interface TensorToWrite {
  name: string;
  /** ggml order: dims[0] is the row length. */
  dims: number[];
  typeId: number;
  data: Uint8Array | LazyBytes;
}

const byteLength = (data: Uint8Array | LazyBytes) => data.byteLength;

/** Writes a GGUF v3 file (to a temporary name, then renamed into place). */
export function writeGguf(path: string, metadata: Map<string, MetaValue>, tensors: TensorToWrite[], alignment = DEFAULT_ALIGNMENT): void {
  const parts: Buffer[] = [];
  const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(b); };
  const u64 = (v: number | bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(b); };
  const str = (s: string) => { const b = Buffer.from(s, 'utf8'); u64(b.length); parts.push(b); };
  const scalar = (type: ValueType, v: number | bigint | string | boolean) => {
    if (type === ValueType.String) return str(String(v));
    const sizes: Partial<Record<ValueType, number>> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
    const b = Buffer.alloc(sizes[type] ?? 0);
    switch (type) {
      case ValueType.U8: b.writeUInt8(Number(v)); break;
      case ValueType.I8: b.writeInt8(Number(v)); break;
      case ValueType.U16: b.writeUInt16LE(Number(v)); break;
      case ValueType.I16: b.writeInt16LE(Number(v)); break;
      case ValueType.U32: b.writeUInt32LE(Number(v)); break;
      case ValueType.I32: b.writeInt32LE(Number(v)); break;
      case ValueType.F32: b.writeFloatLE(Number(v)); break;
      case ValueType.Bool: b.writeUInt8(v ? 1 : 0); break;
      case ValueType.U64: b.writeBigUInt64LE(BigInt(v)); break;
      case ValueType.I64: b.writeBigInt64LE(BigInt(v)); break;
      case ValueType.F64: b.writeDoubleLE(Number(v)); break;
      default: throw new Error(`cannot write GGUF value type ${type}`);
    }
    parts.push(b);
  };

  u32(GGUF_MAGIC);
  u32(GGUF_VERSION);
  u64(tensors.length);
  u64(metadata.size);
  for (const [key, meta] of metadata) {
    str(key);
    u32(meta.type);
    if (meta.type === ValueType.Array) {
      u32(meta.itemType);
      u64(meta.value.length);
      for (const item of meta.value) scalar(meta.itemType, item);
    } else {
      scalar(meta.type, meta.value);
    }
  }
  const pad = (n: number) => (alignment - (n % alignment)) % alignment;
  let offset = 0;
  for (const t of tensors) {
    str(t.name);
    u32(t.dims.length);
    for (const d of t.dims) u64(d);
    u32(t.typeId);
    u64(offset);
    offset += byteLength(t.data) + pad(byteLength(t.data));
  }
  const header = Buffer.concat(parts);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, header);
    writeSync(fd, Buffer.alloc(pad(header.length)));
    for (const t of tensors) {
      const bytes = t.data instanceof Uint8Array ? t.data : t.data.produce();
      if (bytes.byteLength !== byteLength(t.data)) throw new Error(`${t.name}: produced ${bytes.byteLength} bytes, announced ${byteLength(t.data)}`);
      writeSync(fd, bytes);
      writeSync(fd, Buffer.alloc(pad(bytes.byteLength)));
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
