import { readFileSync } from 'node:fs';
import { ggmlTypeName, tensorType, type GgmlType } from '../../tensors/tensor-types.js';
import { KERNEL_ARG_SLOTS, MAX_KERNEL_ARGS, writeKernelArgs, type KernelArgs, type KernelArgsName } from './kernel-args.js';
import type { AttentionBatch, AttentionShape, Kernels, KvCache, ResidentMatrix, RopeSpec } from '../kernels.js';
import type { WeightTensor } from '../../tensors/weights.js';
import { ropeKey, ropeTable } from '../rope-table.js';
import { KernelTeam, type TeamExports } from './kernel-team.js';
import { WASM_MATMULS, type TeamKernel } from './team-kernels.js';
import { createSharedMemory, WasmArena } from './wasm-arena.js';

/** Where each matmul argument goes in an argument block. */
const MATMUL = KERNEL_ARG_SLOTS.Matmul;

/** The functions of kernels/wasm/kernels.ts; every buffer argument is a byte offset. */
interface WasmExports extends TeamExports {
  roundRows(out: number, x: number, count: number, bfloat: number): void;
  quantizeQ8_0(xq: number, xd: number, xs: number, x: number, n: number, cols: number): void;
  quantizeQ8_K(xq: number, xd: number, xs: number, x: number, n: number, cols: number): void;
  embed(out: number, tokenIds: number, table: number, n: number, cols: number, type: number): void;
  rmsNorm(out: number, x: number, weight: number, n: number, dim: number, eps: number): void;
  rope(x: number, positions: number, n: number, numHeads: number, headDim: number, table: number, neox: number): void;
  storeKv(keys: number, values: number, k: number, v: number, slotMapping: number, n: number, kvDim: number): void;
  siluMul(out: number, gate: number, up: number, count: number): void;
  addBias(x: number, bias: number, n: number, width: number): void;
  addInPlace(x: number, y: number, length: number): void;
  softmax(out: number, logits: number, invTemperature: number, n: number, vocab: number): void;
  attentionScratchBytes(group: number, headDim: number, maxContext: number): number;
}

/** Bytes of one thread's block-decoding scratch (SCRATCH_BYTES of kernels/wasm/matmul-kquants.ts and -q32.ts, rounded up). */
const BLOCK_SCRATCH_BYTES = 1536;
/** Matmul shares are whole multiples of the micro-kernels' rows (2 or 4). */
const ROW_ALIGN = 4;

let compiled: WebAssembly.Module | null = null;

/** The compiled kernels, built from kernels/wasm/kernels.ts by the build; compiled once per thread. */
function kernelModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(new URL('./kernels.wasm', import.meta.url)));
  return compiled;
}

export interface WasmKernelOptions {
  /** The shared memory holding the weights; a fresh one when omitted. */
  readonly memory?: WebAssembly.Memory;
  /** Longest context attention will see (sizes its scratch and the RoPE tables). */
  readonly maxContextLen: number;
  /** Threads over the same memory that share matmuls and attention (see createWasmKernels). */
  readonly team?: KernelTeam;
}

/** Wasm kernels on `threads` threads: this one and threads − 1 helpers started here. */
export async function createWasmKernels(options: Omit<WasmKernelOptions, 'team'> & { readonly threads: number }): Promise<WasmKernels> {
  const { threads, ...rest } = options;
  const memory = rest.memory ?? createSharedMemory(0);
  const team = threads > 1 ? await KernelTeam.start(threads, kernelModule(), memory) : undefined;
  return new WasmKernels({ ...rest, memory, ...(team ? { team } : {}) });
}

class WasmMatrix implements ResidentMatrix {
  constructor(
    readonly ptr: number,
    readonly type: GgmlType,
    readonly rows: number,
    readonly cols: number,
  ) {}
}

type View = Float32Array | Int32Array | Uint16Array;

/**
 * Hand-written WebAssembly SIMD kernels. The weights stay where they are, in the shared memory
 * every engine worker maps, in their file's type; this engine's activations, KV cache and
 * scratch come from its own chunks of that memory (allocateFloat32/Int32, createKvCache), so
 * kernels read them by address with no copy. Arrays from elsewhere work too: they are copied in
 * (and outputs out) per call.
 */
export class WasmKernels implements Kernels {
  readonly name = 'wasm';
  private readonly arena: WasmArena;
  private readonly fn: WasmExports;
  private readonly ropeTables = new Map<string, Float32Array>();
  /** Activations converted for a matmul's dot type, and attention's scores: grown on demand. */
  private scratch = { ptr: 0, bytes: 0 };
  private staging = { ptr: 0, bytes: 0, used: 0 };
  /** Each thread's own scratch (quantized blocks being decoded, attention scores): grown on demand. */
  private threadScratchArea = { ptr: 0, bytes: 0 };
  private readonly team: KernelTeam | null;
  /** The argument block of the kernel being run (its layout in kernel-args.ts), in the shared memory the team reads. */
  private readonly argBlock: Int32Array; // [MAX_KERNEL_ARGS]

