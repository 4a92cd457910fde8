import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Kernels } from '../backends/kernels.js';
import type { EngineBackend, OutputSink, Submission } from './engine-backend.js';
import type { ResolvedEngineConfig } from './engine-config.js';
import type { EngineStats, ReplicaTracing } from './engine.js';
import type { EngineRequest, LLMEngine, SequenceOutput } from './llm-engine.js';

/**
 * An engine replica stepping in the calling thread: a loop that runs one step whenever there is
 * work and yields to the event loop between steps, so I/O, new requests and aborts get in.
 */
export class LocalBackend implements EngineBackend {
  private readonly sinks = new Map<number, OutputSink>();
  private wake: (() => void) | null = null;
  private stopping = false;
  private readonly loopDone: Promise<void>;

  constructor(
    readonly config: ResolvedEngineConfig,
    private readonly llm: LLMEngine,
    private readonly kernels: Kernels,
  ) {
    this.loopDone = this.loop();
  }

  get isReady(): boolean {
    return !this.stopping;
  }

  /** In-process, the scheduler's waiting queue takes whatever the caller adds. */
  readonly maxRequestsHeld = Infinity;

  submit(request: EngineRequest, sink: OutputSink, onCommitted?: () => void): Submission {
    onCommitted?.(); // in-process there is no queue between caller and engine: committing is adding
    const seqId = this.llm.addRequest(request);
    this.sinks.set(seqId, sink);
    this.wake?.();
    return {
      cancel: (reason) => {
        this.llm.abort(seqId, reason);
        this.wake?.();
      },
    };
  }

  readonly numReplicas = 1;

  /** An engine in this thread traces through its caller's onLifecycle, not spans of its own. */
  replicaTracing(): readonly ReplicaTracing[] {
    return [];
  }

  stats(): EngineStats {
    const { scheduler } = this.llm;
    const blocks = scheduler.blockManager;
    return {
      numRunning: scheduler.running.length,
      numWaiting: scheduler.waiting.length,
      kvCacheUsage: blocks.usage,
      numFreeKvBlocks: blocks.numFreeBlocks,
      numKvBlocks: blocks.numBlocks,
      numPreemptions: scheduler.numPreemptions,
    };
  }

  async shutdown(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loopDone;
    this.deliver(this.llm.finishAll('abort'));
    this.kernels.dispose();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      if (!this.llm.hasWork) {
        // a pending promise does not keep the process alive: an idle engine never blocks exit
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      try {
        this.deliver(await this.llm.step());
      } catch (err) {
        // a bug in the step itself: fail what is in flight rather than wedge every caller
        const message = err instanceof Error ? err.message : String(err);
        process.emitWarning(`engine step failed: ${message}`);
        this.deliver(this.llm.finishAll('error', message));
      }
      await yieldToEventLoop();
    }
  }

  private deliver(outputs: readonly SequenceOutput[]): void {
    for (const out of outputs) {
      const sink = this.sinks.get(out.seqId);
      if (!sink) continue;
      if (out.finishReason !== null) this.sinks.delete(out.seqId);
      sink.deliver(out);
    }
  }
}
