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
 * Every SharedArrayBuffer object a memory has shown in this thread: growing a shared memory gives
 * `memory.buffer` a new object over the same bytes, and views made through any of them are views
 * of the memory. One registry per memory, shared by every arena of it in this thread, so that an
 * engine recognises the weights another engine's arena placed.
 */
const BUFFERS_OF_MEMORY = new WeakMap<WebAssembly.Memory, WeakSet<ArrayBufferLike>>();

/**
 * Hands out 16-byte-aligned pieces of a shared WebAssembly memory to one engine. It grows the
 * memory in chunks; growing a shared memory is atomic, so engines in different threads that grow
 * the same memory each get chunks of their own without talking to each other. Nothing is freed:
 * an engine allocates its buffers once. A chunk is 16 MiB or more.
 */
export class WasmArena {
  private next = 0;
  private end = 0;
  private readonly buffers: WeakSet<ArrayBufferLike>;

  constructor(readonly memory: WebAssembly.Memory) {
    let buffers = BUFFERS_OF_MEMORY.get(memory);
    if (!buffers) BUFFERS_OF_MEMORY.set(memory, (buffers = new WeakSet()));
    this.buffers = buffers;
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
    this.buffers.add(this.memory.buffer);
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