  constructor(readonly options: WasmKernelOptions) {
    const memory = options.memory ?? createSharedMemory(0);
    this.arena = new WasmArena(memory);
    this.argBlock = this.arena.int32(MAX_KERNEL_ARGS);
    this.fn = new WebAssembly.Instance(kernelModule(), { env: { memory } }).exports as unknown as WasmExports;
    this.team = options.team ?? null;
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

  loadMatrix(w: WeightTensor): ResidentMatrix {
    if (!WASM_MATMULS.has(w.type)) throw new RangeError(`the wasm kernels cannot multiply ${ggmlTypeName(w.type)} weights`);
    if (this.arena.contains(w.bytes)) return new WasmMatrix(w.bytes.byteOffset, w.type, w.rows, w.cols);
    const ptr = this.arena.allocate(w.bytes.length); // weights from elsewhere: copied once, at load
    new Uint8Array(this.arena.buffer, ptr, w.bytes.length).set(w.bytes);
    return new WasmMatrix(ptr, w.type, w.rows, w.cols);
  }

  createKvCache(numLayers: number, numSlots: number, kvDim: number): KvCache {
    const keys = Array.from({ length: numLayers }, () => this.uint16(numSlots * kvDim));
    const values = Array.from({ length: numLayers }, () => this.uint16(numSlots * kvDim));
    return { numLayers, numSlots, kvDim, keys, values };
  }

  embed(out: Float32Array, tokenIds: Int32Array, table: ResidentMatrix, n: number): void {
    const m = table as WasmMatrix;
    this.call(() => this.fn.embed(this.out(out, n * m.cols), this.in(tokenIds, n), m.ptr, n, m.cols, m.type));
  }

  matmul(out: Float32Array, x: Float32Array, w: ResidentMatrix, n: number): void {
    const m = w as WasmMatrix;
    const count = n * m.cols;
    const kernel = WASM_MATMULS.get(m.type) as TeamKernel;
    this.call(() => {
      // the argument block written field by field: a matmul is the most frequent call of a step
      const a = this.argBlock;
      a[MATMUL.out] = this.out(out, n * m.rows);
      a[MATMUL.w] = m.ptr;
      a[MATMUL.n] = n;
      a[MATMUL.rows] = m.rows;
      a[MATMUL.cols] = m.cols;
      const xp = this.in(x, count);
      a[MATMUL.xd] = 0;
      a[MATMUL.xs] = 0;
      // the activations in the weights' dot type first, as llama.cpp converts them
      const dot = tensorType(m.type).dot;
      switch (dot) {
        case 'f32':
          a[MATMUL.x] = xp;
          break;
        case 'f16':
        case 'bf16': {
          const rounded = this.scratchBytes(4 * count);
          this.fn.roundRows(rounded, xp, count, dot === 'bf16' ? 1 : 0);
          a[MATMUL.x] = rounded;
          break;
        }
        case 'Q8_0':
        case 'Q8_1': {
          // 16-bit quants, then per 32 values an f32 scale and the f32 d·Σq
          const xq = this.scratchBytes(2 * count + count / 4);
          const xd = xq + 2 * count;
          const xs = xd + count / 8;
          this.fn.quantizeQ8_0(xq, xd, xs, xp, n, m.cols);
          a[MATMUL.x] = xq;
          a[MATMUL.xd] = xd;
          a[MATMUL.xs] = xs;
          break;
        }
        case 'Q8_K': {
          // 16-bit quants, one f32 scale per 256 values, one i16 sum per 32
          const xq = this.scratchBytes(2 * count + count / 64 + count / 16);
          const xd = xq + 2 * count;
          const xs = xd + count / 64;
          this.fn.quantizeQ8_K(xq, xd, xs, xp, n, m.cols);
          a[MATMUL.x] = xq;
          a[MATMUL.xd] = xd;
          a[MATMUL.xs] = xs;
          break;
        }
        default:
          throw new RangeError(`no activation conversion for ${ggmlTypeName(m.type)}`);
      }
      this.runWritten(kernel, m.rows, ROW_ALIGN, BLOCK_SCRATCH_BYTES);
    });
  }

  /**
   * Runs `kernel` over `units` units, its arguments written into this engine's argument block,
   * split across the team's threads when there is one (and the work is worth splitting); each
   * thread gets `scratchBytes` of its own scratch.
   */
  private split<K extends KernelArgsName>(kernel: TeamKernel, layout: K, args: Partial<KernelArgs<K>>, units: number, align: number, scratchBytes: number): void {
    writeKernelArgs(this.argBlock, layout, args);
    this.runWritten(kernel, units, align, scratchBytes);
  }

  /** As split(), on the arguments already in this engine's argument block. */
  private runWritten(kernel: TeamKernel, units: number, align: number, scratchBytes: number): void {
    const stride = (scratchBytes + 63) & ~63;
    const threads = this.team && units >= 2 * align ? this.team.threads : 1;
    const scratch = this.threadScratch(threads * stride);
    if (threads === 1) return this.fn[kernel](this.argBlock.byteOffset, 0, units, scratch);
    (this.team as KernelTeam).run(this.fn, { kernel, args: this.argBlock.byteOffset, units, align, scratch, scratchStride: stride });
  }

  addBias(x: Float32Array, bias: Float32Array, n: number, width: number): void {
    this.call(() => this.fn.addBias(this.inOut(x, n * width), this.in(bias, width), n, width));
  }

  rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, n: number, dim: number, eps: number): void {
    this.call(() => this.fn.rmsNorm(this.out(out, n * dim), this.in(x, n * dim), this.in(weight, dim), n, dim, eps));
  }

