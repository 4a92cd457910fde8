/**
 * Little-endian field encoding for the records that cross threads. The writer grows a scratch
 * buffer that is reused across records; the reader walks a view of one record.
 */
export class ByteWriter {
  private bytes = new Uint8Array(256);
  private view = new DataView(this.bytes.buffer);
  private offset = 0;
  private readonly utf8 = new TextEncoder();

  reset(): this {
    this.offset = 0;
    return this;
  }

  /** The bytes written since reset(); valid until the next write. */
  get written(): Uint8Array {
    return this.bytes.subarray(0, this.offset);
  }

  u8(v: number): this {
    this.reserve(1).setUint8(this.offset++, v);
    return this;
  }

  u32(v: number): this {
    this.reserve(4).setUint32(this.offset, v, true);
    this.offset += 4;
    return this;
  }

  f64(v: number): this {
    this.reserve(8).setFloat64(this.offset, v, true);
    this.offset += 8;
    return this;
  }

  f32(v: number): this {
    this.reserve(4).setFloat32(this.offset, v, true);
    this.offset += 4;
    return this;
  }

  i64(v: bigint): this {
    this.reserve(8).setBigInt64(this.offset, v, true);
    this.offset += 8;
    return this;
  }

  /** u32 count, then each value as u32. */
  u32Array(values: ArrayLike<number>): this {
    this.u32(values.length);
    const view = this.reserve(4 * values.length);
    for (let i = 0; i < values.length; i++) view.setUint32(this.offset + 4 * i, values[i], true);
    this.offset += 4 * values.length;
    return this;
  }

  /** u32 byte length, then UTF-8. */
  string(text: string): this {
    const encoded = this.utf8.encode(text);
    this.u32(encoded.length);
    this.reserve(encoded.length);
    this.bytes.set(encoded, this.offset);
    this.offset += encoded.length;
    return this;
  }

  private reserve(n: number): DataView {
    if (this.offset + n > this.bytes.length) {
      let size = this.bytes.length * 2;
      while (size < this.offset + n) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.bytes.subarray(0, this.offset));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    return this.view;
  }
}

export class ByteReader {
  private readonly view: DataView;
  private offset = 0;
  private static readonly utf8 = new TextDecoder();

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u8(): number {
    return this.view.getUint8(this.offset++);
  }

  u32(): number {
    const v = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return v;
  }

  f64(): number {
    const v = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return v;
  }

  f32(): number {
    const v = this.view.getFloat32(this.offset, true);
    this.offset += 4;
    return v;
  }

  i64(): bigint {
    const v = this.view.getBigInt64(this.offset, true);
    this.offset += 8;
    return v;
  }

  u32Array(): number[] {
    const n = this.u32();
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = this.view.getUint32(this.offset + 4 * i, true);
    this.offset += 4 * n;
    return out;
  }

  string(): string {
    const n = this.u32();
    // TextDecoder refuses views of shared memory, so the bytes are copied out first
    const text = ByteReader.utf8.decode(this.bytes.slice(this.offset, this.offset + n));
    this.offset += n;
    return text;
  }
}
