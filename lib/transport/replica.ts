import type { RequestStream } from '../engine/generation-stream.js';
import { EngineFailureError } from '../errors.js';
import { ByteWriter } from './byte-codec.js';
import {
  createChannelBuffers,
  NUM_BLOCKS,
  NUM_FREE_BLOCKS,
  NUM_PREEMPTIONS,
  NUM_RUNNING,
  NUM_WAITING,
  OPEN_CORE_SPANS,
  READY,
  SHUTDOWN,
  SPANS_DROPPED,
  SPANS_EXPORTED,
  SPANS_FAILED,
  STEP,
  TRACING_ERRORS,
  waitForChange,
  type ChannelBuffers,
  type ChannelSizes,
} from './channels.js';
import { ABORT_REQUEST, encodeAbort, type AbortReason } from './records.js';
import { HEAD, RingReader, RingWriter } from './ring.js';

export interface InFlight {
  readonly stream: RequestStream;
  /** Its caller stopped listening; an abort is on its way to the worker. */
  cancelled: boolean;
}

export interface WorkerStats {
  readonly index: number;
  readonly ready: boolean;
  /** How many times this worker has been replaced. */
  readonly generation: number;
  readonly numInFlight: number;
  readonly numRunning: number;
  readonly numWaiting: number;
  readonly numFreeKvBlocks: number;
  readonly numKvBlocks: number;
  readonly step: number;
  /** Preemptions over every generation of this worker. */
  readonly numPreemptions: number;
  /** Journey tracing in this worker (current generation): open spans, spans exported, dropped, failed. */
  readonly tracing: { readonly openSpans: number; readonly exported: number; readonly dropped: number; readonly failed: number; readonly errors: number };
}

/**
 * The API thread's view of one engine worker: its channels, the requests it holds, and whether
 * it is up. A replacement worker gets fresh channels (`renew`), so nothing a dead worker left
 * half-written can reach the new one.
 */
export class Replica {
  /** Incremented on every replacement; callbacks of an older generation are ignored. */
  generation = 0;
  channels!: ChannelBuffers;
  submit!: RingWriter;
  output!: RingReader;
  control!: Int32Array;
  readonly inFlight = new Map<number, InFlight>();
  /** True once any generation of this worker finished starting up. */
  wasEverReady = false;
  private running = false;
  private task: Promise<void> = Promise.resolve();
  private readyPromise: Promise<void> = Promise.resolve();
  /** Preemptions of earlier generations, so the total never goes backwards. */
  private preemptionsBefore = 0;
  /** Aborts that found the submit ring full; sent at the next drain. */
  private pendingAborts: { key: number; reason: AbortReason }[] = [];
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
    this.generation++;
    this.pendingAborts = [];
    this.attach();
  }

  requestShutdown(): void {
    Atomics.store(this.control, SHUTDOWN, 1);
    Atomics.notify(this.submit.header, HEAD); // the word an idle worker waits on
  }

  failAll(error: Error): void {
    for (const { stream, cancelled } of this.inFlight.values()) if (!cancelled) stream.fail(error);
    this.inFlight.clear();
  }

  sendAbort(key: number, reason: AbortReason): void {
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
    const c = this.control;
    return {
      index: this.index,
      ready: this.isReady,
      generation: this.generation,
      numInFlight: this.inFlight.size,
      numRunning: Atomics.load(c, NUM_RUNNING),
      numWaiting: Atomics.load(c, NUM_WAITING),
      numFreeKvBlocks: Atomics.load(c, NUM_FREE_BLOCKS),
      numKvBlocks: Atomics.load(c, NUM_BLOCKS),
      step: Atomics.load(c, STEP),
      numPreemptions: this.preemptionsBefore + Atomics.load(c, NUM_PREEMPTIONS),
      tracing: {
        openSpans: Atomics.load(c, OPEN_CORE_SPANS),
        exported: Atomics.load(c, SPANS_EXPORTED),
        dropped: Atomics.load(c, SPANS_DROPPED),
        failed: Atomics.load(c, SPANS_FAILED),
        errors: Atomics.load(c, TRACING_ERRORS),
      },
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