  rope(x: Float32Array, positions: Int32Array, n: number, numHeads: number, rope: RopeSpec): void {
    for (let t = 0; t < n; t++) {
      if (positions[t] >= this.options.maxContextLen) throw new RangeError(`position ${positions[t]} is beyond the context length ${this.options.maxContextLen}`);
    }
    const table = this.ropeTable(rope);
    this.call(() =>
      this.fn.rope(this.inOut(x, n * numHeads * rope.headDim), this.in(positions, n), n, numHeads, rope.headDim, table.byteOffset, rope.style === 'neox' ? 1 : 0),
    );
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
    const maxContext = this.options.maxContextLen;
    for (let t = 0; t < n; t++) {
      if (batch.positions[t] >= maxContext) throw new RangeError(`position ${batch.positions[t]} is beyond the context length ${maxContext}`);
    }
    const width = numHeads * headDim;
    const group = numHeads / numKvHeads;
    this.call(() => {
      const args = {
        out: this.out(out, n * width),
        q: this.in(q, n * width),
        keys: this.in(cache.keys[layer], cache.keys[layer].length),
        values: this.in(cache.values[layer], cache.values[layer].length),
        blockTables: this.in(batch.blockTables, batch.blockTables.length),
        tokenSeq: this.in(batch.tokenSeq, n),
        positions: this.in(batch.positions, n),
        n,
        numHeads,
        numKvHeads,
        headDim,
        blockSize,
        maxBlocksPerSeq,
        maxContext,
      };
      this.split('attention', 'Attention', args, n * numKvHeads, 1, this.fn.attentionScratchBytes(group, headDim, maxContext));
    });
  }

  siluMul(out: Float32Array, gate: Float32Array, up: Float32Array, n: number, hidden: number): void {
    this.call(() => this.fn.siluMul(this.out(out, n * hidden), this.in(gate, n * hidden), this.in(up, n * hidden), n * hidden));
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
    this.team?.close();
  }

  private uint16(length: number): Uint16Array {
    const at = this.arena.allocate(2 * length);
    return new Uint16Array(this.arena.buffer, at, length);
  }

  private ropeTable(rope: RopeSpec): Float32Array {
    const key = ropeKey(rope);
    let table = this.ropeTables.get(key);
    if (!table) this.ropeTables.set(key, (table = ropeTable(rope, this.options.maxContextLen, this.arena.float32(this.options.maxContextLen * rope.headDim))));
    return table;
  }

  /** An address of at least `bytes` scratch bytes, valid until the next call that asks for scratch. */
  private threadScratch(bytes: number): number {
    if (bytes > this.threadScratchArea.bytes) {
      const size = Math.max(bytes, 2 * this.threadScratchArea.bytes);
      this.threadScratchArea = { ptr: this.arena.allocate(size), bytes: size };
    }
    return this.threadScratchArea.ptr;
  }

  private scratchBytes(bytes: number): number {
    if (bytes > this.scratch.bytes) {
      const size = Math.max(bytes, 2 * this.scratch.bytes);
      this.scratch = { ptr: this.arena.allocate(size), bytes: size };
    }
    return this.scratch.ptr;
  }

  /* Arrays outside the memory go through the staging area: copied in before the call, and those
   * the call writes copied back after it. `pending` holds the write-backs of the current call. */
  private pending: { from: number; to: View; length: number }[] = [];

  private call(run: () => void): void {
    this.staging.used = 0;
    this.pending = [];
    run();
    for (const { from, to, length } of this.pending) to.set(viewLike(to, this.arena.buffer, from, length) as never);
    this.pending = [];
  }

  /** Address of `a` for reading. */
  private in(a: View, length: number): number {
    if (this.arena.contains(a)) return a.byteOffset;
    const ptr = this.stage(a.BYTES_PER_ELEMENT * length); // first: staging may grow the memory
    viewLike(a, this.arena.buffer, ptr, length).set(a.subarray(0, length) as never);
    return ptr;
  }

  /** Address of `a` for writing. */
  private out(a: View, length: number): number {
    if (this.arena.contains(a)) return a.byteOffset;
    const ptr = this.stage(a.BYTES_PER_ELEMENT * length);
    this.pending.push({ from: ptr, to: a, length });
    return ptr;
  }

  /** Address of `a` for reading and writing. */
  private inOut(a: View, length: number): number {
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

/** A view of the same element type as `like`, over `buffer`. */
function viewLike(like: View, buffer: ArrayBufferLike, byteOffset: number, length: number): View {
  if (like instanceof Int32Array) return new Int32Array(buffer, byteOffset, length);
  if (like instanceof Uint16Array) return new Uint16Array(buffer, byteOffset, length);
  return new Float32Array(buffer, byteOffset, length);
}
