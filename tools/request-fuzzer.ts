import { Rng } from '../lib/util/rng.js';

/** One generated HTTP request, and what it is. */
export interface FuzzCase {
  readonly route: string;
  readonly headers: Record<string, string>;
  /** The raw body: valid JSON, broken JSON, or anything else. */
  readonly body: string;
  /** What was done to the valid request it started from, for the failure message. */
  readonly mutations: readonly string[];
}

export const GENERATION_ROUTES = ['/v1/chat/completions', '/v1/completions', '/v1/responses'] as const;

/** Values of every type and edge a field could be given. */
const ODD_VALUES: readonly unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  -0.0001,
  1e308,
  -1e308,
  2 ** 53 + 2,
  '',
  '7',
  'x'.repeat(5000),
  '\u0000\ud800\uffff',
  '__proto__',
  [],
  [null],
  [[[[[]]]]],
  {},
  { __proto__: { polluted: true } },
  { nested: { deeper: { deepest: [1, 2, 3] } } },
  Array.from({ length: 300 }, (_, i) => i),
];

const FIELDS = [
  'model', 'messages', 'prompt', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'top_k', 'n', 'seed',
  'stop', 'stream', 'stream_options', 'echo', 'ignore_eos', 'user', 'logprobs', 'top_logprobs', 'presence_penalty', 'frequency_penalty',
  'repetition_penalty', 'min_p', 'min_tokens', 'logit_bias', 'stop_token_ids', 'tools', 'response_format', 'input', 'instructions',
  'max_output_tokens', 'store', 'previous_response_id', 'prompt_logprobs',
] as const;

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.nextUint32() % items.length];
}

function int(rng: Rng, min: number, max: number): number {
  return min + (rng.nextUint32() % (max - min + 1));
}

/** What a fuzz run may vary beyond the defaults. */
export interface FuzzOptions {
  /** Message contents to draw from (e.g. ones a hostile chat template misbehaves on). */
  readonly contents?: readonly string[];
}

/** A valid request for `route`, small enough to finish quickly on the tiny model. */
function validRequest(rng: Rng, route: string, model: string, options: FuzzOptions): Record<string, unknown> {
  const content = () => (options.contents ? pick(rng, options.contents) : 'fuzz me');
  const common: Record<string, unknown> = {
    model,
    max_tokens: int(rng, 1, 12),
    ...(rng.nextFloat() < 0.5 ? { temperature: pick(rng, [0, 0.3, 1, 2]) } : {}),
    ...(rng.nextFloat() < 0.3 ? { seed: int(rng, 0, 1000) } : {}),
    ...(rng.nextFloat() < 0.3 ? { n: int(rng, 1, 4) } : {}),
    ...(rng.nextFloat() < 0.4 ? { stream: true } : {}),
    ...(rng.nextFloat() < 0.2 ? { presence_penalty: 0.5, frequency_penalty: 0.5, repetition_penalty: 1.2, min_p: 0.05 } : {}),
    ...(rng.nextFloat() < 0.15 ? { logit_bias: { '65': 5 }, stop_token_ids: [10], min_tokens: 1 } : {}),
  };
  if (route === '/v1/responses') {
    const { max_tokens: maxTokens, n: _n, seed: _seed, ...rest } = common;
    return { ...rest, max_output_tokens: maxTokens, input: pick(rng, [content(), [{ role: 'user', content: content() }]] as unknown[]), ...(rng.nextFloat() < 0.3 ? { instructions: 'short' } : {}) };
  }
  if (route === '/v1/chat/completions') {
    return { ...common, messages: [{ role: pick(rng, ['system', 'user', 'developer']), content: content() }, { role: 'user', content: content() }] };
  }
  return { ...common, prompt: pick(rng, ['fuzz', ['one', 'two'], [1, 2, 3], [[4, 5], [6]]] as unknown[]) };
}

