/**
 * A single-producer, single-consumer ring of fixed-size slots in a SharedArrayBuffer, carrying
 * variable-length records between two threads without postMessage.
 *
 *   byte 0          HEADER_BYTES                                 HEADER_BYTES + numSlots·SLOT_BYTES
 *   ├─ header ──────┼─ slot 0 ─┼─ slot 1 ─┼── … ──┼─ slot numSlots−1 ─┤
 *
 *   header (Int32 words):
 *     HEAD       slots published by the producer: a counter that only grows (mod 2³²)
 *     TAIL       slots released by the consumer: likewise
 *     NUM_SLOTS  a power of two, so counters map to slots with a mask even across 2³² wraps
 *
 *   record = frame (u32 payload length, u32 type) + payload, padded to whole slots; a record
 *   starts on a slot boundary, may span any number of slots and may wrap from the last slot to
 *   slot 0. A record larger than the whole ring is refused.
 *
 * Protocol. The producer writes records into free slots, then makes all of them visible at once
 * by storing HEAD (publish); the consumer loads HEAD, reads every record up to it, then returns
 * their slots by storing TAIL. Atomics.store/load order the plain byte writes before them, so a
 * consumer that sees a HEAD also sees every byte written before it. Free slots are
 * NUM_SLOTS − (HEAD − TAIL). Either side can wait for the other with Atomics.waitAsync on HEAD
 * or TAIL; after each store the storing side calls Atomics.notify on the same word.
 */
export const SLOT_BYTES = 64;
export const FRAME_BYTES = 8;
export const HEADER_BYTES = 64;
export const HEAD = 0;
export const TAIL = 1;
export const NUM_SLOTS = 2;

export function createRingBuffer(minBytes: number): SharedArrayBuffer {
  let numSlots = 16;
  while (numSlots * SLOT_BYTES < minBytes) numSlots *= 2;
  const sab = new SharedArrayBuffer(HEADER_BYTES + numSlots * SLOT_BYTES);
  new Int32Array(sab, 0, HEADER_BYTES / 4)[NUM_SLOTS] = numSlots;
  return sab;
}

/** Largest payload a ring built on `sab` can carry in one record. */
export function maxPayloadBytes(sab: SharedArrayBuffer): number {
  return new Int32Array(sab, 0, HEADER_BYTES / 4)[NUM_SLOTS] * SLOT_BYTES - FRAME_BYTES;
}

class RingView {
  readonly header: Int32Array; // [HEADER_BYTES / 4]
  readonly data: Uint8Array; // [numSlots · SLOT_BYTES]
  readonly frames: DataView;
  readonly numSlots: number;
  readonly mask: number;

  constructor(readonly sab: SharedArrayBuffer) {
    this.header = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.numSlots = this.header[NUM_SLOTS];
    if (this.numSlots < 1 || (this.numSlots & (this.numSlots - 1)) !== 0) throw new RangeError('ring slot count must be a power of two');
    this.data = new Uint8Array(sab, HEADER_BYTES, this.numSlots * SLOT_BYTES);
    this.frames = new DataView(sab, HEADER_BYTES, this.numSlots * SLOT_BYTES);
    this.mask = this.numSlots - 1;
  }

  slotsFor(payloadBytes: number): number {
    return Math.ceil((FRAME_BYTES + payloadBytes) / SLOT_BYTES);
  }
}

export class RingWriter extends RingView {
  /** Slots written, published or not (HEAD is only stored by publish()). */
  private writeSlot: number;

  constructor(sab: SharedArrayBuffer) {
    super(sab);
    this.writeSlot = Atomics.load(this.header, HEAD) >>> 0;
  }

  /** Slots free for writing right now. */
  get freeSlots(): number {
    return this.numSlots - ((this.writeSlot - (Atomics.load(this.header, TAIL) >>> 0)) >>> 0);
  }

  get tail(): number {
    return Atomics.load(this.header, TAIL);
  }

  canWrite(payloadBytes: number): boolean {
    return this.slotsFor(payloadBytes) <= this.freeSlots;
  }

  /**
   * Writes one record, invisible to the consumer until publish(). Returns false, writing
   * nothing, when the free slots are too few; throws if the record could never fit.
   */
  tryWrite(type: number, payload: Uint8Array): boolean {
    const slots = this.slotsFor(payload.length);
    if (slots > this.numSlots) throw new RangeError(`a ${payload.length}-byte record exceeds the ring (${this.numSlots * SLOT_BYTES} bytes)`);
    if (slots > this.freeSlots) return false;
    const start = (this.writeSlot & this.mask) * SLOT_BYTES;
    this.frames.setUint32(start, payload.length, true);
    this.frames.setUint32(start + 4, type, true);
    const first = Math.min(payload.length, this.data.length - start - FRAME_BYTES);
    this.data.set(payload.subarray(0, first), start + FRAME_BYTES);
    if (first < payload.length) this.data.set(payload.subarray(first), 0); // wrapped past the last slot
    this.writeSlot = (this.writeSlot + slots) >>> 0;
    return true;
  }

  /** True when records have been written since the last publish(). */
  get hasUnpublished(): boolean {
    return Atomics.load(this.header, HEAD) >>> 0 !== this.writeSlot;
  }

  /** Makes every record written so far visible, and wakes a consumer waiting on HEAD. */
  publish(): void {
    if (!this.hasUnpublished) return;
    Atomics.store(this.header, HEAD, this.writeSlot | 0);
    Atomics.notify(this.header, HEAD);
  }
}

export class RingReader extends RingView {
  private readSlot: number;
  private scratch = new Uint8Array(SLOT_BYTES);

  constructor(sab: SharedArrayBuffer) {
    super(sab);
    this.readSlot = Atomics.load(this.header, TAIL) >>> 0;
  }

  get head(): number {
    return Atomics.load(this.header, HEAD);
  }

  /**
   * Calls `onRecord` for every published record, in order, then releases their slots and wakes
   * a producer waiting on TAIL. `payload` is only valid during the call. Returns the count.
   */
  drain(onRecord: (type: number, payload: Uint8Array) => void): number {
    const head = Atomics.load(this.header, HEAD) >>> 0;
    let count = 0;
    try {
      while (this.readSlot !== head) {
        const start = (this.readSlot & this.mask) * SLOT_BYTES;
        const length = this.frames.getUint32(start, true);
        const type = this.frames.getUint32(start + 4, true);
        const payload = this.payloadAt(start + FRAME_BYTES, length);
        // advance first: a handler that throws loses its record instead of wedging the ring
        this.readSlot = (this.readSlot + this.slotsFor(length)) >>> 0;
        count++;
        onRecord(type, payload);
      }
    } finally {
      if (count > 0) {
        Atomics.store(this.header, TAIL, this.readSlot | 0);
        Atomics.notify(this.header, TAIL);
      }
    }
    return count;
  }

  private payloadAt(offset: number, length: number): Uint8Array {
    const first = Math.min(length, this.data.length - offset);
    if (first === length) return this.data.subarray(offset, offset + length);
    // wrapped: copy the two pieces into one contiguous buffer
    if (this.scratch.length < length) this.scratch = new Uint8Array(Math.max(length, 2 * this.scratch.length));
    this.scratch.set(this.data.subarray(offset, offset + first));
    this.scratch.set(this.data.subarray(0, length - first), first);
    return this.scratch.subarray(0, length);
  }
}
