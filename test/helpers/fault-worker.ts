/**
 * A piscina entry for tests: the real engine loop, with faults a test can inject into a worker
 * through a BroadcastChannel (see faults.ts), and a way to ask what vocabulary it was handed. Production workers run workers/engine-worker.ts,
 * which has none of this.
 */
import { createEngineCore, type EngineCoreBuilder } from '../../lib/engine/engine-core.js';
import { runEngineWorker, type EngineWorkerTask } from '../../lib/pool/engine-loop.js';
import { FAULT_CHANNEL, type FaultMessage, type FaultMode } from './faults.js';

export default async function faultyEngineWorker(task: EngineWorkerTask): Promise<void> {
  const channel = new BroadcastChannel(FAULT_CHANNEL);
  (channel as unknown as { unref(): void }).unref(); // a test's faults never keep a worker alive
  const build: EngineCoreBuilder = async (...args) => {
    const core = await createEngineCore(...args);
    const arm = armFaults(core);
    channel.onmessage = (event) => {
      const message = (event as MessageEvent).data as FaultMessage;
      if (message.kind === 'decode' && message.workerIndex === task.workerIndex) {
        channel.postMessage({ kind: 'decoded', id: message.id, text: core.vocabulary().decode(message.ids) } satisfies FaultMessage);
      }
      if (message.kind !== 'inject' || message.workerIndex !== task.workerIndex) return;
      channel.postMessage({ kind: 'armed', id: message.id } satisfies FaultMessage);
      arm(message.mode);
    };
    return core;
  };
  try {
    await runEngineWorker(task, build);
  } finally {
    channel.close();
  }
}

function armFaults({ llm, kernels }: Awaited<ReturnType<EngineCoreBuilder>>): (mode: FaultMode) => void {
  let crashNextStep = false;
  let hangNextStep = false;
  const step = llm.step.bind(llm);
  llm.step = () => {
    // blocks the thread as a kernel that never returns would; only terminating it ends this
    if (hangNextStep) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    return crashNextStep ? Promise.reject(new Error('engine worker crashed on request')) : step();
  };
  return (mode) => {
    if (mode === 'throw') crashNextStep = true;
    if (mode === 'hang') hangNextStep = true;
    // after the acknowledgement has left this thread
    if (mode === 'exit') setImmediate(() => process.exit(70));
    if (mode === 'uncaught') {
      setImmediate(() => {
        throw new Error('engine worker crashed on request (uncaught)');
      });
    }
    if (mode === 'fail-step') {
      // the next kernel call fails inside the step: that step's sequences fail, the worker lives
      const matmul = kernels.matmul;
      kernels.matmul = () => {
        kernels.matmul = matmul;
        throw new Error('injected step failure');
      };
    }
  };
}
