import type { LifecycleStamps } from '../engine/lifecycle.js';
import type { SamplingParams } from '../engine/sampling-params.js';
import type { TraceCarrier } from '../engine/trace-options.js';
import type { FinishReason } from '../engine/sequence.js';
import { ByteReader, ByteWriter } from './byte-codec.js';

/** Record types on a submit ring (API thread → engine worker). */
export const ADD_REQUEST = 1;
export const ABORT_REQUEST = 2;
/** Test hook: makes the worker fail in the way `mode` names. Honoured only when enabled. */
export const CRASH_WORKER = 3;
/** Record type on an output ring (engine worker → API thread). */
export const REQUEST_OUTPUT = 16;


export interface AddRequestRecord {
  /** Key of the request on this worker, chosen by the API thread. */
  readonly key: number;
  readonly requestId: string;
  readonly promptTokenIds: readonly number[];
  readonly params: SamplingParams;
  /** Set only by the API thread, and only for requests it traces. */
  readonly sampled: boolean;
  readonly carrier: TraceCarrier | null;
  /** Which choice of its HTTP request this is. */
  readonly choiceIndex: number;
}

export interface RequestOutputRecord {
  readonly key: number;
  readonly newTokenIds: readonly number[];
  readonly finishReason: FinishReason | null;
  readonly error: string | null;
  readonly stamps: LifecycleStamps;
  /** When the worker produced these tokens (monotonic ns). */
  readonly tsNs: bigint;
}

/** throw, uncaught, exit: the worker dies in that way; fail-step: its next step fails, the worker lives. */
export type CrashMode = 'throw' | 'uncaught' | 'exit' | 'fail-step';
const CRASH_MODES: readonly CrashMode[] = ['throw', 'uncaught', 'exit', 'fail-step'];
const FINISH_REASONS: readonly (FinishReason | null)[] = [null, 'stop', 'length', 'abort', 'error'];

const enum Flag {
  Sampled = 1,
  IgnoreEos = 2,
  HasSeed = 4,
  HasMaxTokens = 8,
  HasCarrier = 16,
}

export function encodeAddRequest(w: ByteWriter, r: AddRequestRecord): Uint8Array {
  const p = r.params;
  const flags =
    (r.sampled ? Flag.Sampled : 0) |
    (p.ignoreEos ? Flag.IgnoreEos : 0) |
    (p.seed !== null ? Flag.HasSeed : 0) |
    (p.maxTokens !== null ? Flag.HasMaxTokens : 0) |
    (r.carrier ? Flag.HasCarrier : 0);
  w.reset().u32(r.key).u8(flags).u32(r.choiceIndex).string(r.requestId);
  w.f64(p.temperature).f64(p.topP).u32(p.topK).f64(p.seed ?? 0).u32(p.maxTokens ?? 0).u32Array(p.stopTokenIds);
  if (r.carrier) w.string(r.carrier.traceparent).string(r.carrier.tracestate);
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
  };
  return { key, requestId, params, sampled: (flags & Flag.Sampled) !== 0, carrier, choiceIndex, promptTokenIds: r.u32Array() };
}

/** Why the API thread ends a request early: its caller left, or a stop string matched. */
export type AbortReason = 'abort' | 'stop';

export function encodeAbort(w: ByteWriter, key: number, reason: AbortReason): Uint8Array {
  return w.reset().u32(key).u8(reason === 'stop' ? 1 : 0).written;
}

export function decodeAbort(bytes: Uint8Array): { key: number; reason: AbortReason } {
  const r = new ByteReader(bytes);
  return { key: r.u32(), reason: r.u8() === 1 ? 'stop' : 'abort' };
}

export function encodeCrash(w: ByteWriter, mode: CrashMode): Uint8Array {
  return w.reset().u8(CRASH_MODES.indexOf(mode)).written;
}

export function decodeCrash(bytes: Uint8Array): CrashMode {
  return CRASH_MODES[new ByteReader(bytes).u8()] ?? 'throw';
}

/** Stamps travel as four i64 preceded by a bit mask of the ones that are set. */
export function encodeOutput(w: ByteWriter, o: RequestOutputRecord): Uint8Array {
  const { queuedNs, scheduledNs, firstTokenNs, finishedNs } = o.stamps;
  const mask = (scheduledNs !== null ? 1 : 0) | (firstTokenNs !== null ? 2 : 0) | (finishedNs !== null ? 4 : 0);
  w.reset().u32(o.key).u8(FINISH_REASONS.indexOf(o.finishReason)).u32Array(o.newTokenIds);
  w.u8(mask).i64(queuedNs).i64(scheduledNs ?? 0n).i64(firstTokenNs ?? 0n).i64(finishedNs ?? 0n).i64(o.tsNs);
  return w.string(o.error ?? '').written;
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
  const error = r.string();
  return {
    key,
    finishReason,
    newTokenIds,
    error: error === '' ? null : error,
    tsNs,
    stamps: { queuedNs, scheduledNs: mask & 1 ? scheduled : null, firstTokenNs: mask & 2 ? firstToken : null, finishedNs: mask & 4 ? finished : null },
  };
}
