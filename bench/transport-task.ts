/** piscina task of bench/transport.ts: returns its payload. */
export default function echo(payload: Uint8Array): Uint8Array {
  return payload;
}
