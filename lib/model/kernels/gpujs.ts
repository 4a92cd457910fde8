import gpujs from 'gpu.js';
import type { IGPUKernelSettings, IKernelFunctionThis, IKernelRunShortcut, KernelOutput } from 'gpu.js';
import { createArrayKvCache, type AttentionBatch, type AttentionShape, type Kernels, type KvCache, type ResidentMatrix } from './kernels.js';
import { ReferenceKernels } from './reference.js';

const { GPU } = gpujs;

export type GpuJsMode = 'cpu' | 'webasm';

export interface GpuJsKernelOptions {
  readonly mode: GpuJsMode;
  /**
   * Longest context attention will see. gpu.js silently stops any loop whose bound is an
   * argument after `loopMaxIterations` rounds (1000 by default), which would truncate attention
   * over longer contexts without an error; the attention kernels set it to this.
   */
  readonly maxContextLen: number;
}

/* gpu.js compiles each kernel from its source text, so kernels are plain functions that read only
 * their arguments, `this.thread` and `this.constants`, and give every loop variable its own name. */

type Consts<T> = IKernelFunctionThis<T>;

function matmulKernel(this: Consts<{ cols: number; w: Float32Array }>, x: Float32Array): number {
  const base = this.thread.y * this.constants.cols;
  const row = this.thread.x * this.constants.cols;
  let sum = 0;
  for (let c = 0; c < this.constants.cols; c++) sum += x[base + c] * this.constants.w[row + c];
  return sum;
}

function sumOfSquaresKernel(this: Consts<{ dim: number }>, x: Float32Array): number {
  const base = this.thread.x * this.constants.dim;
  let ss = 0;
  for (let i = 0; i < this.constants.dim; i++) ss += x[base + i] * x[base + i];
  return ss;
}

function rmsScaleKernel(this: Consts<{ dim: number; eps: number }>, x: Float32Array, ss: Float32Array, weight: Float32Array): number {
  const scale = 1 / Math.sqrt(ss[this.thread.y] / this.constants.dim + this.constants.eps);
  return x[this.thread.y * this.constants.dim + this.thread.x] * scale * weight[this.thread.x];
}

function ropeKernel(this: Consts<{ width: number; headDim: number; theta: number }>, x: Float32Array, positions: Float32Array): number {
  const half = this.constants.headDim / 2;
  const i = this.thread.x % this.constants.headDim;
  const pair = i < half ? i : i - half;
  const angle = positions[this.thread.y] * Math.pow(this.constants.theta, (-2 * pair) / this.constants.headDim);
  const base = this.thread.y * this.constants.width + this.thread.x;
  if (i < half) return x[base] * Math.cos(angle) - x[base + half] * Math.sin(angle);
  return x[base] * Math.cos(angle) + x[base - half] * Math.sin(angle);
}

/** scores[t · numHeads + h][p] = q[t, h] · k[p] / √headDim for every p ≤ positions[t], else 0. */
function attentionScoresKernel(
  this: Consts<{ numHeads: number; headDim: number; kvDim: number; group: number; blockSize: number; maxBlocksPerSeq: number }>,
  q: Float32Array,
  keys: Float32Array,
  positions: Float32Array,
  tokenSeq: Float32Array,
  blockTables: Float32Array,
): number {
  const t = Math.floor(this.thread.y / this.constants.numHeads);
  const h = this.thread.y - t * this.constants.numHeads;
  const p = this.thread.x;
  if (p > positions[t]) return 0;
  const block = blockTables[tokenSeq[t] * this.constants.maxBlocksPerSeq + Math.floor(p / this.constants.blockSize)];
  const kBase = (block * this.constants.blockSize + (p % this.constants.blockSize)) * this.constants.kvDim + Math.floor(h / this.constants.group) * this.constants.headDim;
  const qBase = this.thread.y * this.constants.headDim;
  let dot = 0;
  for (let i = 0; i < this.constants.headDim; i++) dot += q[qBase + i] * keys[kBase + i];
  return dot / Math.sqrt(this.constants.headDim);
}

