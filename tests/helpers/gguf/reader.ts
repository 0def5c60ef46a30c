import { closeSync, openSync, readSync } from 'node:fs';
import { GGUF_MAGIC, ValueType } from './format';
import type { MetaValue, TensorInfo } from './format';

/** Reads a GGUF file's metadata and tensor table (not the tensor data). */
export function readGgufHeader(path: string): { version: number; metadata: Map<string, MetaValue>; tensors: TensorInfo[] } {
  const fd = openSync(path, 'r');
  try {
    const reader = new ChunkReader(fd);
    if (reader.u32() !== GGUF_MAGIC) throw new Error(`${path}: not a GGUF file`);
    const version = reader.u32();
    const tensorCount = Number(reader.u64());
    const kvCount = Number(reader.u64());
    const metadata = new Map<string, MetaValue>();
    for (let i = 0; i < kvCount; i++) {
      const key = reader.string();
      metadata.set(key, reader.value(reader.u32()));
    }
    const tensors: TensorInfo[] = [];
    for (let i = 0; i < tensorCount; i++) {
      const name = reader.string();
      const nDims = reader.u32();
      const dims = Array.from({ length: nDims }, () => Number(reader.u64()));
      tensors.push({ name, dims, typeId: reader.u32(), offset: reader.u64() });
    }
    return { version, metadata, tensors };
  } finally {
    closeSync(fd);
  }
}

class ChunkReader {
  private buffer = Buffer.alloc(0);
  private pos = 0;
  private filePos = 0;
  constructor(private readonly fd: number) {}

  private need(n: number): void {
    if (this.pos + n <= this.buffer.length) return;
    const rest = this.buffer.subarray(this.pos);
    const chunk = Buffer.alloc(Math.max(n, 1 << 20));
    const read = readSync(this.fd, chunk, 0, chunk.length, this.filePos);
    this.filePos += read;
    this.buffer = Buffer.concat([rest, chunk.subarray(0, read)]);
    this.pos = 0;
    if (this.buffer.length < n) throw new Error('unexpected end of GGUF file');
  }

  u32(): number {
    this.need(4);
    const v = this.buffer.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.buffer.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  string(): string {
    const length = Number(this.u64());
    this.need(length);
    const s = this.buffer.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return s;
  }

  private scalar(type: ValueType): number | bigint | string | boolean {
    const sizes: Partial<Record<ValueType, number>> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
    if (type === ValueType.String) return this.string();
    const size = sizes[type];
    if (size === undefined) throw new Error(`unknown GGUF value type ${type}`);
    this.need(size);
    const b = this.buffer;
    const p = this.pos;
    this.pos += size;
    switch (type) {
      case ValueType.U8: return b.readUInt8(p);
      case ValueType.I8: return b.readInt8(p);
      case ValueType.U16: return b.readUInt16LE(p);
      case ValueType.I16: return b.readInt16LE(p);
      case ValueType.U32: return b.readUInt32LE(p);
      case ValueType.I32: return b.readInt32LE(p);
      case ValueType.F32: return b.readFloatLE(p);
      case ValueType.Bool: return b.readUInt8(p) !== 0;
      case ValueType.U64: return b.readBigUInt64LE(p);
      case ValueType.I64: return b.readBigInt64LE(p);
      default: return b.readDoubleLE(p);
    }
  }

  value(type: ValueType): MetaValue {
    if (type === ValueType.Array) {
      const itemType = this.u32() as ValueType;
      const n = Number(this.u64());
      const value = Array.from({ length: n }, () => this.scalar(itemType));
      return { type, itemType, value };
    }
    return { type, value: this.scalar(type) } as MetaValue;
  }
}
