import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { Engine } from '../../engine/engine.js';
import { EngineFailureError, RequestTimeoutError } from '../../errors.js';
import type { RequestLifecycle, RequestObserver } from '../../observe/request-observer.js';
import type { PromptTokenizer } from '../../tokenizer/prompt-tokenizer.js';
import type { Logger } from '../../util/logger.js';
import { abortReasonOf, ClientDisconnectError } from '../abort-reasons.js';
import { choiceParams, ChoiceStreams, type ChoiceSpec } from '../choices.js';
import type { ConnectionGuard } from '../connection-guard.js';
import { ChoiceStates } from '../generation/choice-state.js';
import { GENERATION_ROUTES, prepareGeneration, type GenerationKind, type Prepared } from '../generation/prepare.js';
import { respondFailure, respondJson, respondStream, type ResponseParts } from '../generation/respond.js';
import { readJsonBody } from '../json-body.js';
import { tokenTextOf } from '../logprobs-format.js';
import { requestIdFrom } from '../request-id.js';
import type { StreamShaper } from '../response-format.js';
import type { ServedModels } from '../served-models.js';
import { SseWriter } from '../sse.js';
import { monotonicNs, unixSeconds } from '../../util/clock.js';

export type { GenerationKind } from '../generation/prepare.js';

export interface GenerationRouteDeps {
  readonly engine: Engine;
  /** Prompts as token ids, off the event loop where they are long or templated. */
  readonly prompts: PromptTokenizer;
  readonly models: ServedModels;
  readonly maxRequestBodyBytes: number;
  /** 0 = no limit */
  readonly requestTimeoutSeconds: number;
  /** A client that reads nothing of its response for this long is disconnected; 0 = never. */
  readonly streamStallTimeoutSeconds: number;
  /** Closes connections whose client stopped reading; a generation hears of it first. */
  readonly connectionGuard: Pick<ConnectionGuard, 'onStall'>;
  readonly observer: RequestObserver;
  readonly isShuttingDown: () => boolean;
  /** Aborted, with a server_shutdown error, when the server stops serving requests in flight. */
  readonly shutdownSignal: AbortSignal;
  /** Every response carries its `metrics` object unless the request says include_metrics: false. */
  readonly perRequestMetrics: boolean;
  readonly logger: Logger;
}

/** POST /v1/chat/completions, /v1/completions and /v1/responses: one engine request per prompt and choice. */
export function generationRoute(deps: GenerationRouteDeps, kind: GenerationKind) {
  const { path, operation, idPrefix } = GENERATION_ROUTES[kind];
  return (ctx: Context) => {
    const clientId = requestIdFrom(ctx.get('x-request-id'));
    const requestId = clientId ?? `${idPrefix}-${randomBytes(12).toString('hex')}`;
    const responseId = clientId ? `${idPrefix}-${clientId}` : requestId;
    const arrivedNs = monotonicNs();
    return new GenerationRequest(ctx, deps, requestId, responseId, kind, arrivedNs, deps.observer.begin(path, operation, requestId, ctx.headers, arrivedNs)).serve();
  };
}

/**
 * One generation request on its route: how it can end early (the client leaving or stalling, the
 * request timeout, shutdown), its preparation, its engine requests, and its response, with the
 * lifecycle told each moment exactly once.
 */
class GenerationRequest {
  private readonly created = unixSeconds();
  /** Aborted when the client disconnects or the request timeout fires. */
  private readonly controller = new AbortController();
  /** The controller's signal or the server's shutdown, whichever comes first; every choice listens to it. */
  private readonly signal: AbortSignal;
  private finished = false;
  private states: ChoiceStates | null = null;
  private prepared: Prepared | null = null;
  /** The stream, once it has begun: a failure ends it in the same event sequence. */
  private stream: { sse: SseWriter; shaper: StreamShaper } | null = null;

  constructor(
    private readonly ctx: Context,
    private readonly deps: GenerationRouteDeps,
    private readonly id: string,
    private readonly responseId: string,
    private readonly kind: GenerationKind,
    private readonly arrivedNs: bigint,
    private readonly lifecycle: RequestLifecycle,
  ) {
    this.signal = AbortSignal.any([this.controller.signal, deps.shutdownSignal]);
  }

