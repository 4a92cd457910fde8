import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { EngineFailureError, GenerationError } from '../errors.js';
import type { Kernels } from '../model/kernels/kernels.js';
import { buildWeights } from '../model/load-model.js';
import { provideNavigatorGpu } from '../model/kernels/webgpu-setup.js';
import { ByteTokenizer } from '../tokenizer/byte-tokenizer.js';
import { resolveEngineConfig, type EngineConfig, type EngineConfigInput } from './engine-config.js';
import { createEngineCore } from './engine-core.js';
import { resolveKernels } from './resolve-kernels.js';
import { RequestStream, type GenerationStream } from './generation-stream.js';
import type { LifecycleEvent } from './lifecycle.js';
import type { LLMEngine, SequenceOutput } from './llm-engine.js';
import { resolveSamplingParams, type SamplingParamsInput } from './sampling-params.js';
import type { TraceOptions } from './trace-options.js';

export interface GenerateOptions {
  /** Aborting it stops the request, frees its KV blocks and rejects the iteration with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Defaults to a fresh id. */
  readonly requestId?: string;
  /** Set by the server's tracing layer. */
  readonly trace?: TraceOptions;
  /** Called once the request is committed to the engine's queue, before the engine can see it. */
  readonly onCommitted?: () => void;
}

export interface EngineStats {
  readonly numRunning: number;
  readonly numWaiting: number;
  /** Fraction of KV cache blocks in use. */
  readonly kvCacheUsage: number;
  readonly numFreeKvBlocks: number;
  readonly numKvBlocks: number;
  /** Preemptions since the engine started. */
  readonly numPreemptions: number;
}

export interface CloseOptions {
  /** How long in-flight requests may run to completion before they are aborted. Default 0. */
  readonly gracePeriodMs?: number;
}

/** What the HTTP layer and embedders program against, wherever the engine runs. */
export interface Engine {
  readonly config: EngineConfig;
  readonly tokenizer: ByteTokenizer;
  /** True while the engine accepts requests. */
  readonly isReady: boolean;
  /** Text is encoded with a leading BOS; token ids are used as given. Throws on invalid input. */
  generate(prompt: string | readonly number[], params?: SamplingParamsInput, options?: GenerateOptions): GenerationStream;
  stats(): EngineStats;
  close(options?: CloseOptions): Promise<void>;
}

export interface EngineOptions extends EngineConfigInput {
  /** Called synchronously for every lifecycle event of every request. */
  readonly onLifecycle?: (event: LifecycleEvent) => void;
}

/** Builds an engine that runs in the calling thread. */
export async function createEngine(options: EngineOptions = {}): Promise<Engine> {
  const { config } = await resolveKernels(resolveEngineConfig(options));
  if (config.kernels === 'gpujs' && config.gpujsMode === 'webgpu') await provideNavigatorGpu();
  const { llm, kernels } = createEngineCore(buildWeights(config), config, options.onLifecycle);
  return new InProcessEngine(config, llm, kernels);
}

class InProcessEngine implements Engine {
  readonly tokenizer = new ByteTokenizer();
  private readonly streams = new Map<number, RequestStream>();
  private wake: (() => void) | null = null;
  /** Resolves close()'s grace period once the last in-flight request has finished. */
  private onDrained: (() => void) | null = null;
  private closing = false;
  private readonly loopDone: Promise<void>;

  constructor(
    readonly config: EngineConfig,
    private readonly llm: LLMEngine,
    private readonly kernels: Kernels,
  ) {
    this.loopDone = this.loop();
  }

  get isReady(): boolean {
    return !this.closing;
  }

  generate(prompt: string | readonly number[], params: SamplingParamsInput = {}, options: GenerateOptions = {}): GenerationStream {
    if (this.closing) throw new EngineFailureError('the engine is closed', 'server_shutdown');
    options.signal?.throwIfAborted();
    const promptTokenIds = typeof prompt === 'string' ? this.tokenizer.encode(prompt) : prompt;
    const resolved = resolveSamplingParams(params, this.tokenizer.vocabSize);
    const requestId = options.requestId ?? `req-${randomUUID()}`;
    // in-process there is no queue between caller and engine: committing is adding
    options.onCommitted?.();
    const seqId = this.llm.addRequest({ requestId, promptTokenIds, params: resolved, ...(options.trace ? { trace: options.trace } : {}) });
    const stream = new RequestStream(requestId, promptTokenIds.length, (reason) => this.cancel(seqId, reason), options.signal, undefined, resolved.stop);
    this.streams.set(seqId, stream);
    this.wake?.();
    return stream;
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

  async close({ gracePeriodMs = 0 }: CloseOptions = {}): Promise<void> {
    if (this.closing) return this.loopDone;
    if (gracePeriodMs > 0 && this.streams.size > 0) {
      const drained = new Promise<void>((resolve) => (this.onDrained = resolve));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, gracePeriodMs)))]);
      clearTimeout(timer);
    }
    this.closing = true;
    this.wake?.();
    await this.loopDone;
    const shutdown = new EngineFailureError('the engine was closed before the request finished', 'server_shutdown');
    this.deliver(this.llm.finishAll('abort'), shutdown);
    this.kernels.dispose();
  }

  private cancel(seqId: number, reason: 'abort' | 'stop'): void {
    this.llm.abort(seqId, reason);
    this.wake?.();
  }

  private async loop(): Promise<void> {
    while (!this.closing) {
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
      // let I/O, new requests and aborts in between steps
      await yieldToEventLoop();
    }
  }

  private deliver(outputs: readonly SequenceOutput[], abortError?: Error): void {
    for (const out of outputs) {
      const stream = this.streams.get(out.seqId);
      if (!stream) continue;
      if (out.finishReason !== null) this.streams.delete(out.seqId);
      const error =
        out.finishReason === 'error' ? new GenerationError(out.error ?? 'generation failed') : out.finishReason === 'abort' ? abortError : undefined;
      if (out.finishReason === 'abort' && !error) continue; // cancelled by its caller, who has stopped listening
      stream.deliver(out.newTokenIds, out.finishReason, out.stamps, error, out.tsNs);
    }
    if (this.streams.size === 0) this.onDrained?.();
  }
}
