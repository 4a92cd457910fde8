/** Deterministic records for the ring stress test: mostly small, some spanning many slots. */
export function stressRecord(seed: number, i: number): { type: number; payload: Uint8Array; checksum: number } {
  let x = Math.imul(seed ^ (i + 1), 0x9e3779b1) >>> 0;
  const next = () => (x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6a09e667) >>> 0);
  const r = next() % 100;
  const length = r < 80 ? next() % 60 : r < 98 ? next() % 500 : 1000 + (next() % 3000);
  const payload = new Uint8Array(length);
  for (let j = 0; j < length; j++) payload[j] = next() & 0xff;
  return { type: 1 + (i % 7), payload, checksum: checksumOf(1 + (i % 7), payload) };
}

export function checksumOf(type: number, payload: Uint8Array): number {
  let h = (type * 2654435761) >>> 0;
  for (let j = 0; j < payload.length; j++) h = (Math.imul(h ^ payload[j], 16777619) + j) >>> 0;
  return (h + payload.length) >>> 0;
}
