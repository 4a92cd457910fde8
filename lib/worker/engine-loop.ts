import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { EngineConfig } from '../engine/engine-config.js';
import { createEngineCore } from '../engine/engine-core.js';
import type { LLMEngine, SequenceOutput } from '../engine/llm-engine.js';
import type { WeightsShare } from '../model/load-model.js';
import { provideNavigatorGpu } from '../model/kernels/webgpu-setup.js';
import { ByteWriter } from '../transport/byte-codec.js';
import {
  NUM_BLOCKS,
  NUM_FREE_BLOCKS,
  NUM_PREEMPTIONS,
  NUM_RUNNING,
  NUM_WAITING,
  OPEN_CORE_SPANS,
  READY,
  ringDoorbell,
  SHUTDOWN,
  SPANS_DROPPED,
  SPANS_EXPORTED,
  SPANS_FAILED,
  STEP,
  TRACING_ERRORS,
  waitForChange,
  type ChannelBuffers,
} from '../transport/channels.js';
import {
  ABORT_REQUEST,
  ADD_REQUEST,
  CRASH_WORKER,
  decodeAddRequest,
  decodeCrash,
  decodeAbort,
  encodeOutput,
  REQUEST_OUTPUT,
  type AbortReason,
  type AddRequestRecord,
  type CrashMode,
} from '../transport/records.js';
import { HEAD, RingReader, RingWriter, TAIL } from '../transport/ring.js';
import type { CoreTracing } from '../tracing/core-tracing.js';
import type { TracingConfig } from '../tracing/tracing-config.js';
import { createLogger, type LogLevel } from '../util/logger.js';

/** What the API thread hands a worker: everything it needs to build and run one engine replica. */
export interface EngineWorkerTask {
  readonly workerIndex: number;
  readonly config: EngineConfig;
  /** The model's weights, built once by the API thread and shared, not copied. */
  readonly weights: WeightsShare;
  readonly channels: ChannelBuffers;
  readonly tracing: TracingConfig;
  readonly logLevel: LogLevel;
  /** Lets CRASH_WORKER records through; for tests only. */
  readonly enableTestHooks: boolean;
}

/**
 * One engine replica's life: build it, then loop until told to stop. Each turn drains every
 * waiting submit record, runs one engine step, stores the scheduler stats and publishes the
 * step's outputs with a single doorbell ring. An idle worker waits on the submit ring's HEAD
 * with Atomics.waitAsync, which leaves its event loop free (timers, async kernels, exporters)
 * and costs no CPU. At shutdown every request still held is finished as aborted.
 */
export async function runEngineWorker(task: EngineWorkerTask): Promise<void> {
  const submit = new RingReader(task.channels.submit);
  const control = new Int32Array(task.channels.control);
  const publisher = new OutputPublisher(new RingWriter(task.channels.output), new Int32Array(task.channels.doorbell));
  const logger = createLogger({ level: task.logLevel, fields: { thread: `engine-worker-${task.workerIndex}` } });
  // loaded only when on: with tracing off the OpenTelemetry SDK never enters this thread
  const tracing = task.tracing.enabled ? new (await import('../tracing/core-tracing.js')).CoreTracing(task.tracing, task.workerIndex, logger) : null;
  if (task.config.gpujsMode === 'webgpu' && task.config.kernels === 'gpujs') await provideNavigatorGpu();
  const { llm, kernels } = createEngineCore(task.weights, task.config, tracing?.onLifecycle);
  const store = () => storeStats(control, llm, tracing);
  if (tracing) tracing.onCountsChanged = store; // exports finish between steps, and while idle

  Atomics.store(control, READY, 1);
  Atomics.notify(control, READY);
  try {
    while (Atomics.load(control, SHUTDOWN) === 0) {
      const seenHead = Atomics.load(submit.header, HEAD);
      submit.drain((type, payload) => {
        if (type === ADD_REQUEST) publisher.admit(llm, decodeAddRequest(payload));
        else if (type === ABORT_REQUEST) publisher.abort(llm, decodeAbort(payload));
        else if (type === CRASH_WORKER && task.enableTestHooks) crash(decodeCrash(payload), llm);
      });
      if (publisher.hasRefused) await publisher.publish([]);
      if (!llm.hasWork) {
        store();
        await waitForChange(submit.header, HEAD, seenHead, true);
        continue;
      }
      const outputs = await llm.step();
      store();
      await publisher.publish(outputs);
      await yieldToEventLoop();
    }
    await publisher.publish(llm.finishAll('abort'));
    store();
  } catch (err) {
    // the replica is going down: its sequences end (and their spans with FINISHED error) here
    llm.finishAll('error', err instanceof Error ? err.message : String(err));
    throw err;
  } finally {
    kernels.dispose();
    await tracing?.shutdown();
    store();
  }
}

