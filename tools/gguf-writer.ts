import { closeSync, openSync, writeSync } from 'node:fs';

/**
 * Writes GGUF v3 files the way llama.cpp's gguf-py writer lays them out: header, metadata,
 * tensor infos, then the tensor data, each tensor aligned to 32 bytes.
 */
export type MetadataValue =
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'u32' | 'i32' | 'f32' | 'u64'; readonly value: number }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'strings'; readonly value: readonly string[] }
  | { readonly type: 'f32s'; readonly value: ArrayLike<number> }
  | { readonly type: 'i32s'; readonly value: ArrayLike<number> };

export interface TensorToWrite {
  readonly name: string;
  /** ggml type id */
  readonly type: number;
  /** fastest-varying first: a matrix is [cols, rows] */
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

const ALIGNMENT = 32;
const TYPE_ID = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10 } as const;

export const meta = {
  str: (value: string): MetadataValue => ({ type: 'string', value }),
  u32: (value: number): MetadataValue => ({ type: 'u32', value }),
  i32: (value: number): MetadataValue => ({ type: 'i32', value }),
  f32: (value: number): MetadataValue => ({ type: 'f32', value }),
  bool: (value: boolean): MetadataValue => ({ type: 'bool', value }),
  strs: (value: readonly string[]): MetadataValue => ({ type: 'strings', value }),
  f32s: (value: ArrayLike<number>): MetadataValue => ({ type: 'f32s', value }),
  i32s: (value: ArrayLike<number>): MetadataValue => ({ type: 'i32s', value }),
};

export function writeGguf(path: string, metadata: ReadonlyMap<string, MetadataValue>, tensors: readonly TensorToWrite[]): void {
  const head = new Builder();
  head.u32(0x46554747).u32(3).u64(tensors.length).u64(metadata.size);
  for (const [key, v] of metadata) {
    head.string(key);
    switch (v.type) {
      case 'string':
        head.u32(TYPE_ID.string).string(v.value);
        break;
      case 'bool':
        head.u32(TYPE_ID.bool).u8(v.value ? 1 : 0);
        break;
      case 'u32':
      case 'i32':
      case 'f32':
      case 'u64':
        head.u32(TYPE_ID[v.type]).scalar(v.type, v.value);
        break;
      case 'strings':
        head.u32(TYPE_ID.array).u32(TYPE_ID.string).u64(v.value.length);
        for (const s of v.value) head.string(s);
        break;
      case 'f32s':
      case 'i32s': {
        const type = v.type === 'f32s' ? 'f32' : 'i32';
        head.u32(TYPE_ID.array).u32(TYPE_ID[type]).u64(v.value.length);
        for (let i = 0; i < v.value.length; i++) head.scalar(type, v.value[i]);
        break;
      }
    }
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    head.string(t.name).u32(t.dims.length);
    for (const d of t.dims) head.u64(d);
    head.u32(t.type).u64(offset);
    offsets.push(offset);
    offset = align(offset + t.data.length);
  }
  const fd = openSync(path, 'w');
  try {
    const header = head.bytes();
    writeSync(fd, header);
    writeSync(fd, new Uint8Array(align(header.length) - header.length));
    tensors.forEach((t, i) => {
      writeSync(fd, t.data);
      const padded = (i + 1 < offsets.length ? offsets[i + 1] : offset) - offsets[i];
      writeSync(fd, new Uint8Array(padded - t.data.length));
    });
  } finally {
    closeSync(fd);
  }
}

function align(n: number): number {
  return Math.ceil(n / ALIGNMENT) * ALIGNMENT;
}

/** A growable little-endian byte buffer. */
class Builder {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  private length = 0;
  private readonly utf8 = new TextEncoder();

  u8(v: number): this {
    this.reserve(1).setUint8(this.length++, v);
    return this;
  }

  u32(v: number): this {
    return this.scalar('u32', v);
  }

  u64(v: number): this {
    return this.scalar('u64', v);
  }

  scalar(type: 'u32' | 'i32' | 'f32' | 'u64', v: number): this {
    const view = this.reserve(8);
    if (type === 'u32') view.setUint32(this.length, v, true);
    else if (type === 'i32') view.setInt32(this.length, v, true);
    else if (type === 'f32') view.setFloat32(this.length, v, true);
    else view.setBigUint64(this.length, BigInt(v), true);
    this.length += type === 'u64' ? 8 : 4;
    return this;
  }

  string(text: string): this {
    const bytes = this.utf8.encode(text);
    this.u64(bytes.length);
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  private reserve(n: number): DataView {
    if (this.length + n > this.buf.length) {
      const grown = new Uint8Array(Math.max(2 * this.buf.length, this.length + n));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
      this.view = new DataView(grown.buffer);
    }
    return this.view;
  }
}
