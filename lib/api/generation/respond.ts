import type { ServerResponse } from 'node:http';
import type { ChoiceEvent } from '../../observe/request-observer.js';
import { ClientDisconnectError } from '../abort-reasons.js';
import { errorResponse } from '../api-error.js';
import { jsonPieces, writeJsonPieces } from '../json-pieces.js';
import { usageOf, type FormatContext, type StreamShaper } from '../response-format.js';
import type { SseWriter } from '../sse.js';
import type { ChoiceStates } from './choice-state.js';
import type { GenerationKind, Prepared } from './prepare.js';

/** What a response is made from, and what it tells the request as it goes. */
export interface ResponseParts {
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly kind: GenerationKind;
  readonly prepared: Prepared;
  readonly format: FormatContext;
  readonly states: ChoiceStates;
  /** Put the per-request metrics object in the response. */
  readonly withMetrics: boolean;
  /** Each choice event once recorded; `firstOfRequest` for the request's very first. */
  readonly observe: (event: ChoiceEvent, firstOfRequest: boolean) => void;
  /** The response is whole (api.DEPARTED): before [DONE] for a stream. */
  readonly depart: () => void;
}

function record(p: ResponseParts, received: ChoiceEvent, keepLogprobs: boolean): boolean {
  const hadNone = p.states.size === 0;
  const { event, first } = p.states.record(received, keepLogprobs);
  p.observe(event, hadNone && first);
  return first;
}

/** One JSON body once every choice has finished, written a choice at a time, with Server-Timing. */
export async function respondJson(p: ResponseParts, events: AsyncIterable<ChoiceEvent>): Promise<void> {
  const keepLogprobs = p.prepared.request.logprobs !== null;
  for await (const e of events) record(p, e, keepLogprobs);
  const usage = usageOf(p.prepared.promptTokens, p.states.completionTokens);
  const response = p.prepared.format.response(p.format, p.states.results(), usage);
  const body = (p.withMetrics ? { ...response, metrics: p.states.metrics() } : response) as Record<string, unknown>;
  const headers = { 'content-type': 'application/json; charset=utf-8', 'x-request-id': p.requestId, 'server-timing': p.states.serverTiming() };
  await writeJsonPieces(p.res, 200, headers, jsonPieces(body, p.kind === 'responses' ? 'output' : 'choices'));
  if (!p.res.writableEnded) throw new ClientDisconnectError();
  p.depart();
}

/** Server-sent events as the choices produce them; `shaper` shapes them for the route. */
export async function respondStream(p: ResponseParts, events: AsyncIterable<ChoiceEvent>, sse: SseWriter, shaper: StreamShaper): Promise<void> {
  sse.open({ 'x-request-id': p.requestId });
  const send = async (out: readonly { event?: string; data: object }[]) => {
    for (const { event, data } of out) if (!(await sse.send(data, event))) throw new ClientDisconnectError();
  };
  await send(shaper.start());
  for await (const e of events) {
    // a stream's log probabilities are sent with their tokens and not kept
    const first = record(p, e, false);
    const prefix = first ? p.states.prefixOf(e.index) : null;
    if (first) p.states.prefixSent(e.index);
    await send(shaper.delta({ index: e.index, text: e.text, finishReason: e.finishReason, first, logprobs: e.logprobs ?? null, prefix }));
  }
  await send(shaper.end(p.states.results(), usageOf(p.prepared.promptTokens, p.states.completionTokens)));
  if (p.withMetrics) {
    const { envelope: e } = p.format;
    await send([{ data: { id: e.id, object: p.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created: e.created, model: e.model, choices: [], metrics: p.states.metrics() } }]);
  }
  p.depart(); // before [DONE], as the tracing contract has it
  if (shaper.endsWithDone) await sse.send('[DONE]');
  sse.end();
}

/** Answers with the error if nothing was sent yet, or ends a stream that has begun with it as its last event. */
export function respondFailure(res: ServerResponse, requestId: string, err: unknown, stream: { sse: SseWriter; shaper: StreamShaper } | null): void {
  const { status, body, headers } = errorResponse(err);
  if (stream && res.headersSent) {
    const { sse, shaper } = stream;
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
    'x-request-id': requestId,
    // an oversized body was not read: close rather than read the rest of it
    ...(status === 413 ? { connection: 'close' } : {}),
  });
  res.end(json);
}
