import type { EngineOutput } from '../engine/engine-output.js';
import type { TokenLogprobs } from '../decode/logprobs.js';
import type { EngineRequest } from '../engine/llm-engine.js';
import type { DecodeSpec } from '../decode/decode-spec.js';
import type { CancelReason, FinishReason } from '../engine/sequence.js';
import type { TraceCarrier, TraceOptions } from '../engine/trace-options.js';
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

/** How one field crosses a ring: written and read the same way, by one entry. */
interface FieldCodec<T> {
  write(w: ByteWriter, value: T): void;
  read(r: ByteReader): T;
}

const f64: FieldCodec<number> = { write: (w, v) => w.f64(v), read: (r) => r.f64() };
const u32: FieldCodec<number> = { write: (w, v) => w.u32(v), read: (r) => r.u32() };
const bool: FieldCodec<boolean> = { write: (w, v) => w.u8(v ? 1 : 0), read: (r) => r.u8() === 1 };
const u32s: FieldCodec<readonly number[]> = { write: (w, v) => w.u32Array(v), read: (r) => r.u32Array() };
/** A value or null: a presence byte, then the value. */
const nullable = <T>(codec: FieldCodec<T>): FieldCodec<T | null> => ({
  write: (w, v) => (v === null ? w.u8(0) : (w.u8(1), codec.write(w, v))),
  read: (r) => (r.u8() === 1 ? codec.read(r) : null),
});
const biases: FieldCodec<readonly (readonly [number, number])[]> = {
  write: (w, pairs) => {
    w.u32(pairs.length);
    for (const [id, bias] of pairs) w.u32(id).f64(bias);
  },
  read: (r) => Array.from({ length: r.u32() }, () => [r.u32(), r.f64()] as const),
};

/**
 * Every field of a request's decode spec and how it crosses the submit ring: the one table both
 * directions are written from. A field added to DecodeSpec without an entry here does not compile.
 */
const DECODE_SPEC_FIELDS: { readonly [K in keyof DecodeSpec]-?: FieldCodec<DecodeSpec[K]> } = {
  temperature: f64,
  topP: f64,
  topK: u32,
  seed: nullable(f64),
  maxTokens: nullable(u32),
  stopTokenIds: u32s,
  ignoreEos: bool,
  presencePenalty: f64,
  frequencyPenalty: f64,
  repetitionPenalty: f64,
  minP: f64,
  minTokens: f64,
  logitBias: biases,
  logprobs: nullable(u32),
  promptLogprobs: nullable(u32),
};
const SPEC_KEYS = Object.keys(DECODE_SPEC_FIELDS) as (keyof DecodeSpec)[];

const carrier: FieldCodec<TraceCarrier | null> = nullable({ write: (w, c) => w.string(c.traceparent).string(c.tracestate), read: (r) => ({ traceparent: r.string(), tracestate: r.string() }) });
/** A traced request's trace options (only the API thread sets them), or none. */
const traceField: FieldCodec<TraceOptions | null> = nullable({
  write: (w, t) => {
    w.u32(t.choiceIndex ?? 0);
    carrier.write(w, t.carrier);
  },
  read: (r) => ({ choiceIndex: r.u32(), carrier: carrier.read(r) }),
});

export function encodeAddRequest(w: ByteWriter, { key, request: r }: AddRequestRecord): Uint8Array {
  w.reset().u32(key).string(r.requestId);
  for (const k of SPEC_KEYS) (DECODE_SPEC_FIELDS[k] as FieldCodec<unknown>).write(w, r.params[k]);
  traceField.write(w, r.trace ?? null);
  return w.u32Array(r.promptTokenIds).written;
}

export function decodeAddRequest(bytes: Uint8Array): AddRequestRecord {
  const r = new ByteReader(bytes);
  const key = r.u32();
  const requestId = r.string();
  const params = {} as Record<keyof DecodeSpec, unknown>;
  for (const k of SPEC_KEYS) params[k] = DECODE_SPEC_FIELDS[k].read(r);
  const trace = traceField.read(r);
  return { key, request: { requestId, promptTokenIds: r.u32Array(), params: params as unknown as DecodeSpec, ...(trace ? { trace } : {}) } };
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