  async serve(): Promise<void> {
    const { ctx, deps } = this;
    ctx.respond = false; // every path writes the raw response itself
    const onClose = () => {
      if (!ctx.res.writableFinished) this.controller.abort(new ClientDisconnectError());
    };
    ctx.res.once('close', onClose);
    const seconds = deps.requestTimeoutSeconds;
    const timer = seconds > 0 ? setTimeout(() => this.controller.abort(new RequestTimeoutError(seconds)), seconds * 1000) : undefined;
    const stall = deps.streamStallTimeoutSeconds;
    const unwatch = deps.connectionGuard.onStall(ctx.req.socket, () => {
      deps.logger.warn('disconnected a client that stopped reading its response', { requestId: this.id, stalledSeconds: stall });
      this.controller.abort(new ClientDisconnectError(`stalled: it read nothing of the response for ${stall} s`));
    });
    try {
      if (deps.isShuttingDown()) throw new EngineFailureError('the server is shutting down', 'server_shutdown');
      const body = await readJsonBody(ctx, deps.maxRequestBodyBytes);
      const traceId = this.lifecycle.logFields().trace_id;
      const ids = { requestId: this.id, responseId: this.responseId, ...(typeof traceId === 'string' ? { traceId } : {}) };
      const prepared = (this.prepared = await prepareGeneration(this.kind, body, deps, ids, (info) => this.lifecycle.described(info)));
      this.signal.throwIfAborted();
      const choices = new ChoiceStreams(deps.engine, this.specs(prepared), this.id, this.signal);
      this.lifecycle.handedOff(choices.committedNs);
      const parts = this.responseParts(prepared);
      if (prepared.request.stream) {
        this.stream = { sse: new SseWriter(ctx.res), shaper: prepared.format.stream(parts.format) };
        await respondStream(parts, choices.events(), this.stream.sse, this.stream.shaper);
      } else {
        await respondJson(parts, choices.events());
      }
    } catch (err) {
      this.fail(this.signal.aborted ? this.signal.reason : err);
    } finally {
      clearTimeout(timer);
      unwatch();
      ctx.res.off('close', onClose);
    }
  }

  /** One engine request per prompt and choice, each with its own seed and trace inputs. */
  private specs({ request, prompts }: Prepared): ChoiceSpec[] {
    const params = {
      ...request.sampling,
      maxTokens: request.maxTokens,
      logprobs: request.logprobs,
      ...('promptLogprobs' in request ? { promptLogprobs: request.promptLogprobs } : {}),
    };
    return prompts.flatMap((promptTokenIds, promptIndex) =>
      Array.from({ length: request.n }, (_, c) => {
        const index = promptIndex * request.n + c;
        const trace = this.lifecycle.traceFor(index);
        return { index, promptIndex, promptTokenIds, params: choiceParams(params, c), ...(trace ? { trace } : {}) };
      }),
    );
  }

  private responseParts(prepared: Prepared): ResponseParts {
    const states = (this.states = new ChoiceStates(this.arrivedNs, prepared));
    return {
      res: this.ctx.res,
      requestId: this.id,
      kind: this.kind,
      prepared,
      format: {
        envelope: { id: this.responseId, created: this.created, model: prepared.model },
        includeUsage: prepared.request.includeUsage,
        logprobs: prepared.request.logprobs !== null,
        tokenText: tokenTextOf(this.deps.engine.tokenizer),
      },
      states,
      withMetrics: this.kind !== 'responses' && (prepared.request.includeMetrics ?? this.deps.perRequestMetrics),
      observe: (event, firstOfRequest) => {
        if (firstOfRequest) this.lifecycle.firstResponse(event.receivedNs as bigint);
        this.lifecycle.choiceEvent(event);
      },
      depart: () => this.depart(),
    };
  }

  private depart(): void {
    if (this.finished || !this.states) return;
    this.finished = true;
    this.lifecycle.departed(this.states.outcome(), monotonicNs());
    this.ctx.state.access = this.accessFields();
  }

  /** This request's part of its access-log line: counts and latencies, never text. */
  private accessFields(): Record<string, unknown> {
    const first = this.states?.firstResponseNs ?? null;
    return {
      requestId: this.id,
      promptTokens: this.prepared?.promptTokens ?? 0,
      outputTokens: this.states?.completionTokens ?? 0,
      ...(first !== null ? { ttftMs: Number(first - this.arrivedNs) / 1e6 } : {}),
      ...this.lifecycle.logFields(),
    };
  }

  /** Records the abort, logs it, and answers with the error (or ends the stream with it) unless the client has gone. */
  private fail(err: unknown): void {
    const reason = abortReasonOf(err);
    if (!this.finished) {
      this.finished = true;
      this.lifecycle.aborted(reason, err, this.states && this.states.size > 0 ? this.states.outcome() : null, monotonicNs());
    }
    this.ctx.state.access = { ...this.accessFields(), abortReason: reason };
    const fields = { requestId: this.id, reason, ...this.lifecycle.logFields() };
    if (reason === 'exception') this.deps.logger.error('request failed', { ...fields, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    else this.deps.logger.debug('request ended early', { ...fields, error: err instanceof Error ? err.message : String(err) });
    if (reason === 'client_disconnect') return;
    respondFailure(this.ctx.res, this.id, err, this.stream);
  }
}
