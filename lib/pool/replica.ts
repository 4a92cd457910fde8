import type { OutputSink } from '../engine/engine-backend.js';
import type { CancelReason } from '../engine/sequence.js';
import { EngineFailureError } from '../errors.js';
import { ByteWriter } from '../transport/byte-codec.js';
import { createChannelBuffers, NUM_PREEMPTIONS, READY, SHUTDOWN, THREAD_ID, waitForChange, type ChannelBuffers, type ChannelSizes } from '../transport/channels.js';
import { ABORT_REQUEST, encodeAbort } from '../transport/records.js';
import { HEAD, RingReader, RingWriter } from '../transport/ring.js';
import { readWorkerStats, type SharedWorkerStats } from './worker-stats.js';

export interface WorkerStats extends SharedWorkerStats {
  readonly index: number;
  readonly ready: boolean;
  /** How many times this worker has been replaced. */
  readonly incarnation: number;
  readonly numInFlight: number;
  /** Preemptions over every incarnation of this worker. */
  readonly numPreemptions: number;
}

/**
 * The API thread's view of one engine worker: its channels, the requests it holds (by the key
 * their records carry), and whether it is up. A replacement worker gets fresh channels (`renew`),
 * so nothing a dead worker left half-written can reach the new one.
 */
export class Replica {
  /** Incremented on every replacement; callbacks of an older incarnation are ignored. */
  incarnation = 0;
  channels!: ChannelBuffers;
  submit!: RingWriter;
  output!: RingReader;
  control!: Int32Array;
  readonly inFlight = new Map<number, OutputSink>();
  /** True once any incarnation of this worker finished starting up. */
  wasEverReady = false;
  private running = false;
  private task: Promise<void> = Promise.resolve();
  private readyPromise: Promise<void> = Promise.resolve();
  /** Preemptions of earlier generations, so the total never goes backwards. */
  private preemptionsBefore = 0;
  /** Aborts that found the submit ring full; sent at the next drain. */
  private pendingAborts: { key: number; reason: CancelReason }[] = [];
  private readonly writer = new ByteWriter();

  constructor(
    readonly index: number,
    private readonly sizes: ChannelSizes,
    private readonly doorbell: SharedArrayBuffer,
    private readonly run: (channels: ChannelBuffers) => Promise<void>,
  ) {
    this.attach();
  }

  get isReady(): boolean {
    return this.running && Atomics.load(this.control, READY) === 1;
  }

  /** The worker thread running this incarnation (0 until it is ready). */
  get threadId(): number {
    return Atomics.load(this.control, THREAD_ID);
  }

  /** Starts the worker's task; the returned promise settles when the worker's loop ends. */
  start(): Promise<void> {
    this.running = true;
    this.task = this.run(this.channels).finally(() => {
      this.running = false;
    });
    this.readyPromise = this.waitReady(this.task);
    this.readyPromise.catch(() => {}); // surfaced through whenReady() or the task itself
    return this.task;
  }

  whenReady(): Promise<void> {
    return this.readyPromise;
  }

  /** Resolves (never rejects) once the current task has ended. */
  settled(): Promise<void> {
    return this.task.then(
      () => {},
      () => {},
    );
  }

  /** Fresh channels for a replacement worker. */
  renew(): void {
    this.preemptionsBefore += Atomics.load(this.control, NUM_PREEMPTIONS);
    this.incarnation++;
    this.retiredBecause = null;
    this.pendingAborts = [];
    this.attach();
  }

  /** Why this incarnation was taken out of service, if it was. */
  retiredBecause: string | null = null;

  /** Takes a worker that is about to be terminated out of service: new requests go elsewhere. */
  retire(reason: string): void {
    this.retiredBecause = reason;
    Atomics.store(this.control, READY, 0);
  }

  requestShutdown(): void {
    Atomics.store(this.control, SHUTDOWN, 1);
    Atomics.notify(this.submit.header, HEAD); // the word an idle worker waits on
  }

  failAll(error: Error): void {
    for (const sink of this.inFlight.values()) sink.fail(error);
    this.inFlight.clear();
  }

  sendAbort(key: number, reason: CancelReason): void {
    this.pendingAborts.push({ key, reason });
    this.flushAborts();
  }

  flushAborts(): void {
    let sent = 0;
    const pending = this.pendingAborts;
    while (sent < pending.length && this.submit.tryWrite(ABORT_REQUEST, encodeAbort(this.writer, pending[sent].key, pending[sent].reason))) sent++;
    if (sent === 0) return;
    this.pendingAborts.splice(0, sent);
    this.submit.publish();
  }

  stats(): WorkerStats {
    const shared = readWorkerStats(this.control);
    return {
      ...shared,
      index: this.index,
      ready: this.isReady,
      incarnation: this.incarnation,
      numInFlight: this.inFlight.size,
      numPreemptions: this.preemptionsBefore + shared.numPreemptions,
    };
  }

  private attach(): void {
    this.channels = createChannelBuffers(this.sizes, this.doorbell);
    this.submit = new RingWriter(this.channels.submit);
    this.output = new RingReader(this.channels.output);
    this.control = new Int32Array(this.channels.control);
  }

  private async waitReady(task: Promise<void>): Promise<void> {
    let ended = false;
    const end = task.then(
      () => void (ended = true),
      () => void (ended = true),
    );
    const control = this.control;
    while (Atomics.load(control, READY) === 0) {
      if (ended) {
        await task; // rethrows the worker's start-up error, if it had one
        throw new EngineFailureError(`engine worker ${this.index} stopped before it was ready`);
      }
      await Promise.race([waitForChange(control, READY, 0), end]);
    }
    this.wasEverReady = true;
  }
}
