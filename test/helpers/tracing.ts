import assert from 'node:assert/strict';
import type { ServerOptions } from '../../lib/api/create-server.js';
import type { OtlpReceiver, ReceivedSpan } from '../../tools/otlp-receiver.js';
import { startServer, type TestServer } from './server.js';

/** A test server with journey tracing on, exporting to `receiver`. */
export function startTracedServer(receiver: OtlpReceiver, options: ServerOptions = {}): Promise<TestServer> {
  return startServer({ ...options, tracing: { enabled: true, endpoint: receiver.url, ...options.tracing } });
}

export interface RequestSpans {
  readonly api: ReceivedSpan;
  readonly core: readonly ReceivedSpan[];
}

/** Waits until the receiver holds the request's llm_request span and `numCore` llm_core spans. */
export async function spansOf(receiver: OtlpReceiver, requestId: string, numCore: number): Promise<RequestSpans> {
  const mine = (spans: readonly ReceivedSpan[]) => spans.filter((s) => s.attributes['gen_ai.request.id'] === requestId);
  const spans = mine(await receiver.waitFor((all) => mine(all).filter((s) => s.name === 'llm_request').length >= 1 && mine(all).filter((s) => s.name === 'llm_core').length >= numCore));
  const api = spans.filter((s) => s.name === 'llm_request');
  assert.equal(api.length, 1, 'exactly one llm_request span');
  const core = spans.filter((s) => s.name === 'llm_core').sort((a, b) => Number(a.attributes['gen_ai.request.choice_index']) - Number(b.attributes['gen_ai.request.choice_index']));
  return { api: api[0], core };
}

export function eventNames(span: ReceivedSpan): string[] {
  return span.events.map((e) => e.name);
}

export function event(span: ReceivedSpan, name: string, nth = 0): ReceivedSpan['events'][number] {
  const found = span.events.filter((e) => e.name === name)[nth];
  assert.ok(found, `${span.name} has event ${name}`);
  return found;
}

/** The monotonic ns stamp of an event, from whichever attribute its span uses. */
export function stamp(span: ReceivedSpan, name: string): number {
  const attrs = event(span, name).attributes;
  return Number(attrs['event.ts.monotonic_ns'] ?? attrs['ts.monotonic_ns']);
}

/**
 * docs/journey-tracing.md §6 on the monotonic stamps of one successful request: every core span in journey order
 * between the API span's stamps, and the first response after the earliest first token.
 */
export function assertJourneyOrder(api: ReceivedSpan, cores: readonly ReceivedSpan[]): void {
  const arrived = stamp(api, 'api.ARRIVED');
  const handoff = stamp(api, 'api.HANDOFF_TO_CORE');
  const firstResponse = stamp(api, 'api.FIRST_RESPONSE_FROM_CORE');
  const departed = stamp(api, 'api.DEPARTED');
  assert.ok(arrived <= handoff, 'ARRIVED ≤ HANDOFF_TO_CORE');
  for (const core of cores) {
    const order = [handoff, stamp(core, 'journey.QUEUED'), stamp(core, 'journey.SCHEDULED'), stamp(core, 'journey.FIRST_TOKEN'), stamp(core, 'journey.FINISHED'), departed];
    for (let i = 1; i < order.length; i++) assert.ok(order[i - 1] <= order[i], `journey order broken at step ${i}: ${order.join(' ≤ ')}`);
  }
  const firstToken = Math.min(...cores.map((c) => stamp(c, 'journey.FIRST_TOKEN')));
  assert.ok(firstToken <= firstResponse && firstResponse <= departed, 'FIRST_TOKEN ≤ FIRST_RESPONSE_FROM_CORE ≤ DEPARTED');
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; requestId: string }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, json: text.startsWith('{') ? JSON.parse(text) : text, requestId: response.headers.get('x-request-id') ?? '' };
}