/** Applies one mutation to `request` (an object) and names it. */
function mutate(rng: Rng, request: Record<string, unknown>): string {
  const field = pick(rng, FIELDS);
  switch (rng.nextUint32() % 8) {
    case 0:
      delete request[field];
      return `drop ${field}`;
    case 1: {
      const value = pick(rng, ODD_VALUES);
      request[field] = value;
      return `${field} = ${JSON.stringify(value)?.slice(0, 40)}`;
    }
    case 2:
      request[`unknown_${int(rng, 0, 99)}`] = pick(rng, ODD_VALUES);
      return 'an unknown field';
    case 3: {
      const messages = [{ role: pick(rng, ['user', 'assistant', 'tool', 'function', 'constructor', 'USER', '']), content: pick(rng, ODD_VALUES) }];
      request.messages = messages;
      return `messages = ${JSON.stringify(messages).slice(0, 60)}`;
    }
    case 4: {
      const prompt = pick(rng, [[-1], [1e9], [0.5], ['a', 1], [[]], 'z'.repeat(3000), Array.from({ length: 40 }, () => 'p')] as unknown[]);
      request.prompt = prompt;
      return `prompt = ${JSON.stringify(prompt).slice(0, 60)}`;
    }
    case 6: {
      // many choices with log probabilities: refused up front unless streamed or within the budget
      Object.assign(request, pick(rng, [{ n: 128, max_tokens: 2000 }, { n: 4, max_tokens: 40 }, { n: 2, max_tokens: 12 }]));
      if ('messages' in request) Object.assign(request, { logprobs: true, top_logprobs: 20 });
      else request.logprobs = 20;
      if (request.stream === true) request.max_tokens = Math.min(request.max_tokens as number, 30);
      return `n = ${request.n}, max_tokens = ${request.max_tokens}, 20 logprobs${request.stream ? ', streamed' : ''}`;
    }
    case 7: {
      // fields a message may carry that this server does not serve
      const message = pick(rng, [{ name: 'alice' }, { tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }, { tool_call_id: 'c' }, { refusal: null }, { colour: 1 }] as Record<string, unknown>[]);
      request.messages = [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'y', ...message }];
      return `a message with ${Object.keys(message)[0]}`;
    }
    default: {
      const n = pick(rng, [0, 5, 16, 33, 129]);
      request.n = n;
      request.max_tokens = pick(rng, [1, 4, 2047, 5000]);
      return `n = ${n}, max_tokens = ${request.max_tokens}`;
    }
  }
}

/** Ways to break the bytes or the headers of an otherwise valid request. */
function breakEnvelope(rng: Rng, body: string, headers: Record<string, string>): { body: string; what: string } {
  switch (rng.nextUint32() % 6) {
    case 0:
      return { body: body.slice(0, int(rng, 0, body.length - 1)), what: 'truncated JSON' };
    case 1:
      return { body: body.replace(/[:,]/, pick(rng, ['', ';', '\u0000'])), what: 'corrupted JSON' };
    case 2:
      headers['content-type'] = pick(rng, ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', '']);
      return { body, what: `content-type ${headers['content-type']}` };
    case 3:
      headers['content-encoding'] = pick(rng, ['gzip', 'br', 'x-unknown']);
      return { body, what: `content-encoding ${headers['content-encoding']}` };
    case 4:
      return { body: pick(rng, ['null', '[]', '"string"', '42', '{}', '{"model":{}}']), what: 'not a request object' };
    default:
      return { body: `${'['.repeat(int(rng, 100, 5000))}`, what: 'deep nesting' };
  }
}

/** The `index`-th case of the stream seeded by `seed`: same seed, same cases. */
export function fuzzCase(seed: number, index: number, model: string, options: FuzzOptions = {}): FuzzCase {
  const rng = new Rng(seed * 100_003 + index);
  const route = pick(rng, GENERATION_ROUTES);
  const request = validRequest(rng, route, model, options);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  // a few ids shared by many requests, some of them at the same time
  if (rng.nextFloat() < 0.15) headers['x-request-id'] = `fuzz-shared-${rng.nextUint32() % 3}`;
  const mutations: string[] = [];
  const roll = rng.nextFloat();
  if (roll < 0.2) return { route, headers, body: JSON.stringify(request), mutations: ['valid'] };
  const count = int(rng, 1, 3);
  for (let i = 0; i < count; i++) mutations.push(mutate(rng, request));
  let body = JSON.stringify(request);
  if (roll > 0.8) {
    const broken = breakEnvelope(rng, body, headers);
    body = broken.body;
    mutations.push(broken.what);
  }
  return { route, headers, body, mutations };
}

export type Outcome = 'ok' | 'client_error' | 'overloaded' | 'timeout';

/**
 * Sends `c` and checks the answer against what any request may get: never a 5xx but 503 (with
 * Retry-After) and 504; every 4xx in the OpenAI error shape without a stack trace; a 200 that is
 * a whole response or a stream ending in [DONE]; and an answer within `boundMs`.
 */
export async function sendAndCheck(baseUrl: string, c: FuzzCase, boundMs: number): Promise<{ outcome: Outcome | null; problem: string | null }> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(baseUrl + c.route, { method: 'POST', headers: c.headers, body: c.body, signal: AbortSignal.timeout(boundMs) });
    text = await response.text();
  } catch (err) {
    return { outcome: null, problem: `no answer within ${boundMs} ms: ${(err as Error).message}` };
  }
  const { status } = response;
  if (status === 503) return { outcome: 'overloaded', problem: response.headers.get('retry-after') ? null : '503 without Retry-After' };
  if (status === 504) return { outcome: 'timeout', problem: null };
  if (status >= 500) return { outcome: null, problem: `${status}: ${text.slice(0, 200)}` };
  if (status >= 400) return { outcome: 'client_error', problem: errorShapeProblem(text) };
  if (status !== 200) return { outcome: null, problem: `unexpected status ${status}` };
  const problem = (response.headers.get('content-type') ?? '').startsWith('text/event-stream') ? streamProblem(text, c.route) : responseProblem(text, c.route);
  return { outcome: 'ok', problem };
}

