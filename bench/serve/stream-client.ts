import { SseParser } from './sse-parser.js';

/** What one streamed completion request measured. Times in milliseconds from its start. */
export interface RequestResult {
  readonly ok: boolean;
  readonly error?: string;
  readonly startMs: number;
  /** Time to the first chunk that carried output. */
  readonly ttftMs: number;
  /** Gaps between consecutive chunks that carried output. */
  readonly itlMs: readonly number[];
  readonly e2eMs: number;
  readonly promptTokens: number;
  readonly outputTokens: number;
}

/**
 * Sends one streaming completion (with usage) and times it: first output, the gap before each
 * later output, and the end. Token counts come from the usage chunk, not from counting chunks
 * (a chunk can hold more than one token, or none while a character is incomplete).
 */
export async function streamCompletion(url: string, body: Record<string, unknown>, clock: () => number = () => performance.now(), timeoutMs = 120_000): Promise<RequestResult> {
  const start = clock();
  let first = NaN;
  let last = NaN;
  const itl: number[] = [];
  let usage = { prompt_tokens: 0, completion_tokens: 0 };
  const fail = (error: string): RequestResult => ({ ok: false, error, startMs: start, ttftMs: NaN, itlMs: [], e2eMs: clock() - start, promptTokens: 0, outputTokens: 0 });
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
      // a server that stops answering fails its requests rather than hanging the benchmark
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    return fail(String(err));
  }
  if (!response.ok || !response.body) return fail(`HTTP ${response.status}: ${await response.text()}`);
  const parser = new SseParser();
  const decoder = new TextDecoder();
  let done = false;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      const now = clock();
      for (const data of parser.push(decoder.decode(chunk, { stream: true }))) {
        if (data === '[DONE]') {
          done = true;
          continue;
        }
        const event = JSON.parse(data);
        if (event.error) return fail(event.error.message);
        if (event.usage) usage = event.usage;
        const choice = event.choices?.[0];
        const text = choice?.text ?? choice?.delta?.content ?? '';
        if (text === '' && !choice?.finish_reason) continue;
        if (Number.isNaN(first)) first = now;
        else itl.push(now - last);
        last = now;
      }
    }
  } catch (err) {
    return fail(String(err));
  }
  if (!done) return fail('the stream ended without [DONE]');
  return { ok: true, startMs: start, ttftMs: first - start, itlMs: itl, e2eMs: clock() - start, promptTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens };
}
