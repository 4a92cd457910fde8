/**
 * Fault injection for tests. A pool started with `workerModule: FAULTY_WORKER` runs the engine
 * loop of fault-worker.ts, which listens for faults on a BroadcastChannel; `injectFault` sends one
 * and resolves once the worker has armed it.
 *   throw      the worker's loop fails at its next step (its task rejects), as a bug in a step would
 *   uncaught   an uncaught exception kills the worker thread
 *   exit       the worker thread exits
 *   fail-step  the next step's forward pass fails: its sequences fail, the worker lives
 *   hang       the next step never returns: the thread blocks until it is terminated
 */
export type FaultMode = 'throw' | 'uncaught' | 'exit' | 'fail-step' | 'hang';

export type FaultMessage =
  | { readonly kind: 'inject'; readonly id: number; readonly workerIndex: number; readonly mode: FaultMode }
  | { readonly kind: 'armed'; readonly id: number }
  // not a fault: asks the worker's engine core to decode ids with the vocabulary it was handed
  | { readonly kind: 'decode'; readonly id: number; readonly workerIndex: number; readonly ids: readonly number[] }
  | { readonly kind: 'decoded'; readonly id: number; readonly text: string };

export const FAULT_CHANNEL = 'journey-llm-test-faults';
export const FAULTY_WORKER = new URL('./fault-worker.js', import.meta.url);

const channel = new BroadcastChannel(FAULT_CHANNEL);
(channel as unknown as { unref(): void }).unref();
const armed = new Map<number, () => void>();
const decoded = new Map<number, (text: string) => void>();
channel.onmessage = (event) => {
  const message = (event as MessageEvent).data as FaultMessage;
  if (message.kind === 'armed') armed.get(message.id)?.();
  if (message.kind === 'decoded') decoded.get(message.id)?.(message.text);
};
let nextId = 1;

/** Makes engine worker `workerIndex` of a pool running FAULTY_WORKER fail in the way `mode` names. */
export function injectFault(workerIndex: number, mode: FaultMode): Promise<void> {
  const id = nextId++;
  const done = new Promise<void>((resolve) => armed.set(id, resolve)).finally(() => armed.delete(id));
  channel.postMessage({ kind: 'inject', id, workerIndex, mode } satisfies FaultMessage);
  return done;
}

/** `ids` decoded by the vocabulary engine worker `workerIndex` (running FAULTY_WORKER) was handed at its start. */
export function decodeInWorker(workerIndex: number, ids: readonly number[]): Promise<string> {
  const id = nextId++;
  const done = new Promise<string>((resolve) => decoded.set(id, resolve)).finally(() => decoded.delete(id));
  channel.postMessage({ kind: 'decode', id, workerIndex, ids } satisfies FaultMessage);
  return done;
}
