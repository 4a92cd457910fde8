import { Rng, deriveSeed } from '../util/rng.js';
import { headDim, type ModelConfig } from './model-config.js';

export interface LayerWeights {
  readonly attnNorm: Float32Array; // [dim]
  readonly wqkv: Float32Array; // [(numHeads + 2·numKvHeads)·headDim, dim]: q, k, v projections stacked
  readonly wo: Float32Array; // [dim, numHeads·headDim]
  readonly ffnNorm: Float32Array; // [dim]
  readonly wGateUp: Float32Array; // [2·hiddenDim, dim]: gate rows then up rows
  readonly wDown: Float32Array; // [dim, hiddenDim]
}

/**
 * All weights of a model as views into one SharedArrayBuffer, so that engine workers can map the
 * same bytes instead of each holding a copy. Matrices are row-major [outDim, inDim].
 */
export interface ModelWeights {
  readonly config: ModelConfig;
  /** The shared memory the views below are in. */
  readonly buffer: ArrayBufferLike;
  readonly tokEmbedding: Float32Array; // [vocabSize, dim]
  readonly layers: readonly LayerWeights[];
  readonly finalNorm: Float32Array; // [dim]
  readonly lmHead: Float32Array; // [vocabSize, dim]
}

/** Element count of every tensor, in storage order. */
function layout(c: ModelConfig): { name: string; size: number }[] {
  const hd = headDim(c);
  const tensors = [{ name: 'tokEmbedding', size: c.vocabSize * c.dim }];
  for (let l = 0; l < c.numLayers; l++) {
    tensors.push(
      { name: `layers.${l}.attnNorm`, size: c.dim },
      { name: `layers.${l}.wqkv`, size: (c.numHeads + 2 * c.numKvHeads) * hd * c.dim },
      { name: `layers.${l}.wo`, size: c.dim * c.numHeads * hd },
      { name: `layers.${l}.ffnNorm`, size: c.dim },
      { name: `layers.${l}.wGateUp`, size: 2 * c.hiddenDim * c.dim },
      { name: `layers.${l}.wDown`, size: c.dim * c.hiddenDim },
    );
  }
  tensors.push({ name: 'finalNorm', size: c.dim }, { name: 'lmHead', size: c.vocabSize * c.dim });
  return tensors;
}

export function weightsByteLength(config: ModelConfig): number {
  return layout(config).reduce((sum, t) => sum + t.size, 0) * Float32Array.BYTES_PER_ELEMENT;
}

/** Views over `buffer` from `byteOffset` on (a fresh zeroed buffer when omitted), laid out for `config`. */
export function mapWeights(config: ModelConfig, buffer: ArrayBufferLike = new SharedArrayBuffer(weightsByteLength(config)), byteOffset = 0): ModelWeights {
  if (byteOffset % 16 !== 0 || byteOffset + weightsByteLength(config) > buffer.byteLength) {
    throw new RangeError(`weights need ${weightsByteLength(config)} bytes at a 16-byte-aligned offset; the buffer holds ${buffer.byteLength} from ${byteOffset}`);
  }
  const views = new Map<string, Float32Array>();
  let offset = byteOffset;
  for (const { name, size } of layout(config)) {
    views.set(name, new Float32Array(buffer, offset, size));
    offset += 4 * size;
  }
  const get = (name: string) => views.get(name) as Float32Array;
  const layers = Array.from({ length: config.numLayers }, (_, l) => ({
    attnNorm: get(`layers.${l}.attnNorm`),
    wqkv: get(`layers.${l}.wqkv`),
    wo: get(`layers.${l}.wo`),
    ffnNorm: get(`layers.${l}.ffnNorm`),
    wGateUp: get(`layers.${l}.wGateUp`),
    wDown: get(`layers.${l}.wDown`),
  }));
  return { config, buffer, tokEmbedding: get('tokEmbedding'), layers, finalNorm: get('finalNorm'), lmHead: get('lmHead') };
}

/** Byte tokens that make readable text: printable ASCII, tab and newline. */
function isReadableByte(id: number): boolean {
  return (id >= 0x20 && id < 0x7f) || id === 0x0a || id === 0x09;
}

/**
 * Fills `weights` deterministically from `seed`, each tensor from its own stream so that a
 * tensor's values do not depend on the others' sizes. Matrices are uniform in ±1/√inDim (the
 * scale that keeps activations of order one); norms are 1. The LM head is steeper and favours
 * readable bytes and end-of-sequence, so that dummy output looks like text and sometimes stops
 * on its own.
 */
export function initDummyWeights(weights: ModelWeights, seed: number, eosTokenId: number): void {
  const c = weights.config;
  let stream = 0;
  const uniform = (t: Float32Array, scale: number) => new Rng(deriveSeed(seed, stream++)).fillUniform(t, scale);
  uniform(weights.tokEmbedding, 1);
  for (const layer of weights.layers) {
    layer.attnNorm.fill(1);
    uniform(layer.wqkv, 1 / Math.sqrt(c.dim));
    uniform(layer.wo, 1 / Math.sqrt(c.dim));
    layer.ffnNorm.fill(1);
    uniform(layer.wGateUp, 1 / Math.sqrt(c.dim));
    uniform(layer.wDown, 1 / Math.sqrt(c.hiddenDim));
  }
  weights.finalNorm.fill(1);
  uniform(weights.lmHead, 4 / Math.sqrt(c.dim));
  for (let token = 0; token < c.vocabSize; token++) {
    if (isReadableByte(token) || token === eosTokenId) continue;
    const row = weights.lmHead.subarray(token * c.dim, (token + 1) * c.dim);
    for (let i = 0; i < row.length; i++) row[i] *= 0.2;
  }
}
