import gpujs from 'gpu.js';
import type { IGPUKernelSettings, IKernelRunShortcut, KernelOutput } from 'gpu.js';
import type { GgmlType } from '../../tensors/tensor-types.js';
import { activationsFor } from '../../tensors/quant/activations.js';
import { dequantize } from '../../tensors/dequantize.js';
import { halfToFloat, roundToHalf } from '../../tensors/quant/half.js';
import { attentionScoresKernel, attentionValuesKernel, matmulKernel, rmsScaleKernel, siluMulKernel, softmaxKernel, sumOfSquaresKernel } from './gpujs-functions.js';
import { createArrayKvCache, type AttentionBatch, type AttentionShape, type Kernels, type KvCache, type ResidentMatrix, type RopeSpec } from '../kernels.js';
import { type WeightTensor } from '../../tensors/weights.js';
import { HostOps } from '../host-ops.js';

const { GPU } = gpujs;

/** gpu.js backends used here: its CPU ones, and WebGPU where an adapter exists (kernels then return promises). */
export type GpuJsMode = 'cpu' | 'webasm' | 'webgpu';

export interface GpuJsKernelOptions {
  readonly mode: GpuJsMode;
  /**
   * Longest context attention will see. gpu.js silently stops any loop whose bound is an
   * argument after `loopMaxIterations` rounds (1000 by default), which would truncate attention
   * over longer contexts without an error; the attention kernels set it to this.
   */
  readonly maxContextLen: number;
}

class GpuJsMatrix implements ResidentMatrix {
  constructor(
    readonly kernel: IKernelRunShortcut,
    readonly type: GgmlType,
    readonly rows: number,
    readonly cols: number,
    /** the weights as f32, for embedding lookups */
    readonly values: Float32Array,
  ) {}
}

/**
 * Rows go through kernels 8 at a time, then one at a time. gpu.js compiles a new module for
 * every new output or argument size and copies the kernel's constants into it (the webasm
 * backend keeps 8 per kernel), so a batch size that changes every step would recompile and
 * re-copy weights every step. With two tile sizes each kernel has at most two shapes.
 */
const ROW_TILES = [8, 1] as const;

/**
 * Kernels compiled by gpu.js. Every method awaits its kernels: in webgpu mode they answer with
 * promises (the GPU reads back asynchronously); in the CPU modes the await costs a microtask.
 * Weights are kernel constants, which gpu.js keeps resident, dequantized to f32 at load; passing
 * them as arguments would copy them into the backend on every call. Matmuls run one row per
 * call (measured as fast as a batched call, and one shape means one copy of the weights), on
 * activations converted to the weights' dot type first as the reference does. Residual adds,
 * biases, embedding lookups, RoPE (table lookups) and KV stores stay in JavaScript, where they
 * cost less than moving their operands into the backend.
 */
export class GpuJsKernels implements Kernels {
  readonly name: string;
  private readonly gpu: InstanceType<typeof GPU>;
  private readonly kernels = new Map<string, IKernelRunShortcut>();
  private readonly built: IKernelRunShortcut[] = [];
  private readonly host: HostOps;
  /** Attention's gathered contexts, one set per size, reused across calls. */
  private readonly regionBuffers = new Map<number, { keys: Float32Array; values: Float32Array; index: Float32Array }>();

  constructor(readonly options: GpuJsKernelOptions) {
    this.name = `gpujs-${options.mode}`;
    this.gpu = new GPU({ mode: options.mode });
    this.host = new HostOps(options.maxContextLen);
  }

  allocateFloat32(length: number): Float32Array {
    return new Float32Array(length);
  }

  allocateInt32(length: number): Int32Array {
    return new Int32Array(length);
  }

  loadMatrix(w: WeightTensor): ResidentMatrix {
    const values = dequantize(w.type, w.bytes, w.rows, w.cols);
    return new GpuJsMatrix(this.build(matmulKernel, [w.rows], { cols: w.cols, w: values }), w.type, w.rows, w.cols, values);
  }

  createKvCache(numLayers: number, numSlots: number, kvDim: number): KvCache {
    return createArrayKvCache(numLayers, numSlots, kvDim);
  }

  embed(out: Float32Array, tokenIds: Int32Array, table: ResidentMatrix, n: number): void {
    const { values, cols } = table as GpuJsMatrix;
    for (let t = 0; t < n; t++) out.set(values.subarray(tokenIds[t] * cols, (tokenIds[t] + 1) * cols), t * cols);
  }

