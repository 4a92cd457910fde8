import { createRingBuffer } from './ring.js';

/**
 * The shared memory between the API thread and one engine worker: a submit ring (API → worker),
 * an output ring (worker → API), and a control block. One output doorbell is shared by all
 * workers, so the API thread waits on a single word for any worker's outputs.
 *
 * Control block (Int32 words):
 *   SHUTDOWN         the API thread sets 1 to end the worker's loop (then notifies the submit
 *                    ring's HEAD, the word an idle worker waits on)
 *   READY            the worker sets 1 once its engine is built, and notifies it
 *   NUM_RUNNING, NUM_WAITING, NUM_FREE_BLOCKS, NUM_BLOCKS, STEP
 *                    the worker's scheduler, stored after every step, before its outputs
 *                    are published (so whoever sees an output sees stats at least as new)
 *   NUM_PREEMPTIONS  preemptions so far
 *   OPEN_CORE_SPANS, SPANS_EXPORTED, SPANS_DROPPED, SPANS_FAILED, TRACING_ERRORS
 *                    the worker's journey tracing: spans open now, and what became of finished ones
 *   THREAD_ID        the worker thread's threadId, stored before READY, so that the API thread can
 *                    terminate a worker that hangs
 *
 * Doorbell (Int32 word 0): a counter every worker increments and notifies after publishing a
 * step's outputs; the API thread waits for it to move past the value it last saw.
 */
export const SHUTDOWN = 0;
export const READY = 1;
export const NUM_RUNNING = 2;
export const NUM_WAITING = 3;
export const NUM_FREE_BLOCKS = 4;
export const NUM_BLOCKS = 5;
export const STEP = 6;
export const NUM_PREEMPTIONS = 7;
export const OPEN_CORE_SPANS = 8;
export const SPANS_EXPORTED = 9;
export const SPANS_DROPPED = 10;
export const SPANS_FAILED = 11;
export const TRACING_ERRORS = 12;
export const THREAD_ID = 13;
const CONTROL_WORDS = 16;

export interface ChannelBuffers {
  readonly submit: SharedArrayBuffer;
  readonly output: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  readonly doorbell: SharedArrayBuffer;
}

export interface ChannelSizes {
  readonly submitBytes: number;
  readonly outputBytes: number;
}

export function createDoorbell(): SharedArrayBuffer {
  return new SharedArrayBuffer(4);
}

export function createChannelBuffers(sizes: ChannelSizes, doorbell: SharedArrayBuffer): ChannelBuffers {
  return {
    submit: createRingBuffer(sizes.submitBytes),
    output: createRingBuffer(sizes.outputBytes),
    control: new SharedArrayBuffer(CONTROL_WORDS * 4),
    doorbell,
  };
}

/** Rings big enough for the longest prompt several times over, and at least 1 MiB each. */
export function channelSizesFor(maxModelLen: number): ChannelSizes {
  const longestRecord = 4 * maxModelLen + 4096;
  return { submitBytes: Math.max(1 << 20, 4 * longestRecord), outputBytes: Math.max(1 << 20, 4 * longestRecord) };
}

export function ringDoorbell(doorbell: Int32Array): void {
  Atomics.add(doorbell, 0, 1);
  Atomics.notify(doorbell, 0);
}

/**
 * Resolves when `words[index]` no longer holds `seen` (at once if it already differs).
 * A pending Atomics.waitAsync does not keep a thread's event loop alive, so a thread whose only
 * work is this wait would exit in the middle of it; with `keepAlive` a timer holds the loop open
 * until the wait ends. Engine workers wait that way; the API thread does not, so that an idle
 * process can still exit.
 */
export async function waitForChange(words: Int32Array, index: number, seen: number, keepAlive = false): Promise<void> {
  const result = Atomics.waitAsync(words, index, seen);
  if (!result.async) return;
  const holder = keepAlive ? setInterval(() => {}, 1 << 30) : undefined;
  try {
    await result.value;
  } finally {
    clearInterval(holder);
  }
}
