/**
 * xoshiro128** (Blackman & Vigna, 2018): a small, fast generator with a 128-bit state.
 * Used for dummy weights and per-request sampling, where reproducibility from a seed matters
 * and cryptographic strength does not.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** Any safe integer seeds a distinct stream; the same seed always gives the same stream. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    // splitmix32 expands the seed's two 32-bit halves into four well-mixed state words
    let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / 0x1_0000_0000) | 0, 0x9e3779b9);
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Fills `out` with uniform values in [-scale, scale), 32 random bits each (fast path for weights). */
  fillUniform(out: Float32Array, scale: number): void {
    const k = (2 * scale) / 4294967296;
    for (let i = 0; i < out.length; i++) out[i] = this.nextUint32() * k - scale;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Derives an independent child seed, e.g. one per choice of an n > 1 request. */
export function deriveSeed(seed: number, index: number): number {
  const rng = new Rng(seed);
  for (let i = 0; i < index; i++) rng.nextUint32();
  // 53-bit result from two draws keeps children distinct for any practical index
  return (rng.nextUint32() >>> 11) * 4294967296 + rng.nextUint32();
}
