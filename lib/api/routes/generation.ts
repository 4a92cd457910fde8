import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { Engine } from '../../engine/engine.js';
import type { TokenLogprobs } from '../../decode/logprobs.js';
import type { LifecycleStamps } from '../../engine/lifecycle.js';
import { choiceTimings, metricsObject, serverTiming, slowestChoice, type ChoiceRecord } from '../../observe/journey/timings.js';
import type { SamplingParamsInput } from '../../engine/sampling-params.js';
import { EngineFailureError, InvalidRequestError, RequestTimeoutError } from '../../errors.js';
import { contextLengthProblem } from '../../engine/validate-request.js';
import type { ChoiceEvent, GenerationRoutePath, RequestLifecycle, RequestObserver, RequestOutcome } from '../../observe/request-observer.js';
import type { PromptTokenizer } from '../../tokenizer/prompt-tokenizer.js';
import { boundText } from '../../util/bound-text.js';
import type { Logger } from '../../util/logger.js';
import { abortReasonOf, ClientDisconnectError } from '../abort-reasons.js';
import { errorResponse } from '../api-error.js';
import { choiceParams, ChoiceStreams, type ChoiceSpec } from '../choices.js';
import { readJsonBody } from '../json-body.js';
import { tokenTextOf } from '../logprobs-format.js';
import { resolveModelName, type ServedModels } from '../served-models.js';
import { parseChatRequest, parseCompletionRequest, type ChatRequest, type CompletionRequest } from '../openai-request.js';
import { requestIdFrom } from '../request-id.js';
import { chatFormat, completionFormat, usageOf, type ChoicePrefix, type ChoiceResult, type FormatContext, type ResponseFormat, type StreamShaper } from '../response-format.js';
import { responsesFormat } from '../responses-format.js';
import { parseResponsesRequest } from '../responses-request.js';
import type { ConnectionGuard } from '../connection-guard.js';
import { jsonPieces, writeJsonPieces } from '../json-pieces.js';
import { SseWriter } from '../sse.js';

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

export type GenerationKind = 'chat' | 'completion' | 'responses';

const ROUTES: Readonly<Record<GenerationKind, { path: GenerationRoutePath; operation: 'chat' | 'text_completion'; idPrefix: string }>> = {
  chat: { path: '/v1/chat/completions', operation: 'chat', idPrefix: 'chatcmpl' },
  completion: { path: '/v1/completions', operation: 'text_completion', idPrefix: 'cmpl' },
  // the Responses API generates a conversation's next message: a chat operation in the GenAI conventions
  responses: { path: '/v1/responses', operation: 'chat', idPrefix: 'resp' },
};

/** What a parsed request turns into: its fields, prompts as token ids, and what each prompt's choices echo. */
interface Prepared {
  readonly request: ChatRequest | CompletionRequest;
  readonly format: ResponseFormat;
  readonly prompts: readonly (readonly number[])[];
  readonly echoes: readonly string[] | null;
  readonly model: string;
}

/**
 * The most log probabilities (a token's and each of its alternatives') one non-streamed response
 * may hold: about 16 MB of JSON. A stream sends them as they come and keeps none.
 */
export const MAX_RESPONSE_LOGPROBS = 1 << 18;

/**
 * Refuses up front a non-streamed request whose log probabilities could outgrow the budget:
 * choices × tokens × (1 + alternatives), for generated tokens and for scored prompt tokens.
 */
function checkLogprobBudget(request: ChatRequest | CompletionRequest, prompts: readonly (readonly number[])[], maxModelLen: number): void {
  const promptLogprobs = 'promptLogprobs' in request ? request.promptLogprobs : null;
  if (request.logprobs === null && promptLogprobs === null) return;
  let total = 0;
  for (const prompt of prompts) {
    const maxTokens = request.maxTokens ?? maxModelLen - prompt.length;
    const perChoice = (request.logprobs === null ? 0 : maxTokens * (1 + request.logprobs)) + (promptLogprobs === null ? 0 : prompt.length * (1 + promptLogprobs));
    total += request.n * perChoice;
  }
  if (total <= MAX_RESPONSE_LOGPROBS) return;
  const top = 'messages' in request ? 'top_logprobs' : 'logprobs';
  throw new InvalidRequestError(
    `this response could hold ${total} log probabilities (choices × tokens × (1 + ${top})), more than the ${MAX_RESPONSE_LOGPROBS} a non-streamed response may; lower n, max_tokens or ${top}, or set stream: true`,
    top,
  );
}

interface ChoiceState extends ChoiceRecord {
  firstReceivedNs: bigint | null;
  completionTokens: number;
  stamps: Readonly<LifecycleStamps> | null;
  text: string;
  finishReason: ChoiceResult['finishReason'];
  logprobs: TokenLogprobs[] | null;
  promptLogprobs: TokenLogprobs[];
}

