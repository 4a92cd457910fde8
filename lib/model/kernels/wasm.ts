import { readFileSync } from 'node:fs';
import type { AttentionBatch, AttentionShape, Kernels, KvCache, ResidentMatrix } from './kernels.js';
import { createSharedMemory, WasmArena } from './wasm-arena.js';

/** The functions of assembly/kernels.ts; every buffer argument is a byte offset. */
interface WasmExports {
  matmul(out: number, x: number, w: number, n: number, rows: number, cols: number): void;
  rmsNorm(out: number, x: number, weight: number, n: number, dim: number, eps: number): void;
  rope(x: number, positions: number, n: number, numHeads: number, headDim: number, table: number): void;
  storeKv(keys: number, values: number, k: number, v: number, slotMapping: number, n: number, kvDim: number): void;
  attention(
    out: number,
    q: number,
    keys: number,
    values: number,
    blockTables: number,
    tokenSeq: number,
    positions: number,
    n: number,
    numHeads: number,
    numKvHeads: number,
    headDim: number,
    blockSize: number,
    maxBlocksPerSeq: number,
    scores: number,
  ): void;
  siluMul(out: number, gateUp: number, n: number, hidden: number): void;
  addInPlace(x: number, y: number, length: number): void;
  softmax(out: number, logits: number, invTemperature: number, n: number, vocab: number): void;
}

let compiled: WebAssembly.Module | null = null;

/** The compiled kernels, built from assembly/kernels.ts by the build; compiled once per thread. */
function kernelModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(new URL('./kernels.wasm', import.meta.url)));
  return compiled;
}

export interface WasmKernelOptions {
  /** The shared memory holding the weights; a fresh one when omitted. */
  readonly memory?: WebAssembly.Memory;
  /** Longest context attention will see (sizes its scratch and the RoPE tables). */
  readonly maxContextLen: number;
}

class WasmMatrix implements ResidentMatrix {
  constructor(
    readonly ptr: number,
    readonly rows: number,
    readonly cols: number,
  ) {}
}

/**
 * Hand-written WebAssembly SIMD kernels. The weights stay where they are, in the shared memory
 * every engine worker maps; this engine's activations, KV cache and scratch come from its own
 * chunks of that memory (allocateFloat32/Int32, createKvCache), so kernels read them by address
 * with no copy. Arrays from elsewhere work too: they are copied in (and outputs out) per call.
 */
export class WasmKernels implements Kernels {
  readonly name = 'wasm';
  private readonly arena: WasmArena;
  private readonly fn: WasmExports;
  private readonly scores: number; // [maxContextLen] attention weights of one (token, head)
  private readonly ropeTables = new Map<string, Float32Array>();
  private staging = { ptr: 0, bytes: 0, used: 0 };

  constructor(readonly options: WasmKernelOptions) {
    const memory = options.memory ?? createSharedMemory(0);
    this.arena = new WasmArena(memory);
    this.fn = new WebAssembly.Instance(kernelModule(), { env: { memory } }).exports as unknown as WasmExports;
    this.scores = this.arena.allocate(4 * options.maxContextLen);
  }

  get memory(): WebAssembly.Memory {
    return this.arena.memory;
  }

  allocateFloat32(length: number): Float32Array {
    return this.arena.float32(length);
  }

  allocateInt32(length: number): Int32Array {
    return this.arena.int32(length);
  }

  loadMatrix(w: Float32Array, rows: number, cols: number): ResidentMatrix {
    if (w.length !== rows * cols) throw new RangeError(`matrix holds ${w.length} values, expected ${rows}×${cols}`);
    if (this.arena.contains(w)) return new WasmMatrix(w.byteOffset, rows, cols);
    const copy = this.arena.float32(w.length); // weights from elsewhere: copied once, at load
    copy.set(w);
    return new WasmMatrix(copy.byteOffset, rows, cols);
  }

  createKvCache(numLayers: number, numSlots: number, kvDim: number): KvCache {
    const keys = Array.from({ length: numLayers }, () => this.arena.float32(numSlots * kvDim));
    const values = Array.from({ length: numLayers }, () => this.arena.float32(numSlots * kvDim));
    return { numLayers, numSlots, kvDim, keys, values };
  }

  matmul(out: Float32Array, x: Float32Array, w: ResidentMatrix, n: number): void {
    const m = w as WasmMatrix;
    this.call(() => this.fn.matmul(this.out(out, n * m.rows), this.in(x, n * m.cols), m.ptr, n, m.rows, m.cols));
  }

  rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, n: number, dim: number, eps: number): void {
    this.call(() => this.fn.rmsNorm(this.out(out, n * dim), this.in(x, n * dim), this.in(weight, dim), n, dim, eps));
  }

  rope(x: Float32Array, positions: Int32Array, n: number, numHeads: number, headDim: number, theta: number): void {
    const table = this.ropeTable(headDim, theta);
    this.call(() => this.fn.rope(this.inOut(x, n * numHeads * headDim), this.in(positions, n), n, numHeads, headDim, table.byteOffset));
  }

  storeKv(cache: KvCache, layer: number, k: Float32Array, v: Float32Array, slotMapping: Int32Array, n: number): void {
    const d = cache.kvDim;
    const keys = cache.keys[layer];
    const values = cache.values[layer];
    this.call(() =>
      this.fn.storeKv(this.inOut(keys, keys.length), this.inOut(values, values.length), this.in(k, n * d), this.in(v, n * d), this.in(slotMapping, n), n, d),
    );
  }

  attention(out: Float32Array, q: Float32Array, cache: KvCache, layer: number, batch: AttentionBatch, shape: AttentionShape): void {
    const { numHeads, numKvHeads, headDim, blockSize, maxBlocksPerSeq } = shape;
    const n = batch.numTokens;
    for (let t = 0; t < n; t++) {
      if (batch.positions[t] >= this.options.maxContextLen) throw new RangeError(`position ${batch.positions[t]} is beyond the context length ${this.options.maxContextLen}`);
    }
    const width = numHeads * headDim;
    this.call(() =>
      this.fn.attention(
        this.out(out, n * width),
        this.in(q, n * width),
        this.in(cache.keys[layer], cache.keys[layer].length),
        this.in(cache.values[layer], cache.values[layer].length),
        this.in(batch.blockTables, batch.blockTables.length),
        this.in(batch.tokenSeq, n),
        this.in(batch.positions, n),
        n,
        numHeads,
        numKvHeads,
        headDim,
        blockSize,
        maxBlocksPerSeq,
        this.scores,
      ),
    );
  }

  siluMul(out: Float32Array, gateUp: Float32Array, n: number, hidden: number): void {
    this.call(() => this.fn.siluMul(this.out(out, n * hidden), this.in(gateUp, n * 2 * hidden), n, hidden));
  }

  addInPlace(x: Float32Array, y: Float32Array, length: number): void {
    this.call(() => this.fn.addInPlace(this.inOut(x, length), this.in(y, length), length));
  }

  softmax(out: Float32Array, logits: Float32Array, invTemperature: Float32Array, n: number, vocab: number): void {
    this.call(() => this.fn.softmax(this.out(out, n * vocab), this.in(logits, n * vocab), this.in(invTemperature, n), n, vocab));
  }

  dispose(): void {
    // the memory is shared and stays; this engine's chunks are simply no longer used
    this.ropeTables.clear();
  }

  /** cos and sin of position · θ^(−2i/headDim), [maxContextLen, headDim/2, 2], computed once in double precision. */
  private ropeTable(headDim: number, theta: number): Float32Array {
    const key = `${headDim}:${theta}`;
    let table = this.ropeTables.get(key);
    if (table) return table;
    const half = headDim / 2;
    table = this.arena.float32(this.options.maxContextLen * half * 2);
    for (let p = 0; p < this.options.maxContextLen; p++) {
      for (let i = 0; i < half; i++) {
        const angle = p * Math.pow(theta, (-2 * i) / headDim);
        table[(p * half + i) * 2] = Math.cos(angle);
        table[(p * half + i) * 2 + 1] = Math.sin(angle);
      }
    }
    this.ropeTables.set(key, table);
    return table;
  }

  /* Arrays outside the memory go through the staging area: copied in before the call, and those
   * the call writes copied back after it. `pending` holds the write-backs of the current call. */
  private pending: { from: number; to: Float32Array; length: number }[] = [];

  private call(run: () => void): void {
    this.staging.used = 0;
    this.pending = [];
    run();
    const f32 = new Float32Array(this.arena.buffer);
    for (const { from, to, length } of this.pending) to.set(f32.subarray(from / 4, from / 4 + length));
    this.pending = [];
  }

  /** Address of `a` for reading. */
  private in(a: Float32Array | Int32Array, length: number): number {
    if (this.arena.contains(a)) return a.byteOffset;
    const ptr = this.stage(4 * length); // first: staging may grow the memory
    const target = a instanceof Int32Array ? new Int32Array(this.arena.buffer, ptr, length) : new Float32Array(this.arena.buffer, ptr, length);
    target.set(a.subarray(0, length) as never);
    return ptr;
  }

  /** Address of `a` for writing. */
  private out(a: Float32Array, length: number): number {
    if (this.arena.contains(a)) return a.byteOffset;
    const ptr = this.stage(4 * length);
    this.pending.push({ from: ptr, to: a, length });
    return ptr;
  }

  /** Address of `a` for reading and writing. */
  private inOut(a: Float32Array, length: number): number {
    if (this.arena.contains(a)) return a.byteOffset;
    const ptr = this.in(a, length);
    this.pending.push({ from: ptr, to: a, length });
    return ptr;
  }

  private stage(bytes: number): number {
    const size = (bytes + 15) & ~15;
    if (this.staging.used + size > this.staging.bytes) {
      if (this.staging.used > 0) throw new RangeError('arrays from outside the kernel memory exceed the staging area in one call');
      const capacity = Math.max(size, 2 * this.staging.bytes, 1 << 20);
      this.staging = { ptr: this.arena.allocate(capacity), bytes: capacity, used: 0 };
    }
    const ptr = this.staging.ptr + this.staging.used;
    this.staging.used += size;
    return ptr;
  }
}
