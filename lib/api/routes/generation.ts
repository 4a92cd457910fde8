import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { Engine } from '../../engine/engine.js';
import { EngineFailureError, InvalidRequestError, RequestTimeoutError } from '../../errors.js';
import { applyChatTemplate } from '../../tokenizer/chat-template.js';
import { boundText } from '../../util/bound-text.js';
import type { Logger } from '../../util/logger.js';
import { abortReasonOf, ClientDisconnectError } from '../abort-reasons.js';
import { errorResponse } from '../api-error.js';
import { choiceParams, ChoiceStreams, type ChoiceSpec } from '../choices.js';
import { readJsonBody } from '../json-body.js';
import { parseChatRequest, parseCompletionRequest, type GenerationFields } from '../openai-request.js';
import type { ChoiceEvent, RequestLifecycle, RequestObserver, RequestOutcome } from '../../observe/request-observer.js';
import { chatFormat, completionFormat, usageOf, type ChoiceResult, type ResponseFormat } from '../response-format.js';
import { SseWriter } from '../sse.js';
import { StallGuard } from '../stall-guard.js';

export interface GenerationRouteDeps {
  readonly engine: Engine;
  readonly servedModelName: string;
  readonly maxRequestBodyBytes: number;
  /** 0 = no limit */
  readonly requestTimeoutSeconds: number;
  /** A client that reads nothing of its response for this long is disconnected; 0 = never. */
  readonly streamStallTimeoutSeconds: number;
  readonly observer: RequestObserver;
  readonly isShuttingDown: () => boolean;
  /** Aborted, with a server_shutdown error, when the server stops serving requests in flight. */
  readonly shutdownSignal: AbortSignal;
  readonly logger: Logger;
}

type Kind = 'chat' | 'completion';

/** What a parsed request turns into: shared fields, prompts as token ids, and the echoed prefixes. */
interface Prepared {
  readonly fields: GenerationFields;
  readonly prompts: readonly (readonly number[])[];
  readonly echoes: readonly string[] | null;
}

