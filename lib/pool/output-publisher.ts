import type { LLMEngine, SequenceOutput } from '../engine/llm-engine.js';
import type { CancelReason } from '../engine/sequence.js';
import { monotonicNs } from '../util/clock.js';
import { ByteWriter } from '../transport/byte-codec.js';
import { ringDoorbell, waitForChange } from '../transport/channels.js';
import { encodeOutput, REQUEST_OUTPUT, type AddRequestRecord, type RequestOutputRecord } from '../transport/records.js';
import { TAIL, type RingWriter } from '../transport/ring.js';

/**
 * The worker's side of its requests: maps the API thread's request keys to sequences, and
 * writes their outputs to the output ring, a whole step's worth before one doorbell ring.
 */
export class OutputPublisher {
  private readonly keyOfSeq = new Map<number, number>();
  private readonly seqOfKey = new Map<number, number>();
  private readonly writer = new ByteWriter();
  /** Final outputs of requests refused on arrival, written with the next publish. */
  private refused: RequestOutputRecord[] = [];

  constructor(
    private readonly ring: RingWriter,
    private readonly doorbell: Int32Array,
  ) {}

  admit(llm: LLMEngine, { key, request }: AddRequestRecord): void {
    try {
      const seqId = llm.addRequest(request);
      this.keyOfSeq.set(seqId, key);
      this.seqOfKey.set(key, seqId);
    } catch (err) {
      // the API thread validates first, so this means the two disagree about the limits
      const now = monotonicNs();
      const error = err instanceof Error ? err.message : String(err);
      const stamps = { queuedNs: now, scheduledNs: null, firstTokenNs: null, finishedNs: now, preemptions: [] };
      this.refused.push({ key, newTokenIds: [], finishReason: 'error', error, stamps, tsNs: now });
    }
  }

  get hasRefused(): boolean {
    return this.refused.length > 0;
  }

  abort(llm: LLMEngine, { key, reason }: { key: number; reason: CancelReason }): void {
    const seqId = this.seqOfKey.get(key);
    if (seqId !== undefined) llm.abort(seqId, reason);
  }

  /** Writes every output, waiting for the API thread to make room if the ring is full. */
  async publish(outputs: readonly SequenceOutput[]): Promise<void> {
    const records = this.refused.splice(0);
    for (const output of outputs) {
      const key = this.keyOfSeq.get(output.seqId);
      if (key === undefined) continue;
      if (output.finishReason !== null) {
        this.keyOfSeq.delete(output.seqId);
        this.seqOfKey.delete(key);
      }
      records.push({ ...output, key });
    }
    for (const record of records) {
      const bytes = encodeOutput(this.writer, record);
      while (!this.ring.tryWrite(REQUEST_OUTPUT, bytes)) {
        const seenTail = Atomics.load(this.ring.header, TAIL);
        this.flush();
        await waitForChange(this.ring.header, TAIL, seenTail, true);
      }
    }
    this.flush();
  }

  private flush(): void {
    if (!this.ring.hasUnpublished) return;
    this.ring.publish();
    ringDoorbell(this.doorbell);
  }
}