function storeStats(control: Int32Array, llm: LLMEngine, tracing: CoreTracing | null): void {
  const { scheduler } = llm;
  Atomics.store(control, NUM_RUNNING, scheduler.running.length);
  Atomics.store(control, NUM_WAITING, scheduler.waiting.length);
  Atomics.store(control, NUM_FREE_BLOCKS, scheduler.blockManager.numFreeBlocks);
  Atomics.store(control, NUM_BLOCKS, scheduler.blockManager.numBlocks);
  Atomics.store(control, STEP, scheduler.step);
  Atomics.store(control, NUM_PREEMPTIONS, scheduler.numPreemptions);
  if (!tracing) return;
  const counts = tracing.tracing?.counts;
  Atomics.store(control, OPEN_CORE_SPANS, tracing.numOpenSpans);
  Atomics.store(control, SPANS_EXPORTED, counts?.exported ?? 0);
  Atomics.store(control, SPANS_DROPPED, counts?.dropped ?? 0);
  Atomics.store(control, SPANS_FAILED, counts?.failed ?? 0);
  Atomics.store(control, TRACING_ERRORS, tracing.numErrors);
}

function crash(mode: CrashMode, llm: LLMEngine): never | void {
  if (mode === 'fail-step') return llm.failNextStepForTesting('injected step failure');
  if (mode === 'exit') process.exit(70);
  if (mode === 'uncaught') {
    setImmediate(() => {
      throw new Error('engine worker crashed on request (uncaught)');
    });
    return;
  }
  throw new Error('engine worker crashed on request');
}

/** Maps the API thread's request keys to sequences and writes their outputs to the output ring. */
class OutputPublisher {
  private readonly keyOfSeq = new Map<number, number>();
  private readonly seqOfKey = new Map<number, number>();
  private readonly writer = new ByteWriter();
  /** Final outputs of requests refused on arrival, written with the next publish. */
  private refused: { key: number; output: SequenceOutput }[] = [];

  constructor(
    private readonly ring: RingWriter,
    private readonly doorbell: Int32Array,
  ) {}

  admit(llm: LLMEngine, record: AddRequestRecord): void {
    try {
      const trace = record.sampled ? { carrier: record.carrier, sampled: true, choiceIndex: record.choiceIndex } : undefined;
      const seqId = llm.addRequest({ requestId: record.requestId, promptTokenIds: record.promptTokenIds, params: record.params, ...(trace ? { trace } : {}) });
      this.keyOfSeq.set(seqId, record.key);
      this.seqOfKey.set(record.key, seqId);
    } catch (err) {
      // the API thread validates first, so this means the two disagree about the limits
      const now = process.hrtime.bigint();
      const stamps = { queuedNs: now, scheduledNs: null, firstTokenNs: null, finishedNs: now };
      const error = err instanceof Error ? err.message : String(err);
      this.refused.push({
        key: record.key,
        output: { seqId: 0, requestId: record.requestId, newTokenIds: [], finishReason: 'error', error, numPromptTokens: 0, numOutputTokens: 0, stamps, tsNs: now },
      });
    }
  }

  get hasRefused(): boolean {
    return this.refused.length > 0;
  }

  abort(llm: LLMEngine, { key, reason }: { key: number; reason: AbortReason }): void {
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
      records.push({ key, output });
    }
    for (const { key, output } of records) {
      const bytes = encodeOutput(this.writer, {
        key,
        newTokenIds: output.newTokenIds,
        finishReason: output.finishReason,
        error: output.error ?? null,
        stamps: output.stamps,
        tsNs: output.tsNs,
      });
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
