import type { EngineOutput } from '../engine/engine-output.js';
import type { TokenLogprobs } from '../decode/logprobs.js';
import type { EngineRequest } from '../engine/llm-engine.js';
import type { SamplingParams } from '../engine/sampling-params.js';
import type { CancelReason, FinishReason } from '../engine/sequence.js';
import type { TraceOptions } from '../engine/trace-options.js';
import { ByteReader, ByteWriter } from './byte-codec.js';

/** Record types on a submit ring (API thread → engine worker). */
export const ADD_REQUEST = 1;
export const ABORT_REQUEST = 2;
/** Record type on an output ring (engine worker → API thread). */
export const REQUEST_OUTPUT = 16;

export interface AddRequestRecord {
  /** Key of the request on this worker, chosen by the API thread. */
  readonly key: number;
  /** Its trace options are set only by the API thread, and only for requests it traces. */
  readonly request: EngineRequest;
}

export interface RequestOutputRecord extends EngineOutput {
  readonly key: number;
}

const FINISH_REASONS: readonly (FinishReason | null)[] = [null, 'stop', 'length', 'abort', 'error'];

const enum Flag {
  Traced = 1,
  IgnoreEos = 2,
  HasSeed = 4,
  HasMaxTokens = 8,
  HasCarrier = 16,
  HasLogprobs = 32,
  HasPromptLogprobs = 64,
}

export function encodeAddRequest(w: ByteWriter, { key, request: r }: AddRequestRecord): Uint8Array {
  const p = r.params;
  const carrier = r.trace?.carrier ?? null;
  const flags =
    (r.trace ? Flag.Traced : 0) |
    (p.ignoreEos ? Flag.IgnoreEos : 0) |
    (p.seed !== null ? Flag.HasSeed : 0) |
    (p.maxTokens !== null ? Flag.HasMaxTokens : 0) |
    (carrier ? Flag.HasCarrier : 0) |
    (p.logprobs !== null ? Flag.HasLogprobs : 0) |
    (p.promptLogprobs !== null ? Flag.HasPromptLogprobs : 0);
  w.reset().u32(key).u8(flags).u32(r.trace?.choiceIndex ?? 0).string(r.requestId);
  w.f64(p.temperature).f64(p.topP).u32(p.topK).f64(p.seed ?? 0).u32(p.maxTokens ?? 0).u32Array(p.stopTokenIds);
  w.f64(p.presencePenalty).f64(p.frequencyPenalty).f64(p.repetitionPenalty).f64(p.minP).f64(p.minTokens);
  w.u8(p.logprobs ?? 0).u8(p.promptLogprobs ?? 0).u32(p.logitBias.length);
  for (const [id, bias] of p.logitBias) w.u32(id).f64(bias);
  if (carrier) w.string(carrier.traceparent).string(carrier.tracestate);
  return w.u32Array(r.promptTokenIds).written;
}

export function decodeAddRequest(bytes: Uint8Array): AddRequestRecord {
  const r = new ByteReader(bytes);
  const key = r.u32();
  const flags = r.u8();
  const choiceIndex = r.u32();
  const requestId = r.string();
  const temperature = r.f64();
  const topP = r.f64();
  const topK = r.u32();
  const seed = r.f64();
  const maxTokens = r.u32();
  const stopTokenIds = r.u32Array();
  const presencePenalty = r.f64();
  const frequencyPenalty = r.f64();
  const repetitionPenalty = r.f64();
  const minP = r.f64();
  const minTokens = r.f64();
  const logprobs = r.u8();
  const promptLogprobs = r.u8();
  const logitBias = Array.from({ length: r.u32() }, () => [r.u32(), r.f64()] as const);
  const carrier = flags & Flag.HasCarrier ? { traceparent: r.string(), tracestate: r.string() } : null;
  const params: SamplingParams = {
    temperature,
    topP,
    topK,
    seed: flags & Flag.HasSeed ? seed : null,
    maxTokens: flags & Flag.HasMaxTokens ? maxTokens : null,
    stopTokenIds,
    ignoreEos: (flags & Flag.IgnoreEos) !== 0,
    stop: [], // matched on the API thread, which detokenizes
    includeStopStrInOutput: false,
    presencePenalty,
    frequencyPenalty,
    repetitionPenalty,
    minP,
    minTokens,
    logitBias,
    logprobs: flags & Flag.HasLogprobs ? logprobs : null,
    promptLogprobs: flags & Flag.HasPromptLogprobs ? promptLogprobs : null,
  };
  const trace: TraceOptions | null = flags & Flag.Traced ? { carrier, choiceIndex } : null;
  return { key, request: { requestId, promptTokenIds: r.u32Array(), params, ...(trace ? { trace } : {}) } };
}

