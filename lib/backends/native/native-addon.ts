import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** A context of the addon: one engine's threads, SIMD path and scratch (kernels/native/src/context.h). */
export type NativeContext = { readonly __nativeContext: unique symbol };
/** A weight matrix repacked into panels by the addon, shared by every engine of the process that loaded it. */
export type NativeMatrix = { readonly __nativeMatrix: unique symbol };

/** The functions kernels/native/src/addon.cc exports; every size is checked there against its buffer. */
export interface NativeAddon {
  cpu(): { best: 'avx512-vnni' | 'avx2' | 'none'; features: string; paths: ('avx512-vnni' | 'avx2')[] };
  createContext(threads: number, isa: string): NativeContext;
  poolStats(ctx: NativeContext): { isa: string; threads: number; teamRuns: number; soloRuns: number };
  mapFile(path: string): ArrayBuffer;
  /** `key`: the bytes' own name (WeightTensor.key), under which the process shares the repacked matrix; '' shares nothing. */
  loadMatrix(ctx: NativeContext, bytes: Uint8Array, type: number, rows: number, cols: number, key: string, releaseSource: boolean): NativeMatrix;
  releaseMatrix(m: NativeMatrix): void;
  matmul(ctx: NativeContext, out: Float32Array, x: Float32Array, m: NativeMatrix, n: number): void;
  embed(ctx: NativeContext, out: Float32Array, tokenIds: Int32Array, m: NativeMatrix, n: number): void;
  rmsNorm(ctx: NativeContext, out: Float32Array, x: Float32Array, weight: Float32Array, n: number, dim: number, eps: number): void;
  rope(ctx: NativeContext, x: Float32Array, positions: Int32Array, table: Float32Array, n: number, numHeads: number, headDim: number, neox: boolean, tablePositions: number): void;
  storeKv(ctx: NativeContext, keys: Uint16Array, values: Uint16Array, k: Float32Array, v: Float32Array, slotMapping: Int32Array, n: number, kvDim: number): void;
  attention(
    ctx: NativeContext,
    out: Float32Array,
    q: Float32Array,
    keys: Uint16Array,
    values: Uint16Array,
    blockTables: Int32Array,
    tokenSeq: Int32Array,
    positions: Int32Array,
    n: number,
    numHeads: number,
    numKvHeads: number,
    headDim: number,
    blockSize: number,
    maxBlocksPerSeq: number,
  ): void;
  siluMul(ctx: NativeContext, out: Float32Array, gate: Float32Array, up: Float32Array, count: number): void;
  addInPlace(ctx: NativeContext, x: Float32Array, y: Float32Array, count: number): void;
  addBias(ctx: NativeContext, x: Float32Array, bias: Float32Array, n: number, width: number): void;
  softmax(ctx: NativeContext, out: Float32Array, logits: Float32Array, invTemperature: Float32Array, n: number, vocab: number): void;
}

const BUILD = new URL('../../../kernels/native/build/', import.meta.url);
const ADDON = new URL('Release/journey_native.node', BUILD);
const REASON = new URL('unavailable.txt', BUILD);

let loaded: { addon: NativeAddon | null; why: string | null } | null = null;

/** The addon built at install (scripts/build-native.mjs), loaded once per thread; or why there is none. */
export function loadNativeAddon(): { addon: NativeAddon | null; why: string | null } {
  if (loaded) return loaded;
  if (!existsSync(ADDON)) {
    const why = existsSync(REASON) ? readFileSync(REASON, 'utf8').trim() : 'the native addon was not built (run npm run build:native)';
    return (loaded = { addon: null, why });
  }
  try {
    return (loaded = { addon: createRequire(import.meta.url)(fileURLToPath(ADDON)) as NativeAddon, why: null });
  } catch (err) {
    return (loaded = { addon: null, why: `the native addon did not load: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` });
  }
}
