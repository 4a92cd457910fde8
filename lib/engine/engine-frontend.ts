import { randomUUID } from 'node:crypto';
import { EngineFailureError, GenerationError } from '../errors.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { raceTimeout } from '../util/race-timeout.js';
import type { EngineBackend, OutputSink } from './engine-backend.js';
import type { ResolvedEngineConfig } from './engine-config.js';
import type { EngineOutput } from './engine-output.js';
import type { CloseOptions, Engine, EngineStats, GenerateOptions, ReplicaTracing } from './engine.js';
import { RequestStream, type GenerationStream } from './generation-stream.js';
import { decodeSpecOf, resolveSamplingParams, type SamplingParamsInput } from './sampling-params.js';
import { validateRequest } from './validate-request.js';

/**
 * The Engine every caller programs against, over either back end: it tokenizes and validates on
 * the calling thread, turns outputs into detokenized streams, maps how a request ended to the
 * error its caller sees, and closes with a grace period for the requests in flight.
 */
export class EngineFrontend implements Engine {
  private numInFlight = 0;
  /** Resolves close()'s grace period once the last request in flight has ended. */
  private onDrained: (() => void) | null = null;
  private closing = false;
  private closed: Promise<void> | null = null;

  constructor(
    readonly tokenizer: Tokenizer,
    private readonly backend: EngineBackend,
  ) {}

  get config(): ResolvedEngineConfig {
    return this.backend.config;
  }

  get isReady(): boolean {
    return !this.closing && this.backend.isReady;
  }

  get maxRequestsHeld(): number {
    return this.backend.maxRequestsHeld;
  }

  generate(prompt: string | readonly number[], params: SamplingParamsInput = {}, options: GenerateOptions = {}): GenerationStream {
    if (this.closing) throw new EngineFailureError('the engine is shutting down', 'server_shutdown');
    options.signal?.throwIfAborted();
    const promptTokenIds = typeof prompt === 'string' ? this.tokenizer.encode(prompt) : prompt;
    const vocabSize = this.config.modelConfig.vocabSize;
    const resolved = resolveSamplingParams(params, vocabSize);
    validateRequest(promptTokenIds, resolved, vocabSize, this.config.maxModelLen);
    const requestId = options.requestId ?? `req-${randomUUID()}`;

    let stream: RequestStream | null = null; // set before the back end can deliver anything
    const sink: OutputSink = {
      deliver: (out) => {
        stream?.deliver(out, errorOf(out));
        if (out.finishReason !== null) this.ended();
      },
      fail: (error) => {
        stream?.fail(error);
        this.ended();
      },
    };
    const request = { requestId, promptTokenIds, params: decodeSpecOf(resolved), ...(options.trace ? { trace: options.trace } : {}) };
    const submission = this.backend.submit(request, sink, options.onCommitted);
    this.numInFlight++;
    const stops = { stop: resolved.stop, includeStopStrInOutput: resolved.includeStopStrInOutput, minTokens: resolved.minTokens };
    stream = new RequestStream(requestId, promptTokenIds.length, this.tokenizer, (reason) => submission.cancel(reason), options.signal, submission.workerIndex, stops);
    return stream;
  }

  stats(): EngineStats {
    return this.backend.stats();
  }

  get numReplicas(): number {
    return this.backend.numReplicas;
  }

  replicaTracing(): readonly ReplicaTracing[] {
    return this.backend.replicaTracing();
  }

  /**
   * Stops intake, lets requests in flight finish for up to `gracePeriodMs`, then shuts the back
   * end down: what is still running ends with a server_shutdown error.
   */
  close({ gracePeriodMs = 0 }: CloseOptions = {}): Promise<void> {
    this.closed ??= this.shutdown(gracePeriodMs);
    return this.closed;
  }

  private async shutdown(gracePeriodMs: number): Promise<void> {
    this.closing = true;
    if (gracePeriodMs > 0 && this.numInFlight > 0) await raceTimeout(new Promise<void>((resolve) => (this.onDrained = resolve)), gracePeriodMs);
    this.onDrained = null;
    await this.backend.shutdown();
  }

  private ended(): void {
    if (--this.numInFlight === 0) this.onDrained?.();
  }
}

/**
 * The error a caller sees for how its request ended. An abort the caller asked for never reaches
 * it (its stream has already ended); any other abort is the engine stopping under it.
 */
function errorOf(out: EngineOutput): Error | undefined {
  if (out.finishReason === 'error') return new GenerationError(out.error ?? 'generation failed');
  if (out.finishReason === 'abort') return new EngineFailureError('the engine stopped before the request finished', 'server_shutdown');
  return undefined;
}