/** POST /v1/chat/completions and /v1/completions: one engine request per prompt and choice. */
export function generationRoute(deps: GenerationRouteDeps, kind: Kind) {
  const route = kind === 'chat' ? '/v1/chat/completions' : '/v1/completions';
  const format = kind === 'chat' ? chatFormat : completionFormat;
  const operation = kind === 'chat' ? 'chat' : 'text_completion';
  return (ctx: Context) => {
    const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`;
    return new GenerationRequest(ctx, deps, id, kind, format, deps.observer.begin(route, operation, id, ctx.headers)).serve();
  };
}

class GenerationRequest {
  private readonly created = Math.floor(Date.now() / 1000);
  /** Aborted when the client disconnects or the request timeout fires. */
  private readonly controller = new AbortController();
  /** The controller's signal or the server's shutdown, whichever comes first; every choice listens to it. */
  private readonly signal: AbortSignal;
  private finished = false;
  private promptTokens = 0;
  private completionTokens = 0;
  private readonly results = new Map<number, { text: string; finishReason: ChoiceResult['finishReason'] }>();

  constructor(
    private readonly ctx: Context,
    private readonly deps: GenerationRouteDeps,
    private readonly id: string,
    private readonly kind: Kind,
    private readonly format: ResponseFormat,
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
    const stallGuard = new StallGuard(ctx.res, stall * 1000, () => {
      deps.logger.warn('disconnected a client that stopped reading its response', { requestId: this.id, stalledSeconds: stall });
      this.controller.abort(new ClientDisconnectError(`stalled: it read nothing of the response for ${stall} s`));
    });
    let sse: SseWriter | null = null;
    try {
      if (deps.isShuttingDown()) throw new EngineFailureError('the server is shutting down', 'server_shutdown');
      const prepared = this.prepare(await readJsonBody(ctx, deps.maxRequestBodyBytes));
      this.signal.throwIfAborted();
      const choices = new ChoiceStreams(deps.engine, this.specs(prepared), this.id, this.signal);
      this.lifecycle.handedOff(choices.committedNs);
      if (prepared.fields.stream) {
        sse = new SseWriter(ctx.res, stallGuard);
        await this.stream(choices, prepared, sse);
      } else {
        await this.respondJson(choices, prepared, stallGuard);
      }
    } catch (err) {
      const error = this.signal.aborted ? this.signal.reason : err;
      this.fail(error, sse);
    } finally {
      clearTimeout(timer);
      ctx.res.off('close', onClose);
    }
  }

  private prepare(body: unknown): Prepared {
    const tokenizer = this.deps.engine.tokenizer;
    const request = this.kind === 'chat' ? parseChatRequest(body) : parseCompletionRequest(body);
    const prompts = 'messages' in request ? [applyChatTemplate(tokenizer, request.messages)] : request.prompts.map((p) => (typeof p === 'string' ? tokenizer.encode(p) : p));
    const echoes = 'echo' in request && request.echo ? request.prompts.map((p) => (typeof p === 'string' ? p : tokenizer.decode(p))) : null;
    this.promptTokens = prompts.reduce((sum, p) => sum + p.length, 0);
    this.lifecycle.described({
      requestId: this.id,
      requestedModel: boundText(request.model),
      servedModel: this.deps.servedModelName,
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.topP !== undefined ? { topP: request.topP } : {}),
      ...(request.seed !== undefined ? { seed: request.seed } : {}),
      maxTokens: request.maxTokens,
      n: request.n,
      stream: request.stream,
      promptTokens: this.promptTokens,
      numPrompts: prompts.length,
    });
    // checked once described, so that the span of a refused request says which model was asked for
    if (request.model !== this.deps.servedModelName) {
      throw new InvalidRequestError(`The model "${boundText(request.model)}" does not exist; this server serves "${this.deps.servedModelName}"`, 'model', 'model_not_found');
    }
    const held = this.deps.engine.maxRequestsHeld;
    if (prompts.length * request.n > held) {
      // a 503 would invite retries that can never succeed
      throw new InvalidRequestError(`this request needs ${prompts.length * request.n} sequences at once (n × prompts) but this server holds at most ${held}; lower n or send fewer prompts`, 'n');
    }
    return { fields: request, prompts, echoes };
  }

  private specs({ fields, prompts }: Prepared): ChoiceSpec[] {
    const params = {
      maxTokens: fields.maxTokens,
      ...(fields.temperature !== undefined ? { temperature: fields.temperature } : {}),
      ...(fields.topP !== undefined ? { topP: fields.topP } : {}),
      ...(fields.topK !== undefined ? { topK: fields.topK } : {}),
      ...(fields.seed !== undefined ? { seed: fields.seed } : {}),
      stop: fields.stop,
      ignoreEos: fields.ignoreEos,
    };
    return prompts.flatMap((promptTokenIds, promptIndex) =>
      Array.from({ length: fields.n }, (_, c) => {
        const index = promptIndex * fields.n + c;
        const trace = this.lifecycle.traceFor(index);
        return { index, promptIndex, promptTokenIds, params: choiceParams(params, c), ...(trace ? { trace } : {}) };
      }),
    );
  }

  /** Adds a choice's event to its result; returns whether it was that choice's first. */
  private record(e: ChoiceEvent): boolean {
    const first = !this.results.has(e.index);
    const result = this.results.get(e.index) ?? { text: '', finishReason: null };
    result.text += e.text;
    result.finishReason = e.finishReason ?? result.finishReason;
    this.results.set(e.index, result);
    this.completionTokens += e.tokenIds.length;
    if (this.results.size === 1 && first) this.lifecycle.firstResponse();
    this.lifecycle.choiceEvent(e);
    return first;
  }

  private async respondJson(choices: ChoiceStreams, { echoes, fields }: Prepared, stallGuard: StallGuard): Promise<void> {
    for await (const e of choices.events()) this.record(e);
    const results = [...this.results.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, r]) => ({ index, text: (echoes?.[Math.floor(index / fields.n)] ?? '') + r.text, finishReason: r.finishReason }));
    const body = JSON.stringify(this.format.response(this.envelope, results, usageOf(this.promptTokens, this.completionTokens)));
    const res = this.ctx.res;
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'x-request-id': this.id });
    res.end(body);
    if (res.writableLength > 0) stallGuard.blocked();
    this.depart();
  }

  private async stream(choices: ChoiceStreams, { echoes, fields }: Prepared, sse: SseWriter): Promise<void> {
    sse.open({ 'x-request-id': this.id });
    for await (const e of choices.events()) {
      const first = this.record(e);
      const text = first && echoes ? echoes[Math.floor(e.index / fields.n)] + e.text : e.text;
      for (const chunk of this.format.chunks(this.envelope, e.index, text, e.finishReason, first, fields.includeUsage)) {
        if (!(await sse.send(chunk))) throw new ClientDisconnectError();
      }
    }
    if (fields.includeUsage) await sse.send(this.format.usageChunk(this.envelope, usageOf(this.promptTokens, this.completionTokens)));
    this.depart(); // before [DONE], as the tracing contract has it
    await sse.send('[DONE]');
    sse.end();
  }

  private get envelope() {
    return { id: this.id, created: this.created, model: this.deps.servedModelName };
  }

  private outcome(): RequestOutcome {
    const finishReasons = [...this.results.entries()].sort(([a], [b]) => a - b).map(([, r]) => r.finishReason);
    return { finishReasons, promptTokens: this.promptTokens, completionTokens: this.completionTokens };
  }

  private depart(): void {
    if (this.finished) return;
    this.finished = true;
    const outcome = this.outcome();
    this.lifecycle.departed(outcome);
    this.deps.logger.debug('request completed', { requestId: this.id, ...outcome, ...this.lifecycle.logFields() });
  }

  /** Answers with the error if nothing was sent yet, or ends the stream with it; records the abort. */
  private fail(err: unknown, sse: SseWriter | null): void {
    const reason = abortReasonOf(err);
    if (!this.finished) {
      this.finished = true;
      this.lifecycle.aborted(reason, err, this.results.size > 0 ? this.outcome() : null);
    }
    const fields = { requestId: this.id, reason, ...this.lifecycle.logFields() };
    if (reason === 'exception') this.deps.logger.error('request failed', { ...fields, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    else this.deps.logger.debug('request ended early', { ...fields, error: err instanceof Error ? err.message : String(err) });
    if (reason === 'client_disconnect') return;
    const { status, body, headers } = errorResponse(err);
    const res = this.ctx.res;
    if (sse && res.headersSent) {
      // the stream has begun: the error becomes its last event
      void sse.send(body).then(() => sse.send('[DONE]')).then(() => sse.end());
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
