import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
import type { ResolvedEngineConfig } from '../engine/engine-config.js';
import { createEngineCore, type EngineCoreBuilder } from '../engine/engine-core.js';
import { emptyStepProfile } from '../engine/step-profile.js';
import type { WeightsShare } from '../models/load-weights.js';
import type { TracingConfig } from '../observe/tracing/tracing-config.js';
import type { Tokenizer, TokenizerRecipe } from '../tokenizer/tokenizer.js';
import { tokenizerFrom } from '../tokenizer/tokenizer-recipe.js';
import { READY, SHUTDOWN, THREAD_ID, waitForChange, type ChannelBuffers } from '../transport/channels.js';
import { ABORT_REQUEST, ADD_REQUEST, decodeAbort, decodeAddRequest } from '../transport/records.js';
import { HEAD, RingReader, RingWriter } from '../transport/ring.js';
import { epochMs } from '../util/clock.js';
import { createLogger, type LogLevel } from '../util/logger.js';
import { OutputPublisher } from './output-publisher.js';
import { publishWorkerStats } from './worker-stats.js';

/** What the API thread hands a worker: everything it needs to build and run one engine replica. */
export interface EngineWorkerTask {
  readonly workerIndex: number;
  readonly config: ResolvedEngineConfig;
  /** The model's weights, built once by the API thread and shared, not copied. */
  readonly weights: WeightsShare;
  /** The model's vocabulary, copied to the worker once, at its start, never per request. */
  readonly vocabulary: TokenizerRecipe;
  readonly channels: ChannelBuffers;
  readonly tracing: TracingConfig;
  readonly logLevel: LogLevel;
}

/**
 * One engine replica's life: build it, then loop until told to stop. Each turn drains every
 * waiting submit record, runs one engine step, stores the scheduler stats and publishes the
 * step's outputs with a single doorbell ring. An idle worker waits on the submit ring's HEAD
 * with Atomics.waitAsync, which leaves its event loop free (timers, async kernels, exporters)
 * and costs no CPU. At shutdown every request still held is finished as aborted.
 */
export async function runEngineWorker(task: EngineWorkerTask, buildCore: EngineCoreBuilder = createEngineCore): Promise<void> {
  const submit = new RingReader(task.channels.submit);
  const control = new Int32Array(task.channels.control);
  const publisher = new OutputPublisher(new RingWriter(task.channels.output), new Int32Array(task.channels.doorbell));
  const logger = createLogger({ level: task.logLevel, fields: { thread: `engine-worker-${task.workerIndex}` } });
  // loaded only when on: with tracing off the OpenTelemetry SDK never enters this thread
  const tracing = task.tracing.enabled ? new (await import('../observe/tracing/core-tracing.js')).CoreTracing(task.tracing, task.workerIndex, logger) : null;
  const { llm, kernels } = await buildCore({
    weights: task.weights,
    vocabulary: lazily(() => tokenizerFrom(task.vocabulary)),
    config: task.config,
    ...(tracing ? { onLifecycle: tracing.onLifecycle } : {}),
  });
  const store = () => publishWorkerStats(control, llm, tracing);
  if (tracing) tracing.onCountsChanged = store; // exports finish between steps, and while idle

  Atomics.store(control, THREAD_ID, threadId);
  Atomics.store(control, READY, 1);
  Atomics.notify(control, READY);
  try {
    while (Atomics.load(control, SHUTDOWN) === 0) {
      const seenHead = Atomics.load(submit.header, HEAD);
      submit.drain((type, payload) => {
        if (type === ADD_REQUEST) publisher.admit(llm, decodeAddRequest(payload));
        else if (type === ABORT_REQUEST) publisher.abort(llm, decodeAbort(payload));
      });
      if (publisher.hasRefused) await publisher.publish([]);
      if (!llm.hasWork) {
        store();
        await waitForChange(submit.header, HEAD, seenHead, true);
        continue;
      }
      // a sampled step records where its time went; an unsampled one measures nothing
      const profile = tracing?.stepSampled() ? emptyStepProfile() : undefined;
      const startMs = profile ? epochMs() : 0;
      const outputs = await llm.step(profile);
      const outputStartMs = profile ? epochMs() : 0;
      store();
      await publisher.publish(outputs);
      if (profile && tracing) tracing.recordStep(profile, startMs, outputStartMs, epochMs());
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

/** `build`'s result, made on the first call and kept. */
function lazily(build: () => Tokenizer): () => Tokenizer {
  let built: Tokenizer | null = null;
  return () => (built ??= build());
}