function errorShapeProblem(text: string): string | null {
  let error: Record<string, unknown>;
  try {
    error = (JSON.parse(text) as { error: Record<string, unknown> }).error;
  } catch {
    return `a 4xx body that is not JSON: ${text.slice(0, 100)}`;
  }
  if (typeof error?.message !== 'string' || error.message.length === 0) return 'a 4xx without error.message';
  if (typeof error.type !== 'string') return 'a 4xx without error.type';
  if (!('param' in error) || !('code' in error)) return 'a 4xx without error.param or error.code';
  if (/\n\s+at /.test(error.message) || error.message.length > 1000) return `an error message with a stack trace or unbounded: ${error.message.slice(0, 100)}`;
  return null;
}

/** A Responses stream: named events with JSON data, from response.created to a terminal event. */
function responsesStreamProblem(events: string[]): string | null {
  const names = events.map((e) => /^event: (\S+)\ndata: /.exec(e)?.[1] ?? null);
  if (names.some((n) => n === null)) return 'a Responses stream event without a name or data';
  if (names[0] !== 'response.created') return 'a Responses stream that does not start with response.created';
  if (!['response.completed', 'response.incomplete', 'response.failed'].includes(names.at(-1) as string)) return `a Responses stream that ends with ${names.at(-1)}`;
  return null;
}

function responseProblem(text: string, route: string): string | null {
  try {
    const body = JSON.parse(text) as { choices?: unknown[]; usage?: unknown; output?: unknown[] };
    if (route === '/v1/responses') return Array.isArray(body.output) && body.usage ? null : 'a 200 response without output or usage';
    if (!Array.isArray(body.choices) || body.choices.length === 0 || !body.usage) return 'a 200 without choices or usage';
    return null;
  } catch {
    return 'a 200 body that is not JSON';
  }
}

function streamProblem(text: string, route: string): string | null {
  const events = text.split('\n\n').filter((e) => e.trim() !== '');
  if (route === '/v1/responses') return responsesStreamProblem(events);
  if (events.at(-1)?.trim() !== 'data: [DONE]') return 'a stream that does not end with [DONE]';
  for (const event of events.slice(0, -1)) {
    if (!event.startsWith('data: ')) return `a stream event without data: ${event.slice(0, 60)}`;
    try {
      JSON.parse(event.slice(6));
    } catch {
      return `a stream event that is not JSON: ${event.slice(0, 60)}`;
    }
  }
  return null;
}