  async matmul(out: Float32Array, x: Float32Array, w: ResidentMatrix, n: number): Promise<void> {
    const { kernel, type, rows, cols } = w as GpuJsMatrix;
    const xs = activationsFor(type, x, n, cols);
    for (let t = 0; t < n; t++) out.set((await kernel(xs.subarray(t * cols, (t + 1) * cols))) as Float32Array, t * rows);
  }

  addBias(x: Float32Array, bias: Float32Array, n: number, width: number): void {
    this.host.addBias(x, bias, n, width);
  }

  async rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, n: number, dim: number, eps: number): Promise<void> {
    for (const [start, rows] of tiles(n)) {
      const input = x.subarray(start * dim, (start + rows) * dim);
      const ss = (await this.kernel(`ss:${dim}:${rows}`, sumOfSquaresKernel, [rows], { dim })(input)) as Float32Array;
      const scale = this.kernel(`rms:${dim}:${eps}:${rows}`, rmsScaleKernel, [dim, rows], { dim, eps });
      copyRows(out, start * dim, await scale(input, ss, weight));
    }
  }

  rope(x: Float32Array, positions: Int32Array, n: number, numHeads: number, rope: RopeSpec): void {
    this.host.rope(x, positions, n, numHeads, rope);
  }

  storeKv(cache: KvCache, layer: number, k: Float32Array, v: Float32Array, slotMapping: Int32Array, n: number): void {
    this.host.storeKv(cache, layer, k, v, slotMapping, n);
  }

  /**
   * For each tile, the contexts of its sequences are gathered from the paged cache into compact
   * regions `width` positions wide, width being the tile's longest context rounded up to a power
   * of two. Passing the whole cache instead would copy all of it into the backend on every call,
   * and a fixed width of maxContextLen costs every masked-out position its full dot product
   * (the webasm backend computes both sides of a branch in its SIMD lanes).
   */
  async attention(out: Float32Array, q: Float32Array, cache: KvCache, layer: number, batch: AttentionBatch, shape: AttentionShape): Promise<void> {
    const { numHeads, numKvHeads, headDim, blockSize, maxBlocksPerSeq } = shape;
    const qDim = numHeads * headDim;
    const kvDim = numKvHeads * headDim;
    for (const [start, rows] of tiles(batch.numTokens)) {
      let longest = 0;
      for (let t = start; t < start + rows; t++) longest = Math.max(longest, batch.positions[t] + 1);
      const width = contextWidth(longest, this.options.maxContextLen);
      const regions = this.gatherContexts(cache, layer, batch, start, rows, width, blockSize, maxBlocksPerSeq, kvDim);
      const consts = { numHeads, headDim, kvDim, group: numHeads / numKvHeads, width };
      const key = `attn:${Object.values(consts).join(':')}:${rows}`;
      const scoresKernel = this.kernel(`${key}:scores`, attentionScoresKernel, [width, rows * numHeads], consts);
      const valuesKernel = this.kernel(`${key}:values`, attentionValuesKernel, [qDim, rows], consts);
      const positions = batch.positions.subarray(start, start + rows);
      // as llama.cpp multiplies q by f16 keys: q rounded to f16 first
      const q16 = Float32Array.from(q.subarray(start * qDim, (start + rows) * qDim), roundToHalf);
      const scores = await scoresKernel(q16, regions.keys, positions, regions.index);
      copyRows(out, start * qDim, await valuesKernel(scores, regions.values, positions, regions.index));
    }
  }

  /** Copies each distinct sequence of the tile into its own region; rows of one sequence share it. */
  private gatherContexts(
    cache: KvCache,
    layer: number,
    batch: AttentionBatch,
    start: number,
    rows: number,
    width: number,
    blockSize: number,
    maxBlocksPerSeq: number,
    kvDim: number,
  ): { keys: Float32Array; values: Float32Array; index: Float32Array } {
    const size = rows * width * kvDim; // [rows regions, width positions, kvDim]
    let buffers = this.regionBuffers.get(size);
    if (!buffers) this.regionBuffers.set(size, (buffers = { keys: new Float32Array(size), values: new Float32Array(size), index: new Float32Array(rows) }));
    const regionOfSeq = new Map<number, number>();
    for (let t = 0; t < rows; t++) {
      const seqRow = batch.tokenSeq[start + t];
      let region = regionOfSeq.get(seqRow);
      if (region === undefined) {
        region = regionOfSeq.size;
        regionOfSeq.set(seqRow, region);
      }
      buffers.index[t] = region;
    }
    for (const [seqRow, region] of regionOfSeq) {
      let contextLen = 0;
      for (let t = start; t < start + rows; t++) if (batch.tokenSeq[t] === seqRow) contextLen = Math.max(contextLen, batch.positions[t] + 1);
      for (let p = 0; p < contextLen; p += blockSize) {
        const block = batch.blockTables[seqRow * maxBlocksPerSeq + p / blockSize];
        const count = Math.min(blockSize, contextLen - p) * kvDim;
        const from = block * blockSize * kvDim;
        const to = (region * width + p) * kvDim;
        for (let i = 0; i < count; i++) {
          buffers.keys[to + i] = halfToFloat(cache.keys[layer][from + i]);
          buffers.values[to + i] = halfToFloat(cache.values[layer][from + i]);
        }
      }
    }
    return buffers;
  }

  async siluMul(out: Float32Array, gate: Float32Array, up: Float32Array, n: number, hidden: number): Promise<void> {
    for (const [start, rows] of tiles(n)) {
      const kernel = this.kernel(`silu:${hidden}:${rows}`, siluMulKernel, [hidden, rows], { hidden });
      copyRows(out, start * hidden, await kernel(gate.subarray(start * hidden, (start + rows) * hidden), up.subarray(start * hidden, (start + rows) * hidden)));
    }
  }

  addInPlace(x: Float32Array, y: Float32Array, length: number): void {
    this.host.addInPlace(x, y, length);
  }

  async softmax(out: Float32Array, logits: Float32Array, invTemperature: Float32Array, n: number, vocab: number): Promise<void> {
    for (const [start, rows] of tiles(n)) {
      const kernel = this.kernel(`softmax:${vocab}:${rows}`, softmaxKernel, [vocab, rows], { vocab });
      copyRows(out, start * vocab, await kernel(logits.subarray(start * vocab, (start + rows) * vocab), invTemperature.subarray(start, start + rows)));
    }
  }

  /**
   * The gpu.js backends that compiled kernels actually ran on. gpu.js falls back to its `cpu`
   * backend, with only a console warning, when a kernel is beyond the requested one.
   */
  executedModes(): string[] {
    const modes = this.built.map((k) => (k.kernel.constructor as unknown as { mode?: string }).mode ?? k.kernel.constructor.name);
    return [...new Set(modes)];
  }

  dispose(): void {
    this.gpu.destroy();
    this.kernels.clear();
    this.built.length = 0;
    this.host.dispose();
    this.regionBuffers.clear();
  }

  private kernel(key: string, fn: (this: never, ...args: never[]) => number, output: number[], constants: object): IKernelRunShortcut {
    let kernel = this.kernels.get(key);
    if (!kernel) this.kernels.set(key, (kernel = this.build(fn, output, constants)));
    return kernel;
  }

  private build(fn: (this: never, ...args: never[]) => number, output: number[], constants: object): IKernelRunShortcut {
    // loopMaxIterations is honoured by every backend but missing from gpu.js's typings;
    // dynamicArguments only lets a differently sized cache recompile instead of throwing
    const settings: IGPUKernelSettings & { loopMaxIterations: number } = {
      constants,
      output,
      dynamicArguments: true,
      tactic: 'precision',
      loopMaxIterations: this.options.maxContextLen,
    };
    const kernel = this.gpu.createKernel(fn as never, settings);
    this.built.push(kernel);
    return kernel;
  }
}

/** The tile's longest context rounded up to a power of two, at least 64 and at most `max`. */
function contextWidth(longest: number, max: number): number {
  let width = 64;
  while (width < longest) width *= 2;
  return Math.min(width, Math.max(max, longest));
}

/** [start, rows] of each tile covering n rows: tiles of 8, then of 1. */
function tiles(n: number): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  for (const size of ROW_TILES) {
    for (; n - start >= size; start += size) out.push([start, size]);
  }
  return out;
}

/** Copies a kernel's 2D result (one typed array per row) into `out` from `offset` on. */
function copyRows(out: Float32Array, offset: number, result: KernelOutput): void {
  const rows = result as Float32Array[];
  for (let t = 0; t < rows.length; t++) {
    out.set(rows[t], offset);
    offset += rows[t].length;
  }
}