export function encodeAbort(w: ByteWriter, key: number, reason: CancelReason): Uint8Array {
  return w.reset().u32(key).u8(reason === 'stop' ? 1 : 0).written;
}

export function decodeAbort(bytes: Uint8Array): { key: number; reason: CancelReason } {
  const r = new ByteReader(bytes);
  return { key: r.u32(), reason: r.u8() === 1 ? 'stop' : 'abort' };
}

/** Stamps travel as four i64 preceded by a bit mask of the ones that are set. */
export function encodeOutput(w: ByteWriter, o: RequestOutputRecord): Uint8Array {
  const { queuedNs, scheduledNs, firstTokenNs, finishedNs } = o.stamps;
  const mask = (scheduledNs !== null ? 1 : 0) | (firstTokenNs !== null ? 2 : 0) | (finishedNs !== null ? 4 : 0);
  w.reset().u32(o.key).u8(FINISH_REASONS.indexOf(o.finishReason)).u32Array(o.newTokenIds);
  w.u8(mask).i64(queuedNs).i64(scheduledNs ?? 0n).i64(firstTokenNs ?? 0n).i64(finishedNs ?? 0n).i64(o.tsNs);
  w.u32(o.stamps.preemptions.length);
  for (const p of o.stamps.preemptions) w.i64(p.preemptedNs).i64(p.resumedNs ?? -1n);
  w.string(o.error ?? '');
  w.u8((o.logprobs ? 1 : 0) | (o.promptLogprobs ? 2 : 0));
  if (o.logprobs) writeLogprobs(w, o.logprobs);
  if (o.promptLogprobs) writeLogprobs(w, o.promptLogprobs);
  return w.written;
}

function writeLogprobs(w: ByteWriter, entries: readonly TokenLogprobs[]): void {
  w.u32(entries.length);
  for (const e of entries) {
    w.u32(e.tokenId).f32(e.logprob).u8(e.top.length);
    for (const t of e.top) w.u32(t.tokenId).f32(t.logprob);
  }
}

function readLogprobs(r: ByteReader): TokenLogprobs[] {
  return Array.from({ length: r.u32() }, () => {
    const tokenId = r.u32();
    const logprob = r.f32();
    const top = Array.from({ length: r.u8() }, () => ({ tokenId: r.u32(), logprob: r.f32() }));
    return { tokenId, logprob, top };
  });
}

export function decodeOutput(bytes: Uint8Array): RequestOutputRecord {
  const r = new ByteReader(bytes);
  const key = r.u32();
  const code = r.u8();
  const finishReason = code < FINISH_REASONS.length ? FINISH_REASONS[code] : 'error';
  const newTokenIds = r.u32Array();
  const mask = r.u8();
  const queuedNs = r.i64();
  const scheduled = r.i64();
  const firstToken = r.i64();
  const finished = r.i64();
  const tsNs = r.i64();
  const preemptions = Array.from({ length: r.u32() }, () => {
    const preemptedNs = r.i64();
    const resumed = r.i64();
    return { preemptedNs, resumedNs: resumed < 0n ? null : resumed };
  });
  const error = r.string();
  const has = r.u8();
  const logprobs = has & 1 ? readLogprobs(r) : null;
  const promptLogprobs = has & 2 ? readLogprobs(r) : null;
  return {
    key,
    ...(logprobs ? { logprobs } : {}),
    ...(promptLogprobs ? { promptLogprobs } : {}),
    finishReason,
    newTokenIds,
    error: error === '' ? null : error,
    tsNs,
    stamps: { queuedNs, scheduledNs: mask & 1 ? scheduled : null, firstTokenNs: mask & 2 ? firstToken : null, finishedNs: mask & 4 ? finished : null, preemptions },
  };
}
