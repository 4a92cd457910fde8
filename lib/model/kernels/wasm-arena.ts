const PAGE = 65536;
/** Memory is grown in chunks of at least this much, so that small allocations do not each cost a grow. */
const MIN_CHUNK = 16 << 20;

/** The start of a shared memory that belongs to the module itself; nothing of ours goes there. */
export const RESERVED_BYTES = PAGE;

/** The largest shared memory a 32-bit WebAssembly module can address: 65,536 pages, 4 GiB. */
export const MAX_PAGES = 65536;

/** A shared memory big enough for `bytes` after the reserved start, growable to 4 GiB. */
export function createSharedMemory(bytes: number): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: Math.ceil((RESERVED_BYTES + bytes) / PAGE), maximum: MAX_PAGES, shared: true });
}

/**
 * Hands out 16-byte-aligned pieces of a shared WebAssembly memory to one engine. It grows the
 * memory in chunks; growing a shared memory is atomic, so engines in different threads that grow
 * the same memory each get chunks of their own without talking to each other. Nothing is freed:
 * an engine allocates its buffers once. A chunk is 16 MiB or more.
 */
export class WasmArena {
  private next = 0;
  private end = 0;
  /** Every SharedArrayBuffer object this memory has shown us; views on any of them are in the memory. */
  private readonly buffers = new WeakSet<ArrayBufferLike>();

  constructor(readonly memory: WebAssembly.Memory) {
    this.buffers.add(memory.buffer);
  }

  /** A view of memory the caller may keep; the same SharedArrayBuffer as the weights' views. */
  get buffer(): ArrayBufferLike {
    const buffer = this.memory.buffer;
    this.buffers.add(buffer);
    return buffer;
  }

  /** Whether `view` lies in this memory, so a kernel can read it by address. */
  contains(view: ArrayBufferView): boolean {
    return this.buffers.has(view.buffer);
  }

  /** Byte offset of `bytes` fresh bytes. Throws RangeError past 4 GiB. */
  allocate(bytes: number): number {
    const size = (bytes + 15) & ~15;
    if (this.next + size > this.end) this.grow(size);
    const at = this.next;
    this.next += size;
    return at;
  }

  float32(length: number): Float32Array {
    const at = this.allocate(4 * length); // first: it may grow the memory, and so its buffer
    return new Float32Array(this.buffer, at, length);
  }

  int32(length: number): Int32Array {
    const at = this.allocate(4 * length);
    return new Int32Array(this.buffer, at, length);
  }

  private grow(size: number): void {
    const pages = Math.ceil(Math.max(size, MIN_CHUNK) / PAGE);
    let first: number;
    try {
      first = this.memory.grow(pages);
    } catch {
      throw new RangeError(`the shared WebAssembly memory cannot grow by ${pages * PAGE} more bytes (4 GiB at most): reduce kvCacheTokens, maxNumBatchedTokens or workers`);
    }
    this.next = first * PAGE;
    this.end = (first + pages) * PAGE;
    this.buffers.add(this.memory.buffer);
  }
}