/** out[t, h · headDim + d] = Σ_p softmax(scores[t, h])[p] · v[p, d], over p ≤ positions[t]. */
function attentionValuesKernel(
  this: Consts<{ numHeads: number; headDim: number; kvDim: number; group: number; blockSize: number; maxBlocksPerSeq: number }>,
  scores: Float32Array[],
  values: Float32Array,
  positions: Float32Array,
  tokenSeq: Float32Array,
  blockTables: Float32Array,
): number {
  const t = this.thread.y;
  const h = Math.floor(this.thread.x / this.constants.headDim);
  const d = this.thread.x - h * this.constants.headDim;
  const row = t * this.constants.numHeads + h;
  const last = positions[t];
  let max = -3.0e38;
  for (let p1 = 0; p1 <= last; p1++) max = Math.max(max, scores[row][p1]);
  let denom = 0;
  let acc = 0;
  const vOffset = Math.floor(h / this.constants.group) * this.constants.headDim + d;
  const table = tokenSeq[t] * this.constants.maxBlocksPerSeq;
  for (let p2 = 0; p2 <= last; p2++) {
    const e = Math.exp(scores[row][p2] - max);
    const block = blockTables[table + Math.floor(p2 / this.constants.blockSize)];
    denom += e;
    acc += e * values[(block * this.constants.blockSize + (p2 % this.constants.blockSize)) * this.constants.kvDim + vOffset];
  }
  return acc / denom;
}

function siluMulKernel(this: Consts<{ hidden: number }>, gateUp: Float32Array): number {
  const base = this.thread.y * 2 * this.constants.hidden + this.thread.x;
  const g = gateUp[base];
  return (g / (1 + Math.exp(-g))) * gateUp[base + this.constants.hidden];
}

function softmaxKernel(this: Consts<{ vocab: number }>, logits: Float32Array, invTemperature: Float32Array): number {
  const base = this.thread.y * this.constants.vocab;
  const k = invTemperature[this.thread.y];
  let max = -3.0e38;
  for (let i = 0; i < this.constants.vocab; i++) max = Math.max(max, logits[base + i] * k);
  let sum = 0;
  for (let j = 0; j < this.constants.vocab; j++) sum += Math.exp(logits[base + j] * k - max);
  return Math.exp(logits[base + this.thread.x] * k - max) / sum;
}

class GpuJsMatrix implements ResidentMatrix {
  constructor(
    readonly kernel: IKernelRunShortcut,
    readonly rows: number,
    readonly cols: number,
  ) {}
}

/**
 * Kernels compiled by gpu.js. Weights are kernel constants, which gpu.js keeps resident; passing
 * them as arguments would copy them into the backend on every call. Each kernel writes a 2D
 * output [width, n] (measured faster than a flat one on webasm) that is copied into `out`.
 * Residual adds and KV stores are plain copies and stay in JavaScript, where they cost less
 * than moving their operands into the backend.
 */
export class GpuJsKernels implements Kernels {
  readonly name: string;
  private readonly gpu: InstanceType<typeof GPU>;
  private readonly kernels = new Map<string, IKernelRunShortcut>();
  private readonly built: IKernelRunShortcut[] = [];
  private readonly plain = new ReferenceKernels();

  constructor(readonly options: GpuJsKernelOptions) {
    this.name = `gpujs-${options.mode}`;
    this.gpu = new GPU({ mode: options.mode });
  }

  loadMatrix(w: Float32Array, rows: number, cols: number): ResidentMatrix {
    if (w.length !== rows * cols) throw new RangeError(`matrix holds ${w.length} values, expected ${rows}×${cols}`);
    return new GpuJsMatrix(this.build(matmulKernel, { cols, w }), rows, cols);
  }

  createKvCache(numLayers: number, numSlots: number, kvDim: number): KvCache {
    return createArrayKvCache(numLayers, numSlots, kvDim);
  }

  matmul(out: Float32Array, x: Float32Array, w: ResidentMatrix, n: number): void {
    const { kernel, rows, cols } = w as GpuJsMatrix;
    this.run(out, kernel, [rows, n], x.subarray(0, n * cols));
  }

  rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, n: number, dim: number, eps: number): void {
    if (n === 0) return;
    const input = x.subarray(0, n * dim);
    const sumSquares = this.cached(`ss:${dim}`, () => this.build(sumOfSquaresKernel, { dim }));
    sumSquares.setOutput([n]);
    const ss = sumSquares(input) as Float32Array;
    this.run(out, this.cached(`rms:${dim}:${eps}`, () => this.build(rmsScaleKernel, { dim, eps })), [dim, n], input, ss, weight);
  }

  rope(x: Float32Array, positions: Int32Array, n: number, numHeads: number, headDim: number, theta: number): void {
    const width = numHeads * headDim;
    const kernel = this.cached(`rope:${width}:${headDim}:${theta}`, () => this.build(ropeKernel, { width, headDim, theta }));
    this.run(x, kernel, [width, n], x.slice(0, n * width), positions.subarray(0, n));
  }

  storeKv(cache: KvCache, layer: number, k: Float32Array, v: Float32Array, slotMapping: Int32Array, n: number): void {
    this.plain.storeKv(cache, layer, k, v, slotMapping, n);
  }

  attention(out: Float32Array, q: Float32Array, cache: KvCache, layer: number, batch: AttentionBatch, shape: AttentionShape): void {
    const n = batch.numTokens;
    if (n === 0) return;
    const { numHeads, numKvHeads, headDim, blockSize, maxBlocksPerSeq } = shape;
    const consts = { numHeads, headDim, kvDim: numKvHeads * headDim, group: numHeads / numKvHeads, blockSize, maxBlocksPerSeq };
    const key = `attn:${Object.values(consts).join(':')}`;
    const scoresKernel = this.cached(`${key}:scores`, () => this.build(attentionScoresKernel, consts));
    const valuesKernel = this.cached(`${key}:values`, () => this.build(attentionValuesKernel, consts));
    let longest = 0;
    for (let t = 0; t < n; t++) longest = Math.max(longest, batch.positions[t] + 1);
    const positions = batch.positions.subarray(0, n);
    const tokenSeq = batch.tokenSeq.subarray(0, n);
    scoresKernel.setOutput([longest, n * numHeads]);
    const scores = scoresKernel(q.subarray(0, n * numHeads * headDim), cache.keys[layer], positions, tokenSeq, batch.blockTables);
    this.run(out, valuesKernel, [numHeads * headDim, n], scores, cache.values[layer], positions, tokenSeq, batch.blockTables);
  }

  siluMul(out: Float32Array, gateUp: Float32Array, n: number, hidden: number): void {
    const kernel = this.cached(`silu:${hidden}`, () => this.build(siluMulKernel, { hidden }));
    this.run(out, kernel, [hidden, n], gateUp.subarray(0, n * 2 * hidden));
  }

  addInPlace(x: Float32Array, y: Float32Array, length: number): void {
    this.plain.addInPlace(x, y, length);
  }

  softmax(out: Float32Array, logits: Float32Array, invTemperature: Float32Array, n: number, vocab: number): void {
    const kernel = this.cached(`softmax:${vocab}`, () => this.build(softmaxKernel, { vocab }));
    this.run(out, kernel, [vocab, n], logits.subarray(0, n * vocab), invTemperature.subarray(0, n));
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
  }

  private cached(key: string, build: () => IKernelRunShortcut): IKernelRunShortcut {
    let kernel = this.kernels.get(key);
    if (!kernel) this.kernels.set(key, (kernel = build()));
    return kernel;
  }

  private build(fn: (this: never, ...args: never[]) => number, constants: object): IKernelRunShortcut {
    // loopMaxIterations is honoured by every backend but missing from gpu.js's typings
    const settings: IGPUKernelSettings & { loopMaxIterations: number } = {
      constants,
      output: [1, 1],
      dynamicOutput: true,
      dynamicArguments: true,
      tactic: 'precision',
      loopMaxIterations: this.options.maxContextLen,
    };
    const kernel = this.gpu.createKernel(fn as never, settings);
    this.built.push(kernel);
    return kernel;
  }

  /** Runs a kernel with output [width, n] and copies its rows into `out`. */
  private run(out: Float32Array, kernel: IKernelRunShortcut, [width, n]: [number, number], ...args: unknown[]): void {
    if (n === 0) return; // gpu.js cannot size an empty argument
    kernel.setOutput([width, n]);
    const rows = kernel(...(args as never[])) as KernelOutput as Float32Array[];
    for (let t = 0; t < n; t++) out.set(rows[t], t * width);
  }
}
