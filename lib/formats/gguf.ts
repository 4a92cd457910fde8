import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { ModelLoadError } from './model-load-error.js';
import { ggmlTypeName, isKnownGgmlType, rowBytes, type GgmlType } from '../tensors/tensor-types.js';

/**
 * A reader for GGUF, the file format of llama.cpp (ggml/docs/gguf.md): a header, key-value
 * metadata, tensor infos, then the tensor data, aligned. This reads everything but the tensor
 * data, checking every count and length against the file's size so that a truncated or corrupt
 * file is refused with a message instead of reading garbage or allocating without bound.
 */

/** Value types of GGUF metadata (gguf.h's `enum gguf_type`). */
const enum ValueType {
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

/**
 * An array the reader stepped over without building it: strings of a key no model reads, or
 * arrays of arrays. Building every string of every key would let a small file take gigabytes
 * of heap (a million empty strings cost 8 bytes each in the file and tens in memory).
 */
export class SkippedArray {
  constructor(
    readonly elements: 'string' | 'array',
    readonly length: number,
  ) {}
}

/** Numeric and boolean arrays come back as typed arrays (token scores and types run to 150k entries), strings as string[]. */
export type GgufArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array | readonly string[] | SkippedArray;
export type GgufValue = number | bigint | boolean | string | GgufArray;

/** The string arrays a model is read from; any other key's strings are skipped. */
const STRING_ARRAY_KEYS = new Set(['tokenizer.ggml.tokens', 'tokenizer.ggml.merges']);
/** More entries than any vocabulary has (the largest have about 260,000 tokens and as many merges). */
const MAX_STRING_ARRAY = 1 << 21;
/** Real files hold tens of metadata keys and at most a few thousand tensors. */
const MAX_METADATA_KEYS = 1 << 16;
const MAX_TENSORS = 1 << 16;
const MAX_ARRAY_DEPTH = 8;

/** Bytes per element of GGUF's fixed-width array types. */
const WIDTHS: Readonly<Record<number, number>> = { [ValueType.U8]: 1, [ValueType.I8]: 1, [ValueType.Bool]: 1, [ValueType.U16]: 2, [ValueType.I16]: 2, [ValueType.U32]: 4, [ValueType.I32]: 4, [ValueType.F32]: 4, [ValueType.U64]: 8, [ValueType.I64]: 8, [ValueType.F64]: 8 };

export interface GgufTensorInfo {
  readonly name: string;
  readonly type: GgmlType;
  /** Sizes, fastest-varying first: a matrix is [cols, rows]. */
  readonly dims: readonly number[];
  /** Byte offset of the data from the start of the data section. */
  readonly offset: number;
  readonly byteLength: number;
}

export interface GgufFile {
  readonly path: string;
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  readonly tensors: readonly GgufTensorInfo[];
  readonly alignment: number;
  /** Byte offset of the data section in the file. */
  readonly dataOffset: number;
  readonly fileSize: number;
}

const MAGIC = 0x46554747; // "GGUF" little-endian
const DEFAULT_ALIGNMENT = 32;
const MAX_DIMS = 4;
const CHUNK = 1 << 20;

/** Reads the header, metadata and tensor infos of the GGUF file at `path`. */
export function readGguf(path: string): GgufFile {
  let fd: number;
  try {
    // a FIFO or a device would block the open, or the reads, forever
    if (!statSync(path).isFile()) throw new ModelLoadError(`${path} is not a regular file`);
    fd = openSync(path, 'r');
  } catch (err) {
    if (err instanceof ModelLoadError) throw err;
    throw new ModelLoadError(`cannot open ${path}: ${errnoSentence(err as NodeJS.ErrnoException)}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ModelLoadError(`${path} is not a regular file`);
    return parse(new FileCursor(fd, stat.size, path), path);
  } finally {
    closeSync(fd);
  }
}

/** An operating-system error as a person would say it. */
export function errnoSentence(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a folder, not a file';
    case 'ENOTDIR':
      return 'a part of the path is not a folder';
    case 'ELOOP':
      return 'too many symbolic links';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many files are open';
    default:
      return err.message;
  }
}

function parse(r: FileCursor, path: string): GgufFile {
  if (r.fileSize < 24) throw r.fail(`is ${r.fileSize} bytes long, too short for a GGUF header`);
  if (r.u32() !== MAGIC) throw r.fail('is not a GGUF file (its first four bytes are not "GGUF")');
  const version = r.u32();
  if (version !== 2 && version !== 3) throw r.fail(`is GGUF version ${version}; versions 2 and 3 are supported`);
  const numTensors = r.count('tensor count', 8);
  const numKv = r.count('metadata count', 12);
  if (numTensors > MAX_TENSORS) throw r.fail(`has ${numTensors} tensors; at most ${MAX_TENSORS} are supported`);
  if (numKv > MAX_METADATA_KEYS) throw r.fail(`has ${numKv} metadata keys; at most ${MAX_METADATA_KEYS} are supported`);

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < numKv; i++) {
    const key = r.string('a metadata key');
    if (metadata.has(key)) throw r.fail(`has the metadata key "${key}" twice`);
    metadata.set(key, r.value(r.u32(), key));
  }
  const alignment = metadata.get('general.alignment') ?? DEFAULT_ALIGNMENT;
  // checked in floating point: a u64 alignment past 2^32 would pass a 32-bit bit test
  if (typeof alignment !== 'number' || !Number.isInteger(alignment) || alignment < 1 || alignment > 2 ** 30 || 2 ** Math.round(Math.log2(alignment)) !== alignment) {
    throw r.fail(`has general.alignment ${String(alignment)}, which is not a power of two up to 2^30`);
  }

  const infos: { name: string; type: GgmlType; dims: number[]; offset: number }[] = [];
  const names = new Set<string>();
  for (let i = 0; i < numTensors; i++) {
    const name = r.string('a tensor name');
    if (names.has(name)) throw r.fail(`has the tensor "${name}" twice`);
    names.add(name);
    const numDims = r.u32();
    if (numDims < 1 || numDims > MAX_DIMS) throw r.fail(`gives tensor "${name}" ${numDims} dimensions (1 to ${MAX_DIMS} allowed)`);
    const dims: number[] = [];
    for (let d = 0; d < numDims; d++) {
      const size = r.u64AsNumber(`a dimension of tensor "${name}"`);
      if (size < 1) throw r.fail(`gives tensor "${name}" a dimension of ${size}`);
      dims.push(size);
    }
    const type = r.u32();
    if (!isKnownGgmlType(type)) throw r.fail(`gives tensor "${name}" the unknown type ${type}`);
    infos.push({ name, type, dims, offset: r.u64AsNumber(`the offset of tensor "${name}"`) });
  }
  const dataOffset = Math.ceil(r.position / alignment) * alignment;
  const dataBytes = r.fileSize - dataOffset;

  const tensors = infos.map(({ name, type, dims, offset }) => {
    const row = rowBytes(type, dims[0]);
    if (row === null) throw r.fail(`gives tensor "${name}" rows of ${dims[0]} values, not a whole number of ${ggmlTypeName(type)} blocks`);
    const byteLength = dims.slice(1).reduce((bytes, size) => bytes * size, row);
    if (offset % alignment !== 0) throw r.fail(`places tensor "${name}" at offset ${offset}, not a multiple of the alignment ${alignment}`);
    if (!Number.isSafeInteger(byteLength) || offset + byteLength > dataBytes) {
      throw r.fail(`is truncated or corrupt: tensor "${name}" needs bytes ${offset} to ${offset + byteLength} of the data section, which holds ${Math.max(0, dataBytes)}`);
    }
    return { name, type, dims, offset, byteLength };
  });
  // two tensors over the same bytes would each compute with the other's weights
  const byOffset = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const [before, after] = [byOffset[i - 1], byOffset[i]];
    if (before.offset + before.byteLength > after.offset) throw r.fail(`is corrupt: tensors "${before.name}" and "${after.name}" overlap in the data section`);
  }
  return { path, version, metadata, tensors, alignment, dataOffset, fileSize: r.fileSize };
}

/** Reads the file forward in 1 MiB chunks, bounding every length by what is left of the file. */
class FileCursor {
  private chunk = new Uint8Array(0);
  private view = new DataView(this.chunk.buffer);
  private chunkStart = 0;
  position = 0;
  private static readonly utf8 = new TextDecoder('utf-8', { fatal: true });

  constructor(
    private readonly fd: number,
    readonly fileSize: number,
    private readonly path: string,
  ) {}

  fail(problem: string): ModelLoadError {
    return new ModelLoadError(`${this.path} ${problem}`);
  }

  u32(): number {
    return this.at(4).getUint32(this.advance(4), true);
  }

  /** A u64 that must fit a JavaScript number. */
  u64AsNumber(what: string): number {
    const value = this.at(8).getBigUint64(this.advance(8), true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw this.fail(`is corrupt: ${what} is ${value}`);
    return Number(value);
  }

  /** A u64 count of items that each take at least `minBytes`, so that it cannot exceed the file. */
  count(what: string, minBytes: number): number {
    const n = this.u64AsNumber(what);
    if (n * minBytes > this.remaining) throw this.fail(`is truncated or corrupt: its ${what} is ${n}, more than the rest of the file can hold`);
    return n;
  }

  string(what: string): string {
    const length = this.count(`length of ${what}`, 1);
    const bytes = this.bytes(length);
    try {
      return FileCursor.utf8.decode(bytes);
    } catch {
      throw this.fail(`is corrupt: ${what} at byte ${this.position - length} is not valid UTF-8`);
    }
  }

  value(type: number, key: string): GgufValue {
    switch (type) {
      case ValueType.U8:
        return this.at(1).getUint8(this.advance(1));
      case ValueType.I8:
        return this.at(1).getInt8(this.advance(1));
      case ValueType.U16:
        return this.at(2).getUint16(this.advance(2), true);
      case ValueType.I16:
        return this.at(2).getInt16(this.advance(2), true);
      case ValueType.U32:
        return this.u32();
      case ValueType.I32:
        return this.at(4).getInt32(this.advance(4), true);
      case ValueType.F32:
        return this.at(4).getFloat32(this.advance(4), true);
      case ValueType.Bool:
        return this.at(1).getUint8(this.advance(1)) !== 0;
      case ValueType.String:
        return this.string(`the value of ${key}`);
      case ValueType.U64: {
        const v = this.at(8).getBigUint64(this.advance(8), true);
        return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case ValueType.I64: {
        const v = this.at(8).getBigInt64(this.advance(8), true);
        return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
      }
      case ValueType.F64:
        return this.at(8).getFloat64(this.advance(8), true);
      case ValueType.Array:
        return this.array(key);
      default:
        throw this.fail(`is corrupt: metadata key "${key}" has the unknown value type ${type}`);
    }
  }

  /** An array value; one that no model reads (see SkippedArray) is stepped over. */
  private array(key: string): GgufArray {
    const type = this.u32();
    const width = WIDTHS[type];
    if (width !== undefined) {
      const n = this.count(`array length of ${key}`, width);
      const bytes = this.bytes(n * width).slice(); // aligned copy, so a typed array can view it
      const buffer = bytes.buffer;
      switch (type) {
        case ValueType.U8:
        case ValueType.Bool: // 0 or not, a byte each: as compact as in the file
          return bytes;
        case ValueType.I8:
          return new Int8Array(buffer);
        case ValueType.U16:
          return new Uint16Array(buffer);
        case ValueType.I16:
          return new Int16Array(buffer);
        case ValueType.U32:
          return new Uint32Array(buffer);
        case ValueType.I32:
          return new Int32Array(buffer);
        case ValueType.F32:
          return new Float32Array(buffer);
        case ValueType.U64:
          return new BigUint64Array(buffer);
        case ValueType.I64:
          return new BigInt64Array(buffer);
        default:
          return new Float64Array(buffer);
      }
    }
    if (type === ValueType.String && STRING_ARRAY_KEYS.has(key)) {
      const n = this.count(`array length of ${key}`, 8);
      if (n > MAX_STRING_ARRAY) throw this.fail(`has ${n} entries in ${key}; at most ${MAX_STRING_ARRAY} are supported`);
      const out = new Array<string>(n);
      for (let i = 0; i < n; i++) out[i] = this.string(`entry ${i} of ${key}`);
      return out;
    }
    if (type === ValueType.String || type === ValueType.Array) return new SkippedArray(type === ValueType.String ? 'string' : 'array', this.skipArray(type, key, 0));
    throw this.fail(`is corrupt: the array "${key}" has the unknown element type ${type}`);
  }

  /** Steps over an array of `type` (its length next), checking every length; returns its length. */
  private skipArray(type: number, key: string, depth: number): number {
    if (depth > MAX_ARRAY_DEPTH) throw this.fail(`nests arrays more than ${MAX_ARRAY_DEPTH} deep under ${key}`);
    const width = WIDTHS[type];
    const n = this.count(`array length of ${key}`, width ?? (type === ValueType.String ? 8 : 12));
    if (width !== undefined) this.skip(n * width);
    else if (type === ValueType.String) for (let i = 0; i < n; i++) this.skip(this.count(`length of entry ${i} of ${key}`, 1));
    else if (type === ValueType.Array) for (let i = 0; i < n; i++) this.skipArray(this.u32(), key, depth + 1);
    else throw this.fail(`is corrupt: the array "${key}" has the unknown element type ${type}`);
    return n;
  }

  /** Moves past `n` bytes without keeping them. */
  private skip(n: number): void {
    if (n > this.remaining) throw this.truncated();
    this.position += n;
  }

  private get remaining(): number {
    return this.fileSize - this.position;
  }

  /** `n` bytes from the current position, valid until the next read. */
  private bytes(n: number): Uint8Array {
    if (n > this.remaining) throw this.truncated();
    if (n > CHUNK) {
      const out = new Uint8Array(n);
      if (readSync(this.fd, out, 0, n, this.position) !== n) throw this.truncated();
      this.position += n;
      return out;
    }
    this.at(n);
    const start = this.position - this.chunkStart;
    this.position += n;
    return this.chunk.subarray(start, start + n);
  }

  /** A view holding at least `n` bytes from the current position. */
  private at(n: number): DataView {
    if (n > this.remaining) throw this.truncated();
    if (this.position + n > this.chunkStart + this.chunk.length) {
      const size = Math.min(Math.max(CHUNK, n), this.remaining);
      this.chunk = new Uint8Array(size);
      if (readSync(this.fd, this.chunk, 0, size, this.position) !== size) throw this.truncated();
      this.view = new DataView(this.chunk.buffer);
      this.chunkStart = this.position;
    }
    return this.view;
  }

  /** Moves past `n` bytes; returns where they start in the current view. */
  private advance(n: number): number {
    const at = this.position - this.chunkStart;
    this.position += n;
    return at;
  }

  private truncated(): ModelLoadError {
    return this.fail(`is truncated: it ends at byte ${this.fileSize}, in the middle of its header`);
  }
}

/** Copies the data of `tensors` (laid out as in the file) into `target`, straight from the file. */
export function readTensorData(file: GgufFile, target: Uint8Array): void {
  let end = 0;
  for (const t of file.tensors) end = Math.max(end, t.offset + t.byteLength);
  if (target.length < end) throw new RangeError(`the target holds ${target.length} bytes; the tensor data needs ${end}`);
  const fd = openSync(file.path, 'r');
  try {
    // 64 MiB at a time: a single read is capped near 2 GiB, and smaller reads keep progress steady
    for (let done = 0; done < end; ) {
      const n = readSync(fd, target, done, Math.min(64 << 20, end - done), file.dataOffset + done);
      if (n <= 0) throw new ModelLoadError(`${file.path} is truncated: it ended while its tensor data was read`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}