/** POST /v1/chat/completions, /v1/completions and /v1/responses: one engine request per prompt and choice. */
export function generationRoute(deps: GenerationRouteDeps, kind: GenerationKind) {
  const { path, operation, idPrefix } = ROUTES[kind];
  return (ctx: Context) => {
    const clientId = requestIdFrom(ctx.get('x-request-id'));
    const requestId = clientId ?? `${idPrefix}-${randomBytes(12).toString('hex')}`;
    const responseId = clientId ? `${idPrefix}-${clientId}` : requestId;
    const arrivedNs = process.hrtime.bigint();
    return new GenerationRequest(ctx, deps, requestId, responseId, kind, arrivedNs, deps.observer.begin(path, operation, requestId, ctx.headers, arrivedNs)).serve();
  };
}

class GenerationRequest {
  private readonly created = Math.floor(Date.now() / 1000);
  private firstResponseNs: bigint | null = null;
  /** Aborted when the client disconnects or the request timeout fires. */
  private readonly controller = new AbortController();
  /** The controller's signal or the server's shutdown, whichever comes first; every choice listens to it. */
  private readonly signal: AbortSignal;
  private finished = false;
  private promptTokens = 0;
  private completionTokens = 0;
  private readonly choices = new Map<number, ChoiceState>();
  /** The stream's shaper, once the stream has begun: a failure ends it in the same event sequence. */
  private shaper: StreamShaper | null = null;

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
    let sse: SseWriter | null = null;
    try {
      if (deps.isShuttingDown()) throw new EngineFailureError('the server is shutting down', 'server_shutdown');
      const prepared = await this.prepare(await readJsonBody(ctx, deps.maxRequestBodyBytes));
      this.signal.throwIfAborted();
      const choices = new ChoiceStreams(deps.engine, this.specs(prepared), this.id, this.signal);
      this.lifecycle.handedOff(choices.committedNs);
      if (prepared.request.stream) {
        sse = new SseWriter(ctx.res);
        await this.stream(choices, prepared, sse);
      } else {
        await this.respondJson(choices, prepared);
      }
    } catch (err) {
      const error = this.signal.aborted ? this.signal.reason : err;
      this.fail(error, sse);
    } finally {
      clearTimeout(timer);
      unwatch();
      ctx.res.off('close', onClose);
    }
  }

  private parse(body: unknown): { request: ChatRequest | CompletionRequest; format: ResponseFormat } {
    if (this.kind === 'chat') return { request: parseChatRequest(body), format: chatFormat };
    if (this.kind === 'completion') return { request: parseCompletionRequest(body), format: completionFormat };
    const request = parseResponsesRequest(body);
    return { request, format: responsesFormat(request.settings) };
  }

  private async prepare(body: unknown): Promise<Prepared> {
    const { engine, prompts: tokenize } = this.deps;
    const { request, format } = this.parse(body);
    // a prompt is tokenized only as far as it could fit: one that runs past the context is refused
    const limit = engine.config.maxModelLen;
    const prompts = 'messages' in request
      ? [await tokenize.applyChatTemplate(request.messages, { limit })]
      : await Promise.all(request.prompts.map((p) => (typeof p === 'string' ? tokenize.encode(p, { limit }) : p)));
    const tooLong = prompts.some((p) => p.length > limit);
    const echoes = 'echo' in request && request.echo ? request.prompts.map((p) => (typeof p === 'string' ? p : engine.tokenizer.decode(p))) : null;
    this.promptTokens = tooLong ? 0 : prompts.reduce((sum, p) => sum + p.length, 0);
    const s = request.sampling;
    const traceId = this.lifecycle.logFields().trace_id;
    this.lifecycle.described({
      requestId: this.id,
      responseId: this.responseId,
      requestedModel: boundText(request.model ?? this.deps.models.primary),
      servedModel: this.deps.models.primary,
      ...(s.temperature !== undefined ? { temperature: s.temperature } : {}),
      ...(s.topP !== undefined ? { topP: s.topP } : {}),
      ...(s.seed !== undefined && s.seed !== null ? { seed: s.seed } : {}),
      ...(s.topK !== undefined ? { topK: s.topK } : {}),
      ...(s.presencePenalty !== undefined ? { presencePenalty: s.presencePenalty } : {}),
      ...(s.frequencyPenalty !== undefined ? { frequencyPenalty: s.frequencyPenalty } : {}),
      ...(typeof traceId === 'string' ? { traceId } : {}),
      maxTokens: request.maxTokens,
      n: request.n,
      stream: request.stream,
      ...(tooLong ? {} : { promptTokens: this.promptTokens }),
      numPrompts: prompts.length,
    });
    // checked once described, so that the span of a refused request says which model was asked for
    const model = resolveModelName(this.deps.models, request.model);
    for (const p of prompts) {
      const problem = contextLengthProblem(p.length, request.maxTokens, limit, 'messages' in request ? 'messages' : 'prompt');
      if (problem) throw problem;
    }
    const held = this.deps.engine.maxRequestsHeld;
    if (prompts.length * request.n > held) {
      // a 503 would invite retries that can never succeed
      throw new InvalidRequestError(`this request needs ${prompts.length * request.n} sequences at once (n × prompts) but this server holds at most ${held}; lower n or send fewer prompts`, 'n');
    }
    if (!request.stream) checkLogprobBudget(request, prompts, limit);
    return { request, format, prompts, echoes, model };
  }

  private specs({ request, prompts }: Prepared): ChoiceSpec[] {
    const params: SamplingParamsInput = {
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

  /** Adds a choice's event to its state; returns whether it was that choice's first. */
  private record(received: ChoiceEvent, wantsLogprobs: boolean): boolean {
    const receivedNs = process.hrtime.bigint();
    const e = { ...received, receivedNs };
    const first = !this.choices.has(e.index);
    const state = this.choices.get(e.index) ?? { index: e.index, firstReceivedNs: receivedNs, completionTokens: 0, stamps: null, text: '', finishReason: null, logprobs: wantsLogprobs ? [] : null, promptLogprobs: [] };
    state.text += e.text;
    state.completionTokens += e.tokenIds.length;
    if (e.stamps) state.stamps = e.stamps;
    state.finishReason = e.finishReason ?? state.finishReason;
    if (e.logprobs) state.logprobs?.push(...e.logprobs);
    for (const entry of e.promptLogprobs ?? []) state.promptLogprobs.push(entry);
    this.choices.set(e.index, state);
    this.completionTokens += e.tokenIds.length;
    if (this.choices.size === 1 && first) {
      this.firstResponseNs = receivedNs;
      this.lifecycle.firstResponse(receivedNs);
    }
    this.lifecycle.choiceEvent(e);
    return first;
  }

  /** What choice `index` puts before its text: the echoed prompt (completions), with its scored tokens when asked for. */
  private prefixOf(index: number, { request, prompts, echoes }: Prepared): ChoicePrefix | null {
    if (!echoes) return null;
    const promptIndex = Math.floor(index / request.n);
    const scored = 'promptLogprobs' in request && request.promptLogprobs !== null;
    const prompt = prompts[promptIndex];
    return {
      text: echoes[promptIndex],
      logprobs: scored ? [{ tokenId: prompt[0], logprob: null }, ...(this.choices.get(index)?.promptLogprobs ?? [])] : null,
    };
  }

  private formatContext({ request, model }: Prepared): FormatContext {
    return {
      envelope: { id: this.responseId, created: this.created, model },
      includeUsage: request.includeUsage,
      logprobs: request.logprobs !== null,
      tokenText: tokenTextOf(this.deps.engine.tokenizer),
    };
  }

  private results(prepared: Prepared): ChoiceResult[] {
    return [...this.choices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, c]) => ({ index, text: c.text, finishReason: c.finishReason, logprobs: c.logprobs, prefix: this.prefixOf(index, prepared) }));
  }

  private async respondJson(choices: ChoiceStreams, prepared: Prepared): Promise<void> {
    for await (const e of choices.events()) this.record(e, prepared.request.logprobs !== null);
    const usage = usageOf(this.promptTokens, this.completionTokens);
    const response = prepared.format.response(this.formatContext(prepared), this.results(prepared), usage);
    const body = (this.wantsMetrics(prepared) ? { ...response, metrics: this.metricsOf() } : response) as Record<string, unknown>;
    const res = this.ctx.res;
    const slowest = slowestChoice([...this.choices.values()]);
    const timing = serverTiming(slowest ? choiceTimings(this.arrivedNs, slowest) : null, Number(process.hrtime.bigint() - this.arrivedNs) / 1e6);
    // a body of many choices with log probabilities goes out a choice at a time
    const headers = { 'content-type': 'application/json; charset=utf-8', 'x-request-id': this.id, 'server-timing': timing };
    await writeJsonPieces(res, 200, headers, jsonPieces(body, this.kind === 'responses' ? 'output' : 'choices'));
    if (!res.writableEnded) throw new ClientDisconnectError();
    this.depart();
  }

  private async stream(choices: ChoiceStreams, prepared: Prepared, sse: SseWriter): Promise<void> {
    const shaper = (this.shaper = prepared.format.stream(this.formatContext(prepared)));
    sse.open({ 'x-request-id': this.id });
    const send = async (events: readonly { event?: string; data: object }[]) => {
      for (const { event, data } of events) if (!(await sse.send(data, event))) throw new ClientDisconnectError();
    };
    await send(shaper.start());
    for await (const e of choices.events()) {
      // a stream's log probabilities are sent with their tokens and not kept
      const first = this.record(e, false);
      const prefix = first ? this.prefixOf(e.index, prepared) : null;
      if (first) (this.choices.get(e.index) as ChoiceState).promptLogprobs.length = 0; // sent with the prefix, not kept
      await send(shaper.delta({ index: e.index, text: e.text, finishReason: e.finishReason, first, logprobs: e.logprobs ?? null, prefix }));
    }
    await send(shaper.end(this.results(prepared), usageOf(this.promptTokens, this.completionTokens)));
    if (this.wantsMetrics(prepared)) {
      const e = this.formatContext(prepared).envelope;
      await send([{ data: { id: e.id, object: this.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created: e.created, model: e.model, choices: [], metrics: this.metricsOf() } }]);
    }
    this.depart(); // before [DONE], as the tracing contract has it
    if (shaper.endsWithDone) await sse.send('[DONE]');
    sse.end();
  }

  private wantsMetrics({ request }: Prepared): boolean {
    return this.kind !== 'responses' && (request.includeMetrics ?? this.deps.perRequestMetrics);
  }

  /**
   * The per-request `metrics` object: the slowest choice's figures (the one Server-Timing shows),
   * and with several choices one entry per choice too. e2e_ms runs to when the object is made.
   */
  private metricsOf(): object {
    const e2eMs = Number(process.hrtime.bigint() - this.arrivedNs) / 1e6;
    const choices = [...this.choices.values()].sort((a, b) => a.index - b.index);
    const of = (c: ChoiceState) => metricsObject(choiceTimings(this.arrivedNs, c), c.completionTokens, e2eMs);
    const slowest = slowestChoice(choices);
    return {
      ...(slowest ? of(slowest) : {}),
      ...(choices.length > 1 ? { choices: choices.map((c) => ({ index: c.index, ...of(c) })) } : {}),
    };
  }

  private outcome(): RequestOutcome {
    const finishReasons = [...this.choices.entries()].sort(([a], [b]) => a - b).map(([, c]) => c.finishReason);
    return { finishReasons, promptTokens: this.promptTokens, completionTokens: this.completionTokens };
  }

  private depart(): void {
    if (this.finished) return;
    this.finished = true;
    const outcome = this.outcome();
    this.lifecycle.departed(outcome, process.hrtime.bigint());
    this.ctx.state.access = this.accessFields();
  }

  /** This request's part of its access-log line: counts and latencies, never text. */
  private accessFields(): Record<string, unknown> {
    return {
      requestId: this.id,
      promptTokens: this.promptTokens,
      outputTokens: this.completionTokens,
      ...(this.firstResponseNs !== null ? { ttftMs: Number(this.firstResponseNs - this.arrivedNs) / 1e6 } : {}),
      ...this.lifecycle.logFields(),
    };
  }

  /** Answers with the error if nothing was sent yet, or ends the stream with it; records the abort. */
  private fail(err: unknown, sse: SseWriter | null): void {
    const reason = abortReasonOf(err);
    if (!this.finished) {
      this.finished = true;
      this.lifecycle.aborted(reason, err, this.choices.size > 0 ? this.outcome() : null, process.hrtime.bigint());
    }
    this.ctx.state.access = { ...this.accessFields(), abortReason: reason };
    const fields = { requestId: this.id, reason, ...this.lifecycle.logFields() };
    if (reason === 'exception') this.deps.logger.error('request failed', { ...fields, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    else this.deps.logger.debug('request ended early', { ...fields, error: err instanceof Error ? err.message : String(err) });
    if (reason === 'client_disconnect') return;
    const { status, body, headers } = errorResponse(err);
    const res = this.ctx.res;
    const shaper = this.shaper;
    if (sse && res.headersSent && shaper) {
      // the stream has begun: the error becomes its last event
      void (async () => {
        for (const { event, data } of shaper.fail(body)) await sse.send(data, event);
        if (shaper.endsWithDone) await sse.send('[DONE]');
        sse.end();
      })();
      return;
    }
    if (res.headersSent || res.destroyed) return;
    const json = JSON.stringify(body);
    res.writeHead(status, {
      ...headers,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(json),
      'x-request-id': this.id,
      // an oversized body was not read: close rather than read the rest of it
      ...(status === 413 ? { connection: 'close' } : {}),
    });
    res.end(json);
  }
}
