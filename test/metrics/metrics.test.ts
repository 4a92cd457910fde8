import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { postJson } from '../helpers/tracing.js';
import { startServer, type TestServer } from '../helpers/server.js';

const MODEL = 'dummy-tiny';

/** Sorts the labels of a series name, so that lookups do not depend on the order they are printed in. */
function normalise(series: string): string {
  const open = series.indexOf('{');
  if (open < 0) return series;
  const labels = series.slice(open + 1, -1).match(/[a-z_]+="[^"]*"/g) ?? [];
  return `${series.slice(0, open)}{${labels.sort().join(',')}}`;
}

/** Parses the Prometheus text format into { 'name{labels, sorted}': value }. */
async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(`${url}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
  const values = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(normalise(line.slice(0, at)), Number(line.slice(at + 1)));
  }
  return values;
}

describe('/metrics', () => {
  let t: TestServer;
  before(async () => (t = await startServer()));
  after(() => t.close());

  it('starts at zero, with every metric family present', async () => {
    const m = await scrape(t.url);
    for (const name of [
      'journey_num_requests_running',
      'journey_num_requests_waiting',
      'journey_kv_cache_usage_ratio',
      'journey_time_to_first_token_seconds_count',
      'journey_time_per_output_token_seconds_count',
      'journey_inter_token_latency_seconds_count',
      'journey_e2e_request_latency_seconds_count',
      'journey_request_queue_time_seconds_count',
      'journey_request_prefill_time_seconds_count',
      'journey_request_decode_time_seconds_count',
      'journey_prompt_tokens_total',
      'journey_generation_tokens_total',
      'journey_num_preemptions_total',
    ]) {
      assert.equal(m.get(name), 0, name);
    }
    assert.ok(m.has('process_cpu_user_seconds_total'));
  });

  it('shows a running request and its KV cache use while it generates', async () => {
    const req = http.request(`${t.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    req.on('error', () => {});
    req.end(JSON.stringify({ model: MODEL, prompt: 'running', max_tokens: 1500, ignore_eos: true, stream: true }));
    const res = await new Promise<http.IncomingMessage>((resolve) => req.once('response', resolve));
    await new Promise<void>((resolve) => res.once('data', () => resolve()));
    const m = await scrape(t.url);
    assert.equal(m.get('journey_num_requests_running'), 1);
    assert.ok((m.get('journey_kv_cache_usage_ratio') ?? 0) > 0);
    req.destroy();
  });

  it('counts every request the engine took in the histograms and counters, and a rejected one only as rejected', async () => {
    const before = await scrape(t.url);
    const ok = [
      await postJson(`${t.url}/v1/completions`, { model: MODEL, prompt: 'one', max_tokens: 5, ignore_eos: true }),
      await postJson(`${t.url}/v1/chat/completions`, { model: MODEL, messages: [{ role: 'user', content: 'two' }], max_tokens: 4, n: 2, ignore_eos: true }),
      await postJson(`${t.url}/v1/completions`, { model: MODEL, prompt: 'three', max_tokens: 3, stream: true, ignore_eos: true }),
    ];
    const failed = await postJson(`${t.url}/v1/completions`, { model: MODEL, prompt: 'x', temperature: 9 });
    assert.equal(failed.status, 400);
    for (const r of ok) assert.equal(r.status, 200);
    const m = await scrape(t.url);
    const delta = (name: string) => (m.get(normalise(name)) ?? 0) - (before.get(normalise(name)) ?? 0);
    assert.equal(delta('journey_e2e_request_latency_seconds_count'), 3, 'every request the engine took; not the rejected one');
    assert.equal(delta('journey_time_to_first_token_seconds_count'), 3);
    assert.equal(delta('journey_request_queue_time_seconds_count'), 4, 'one per completion (n = 2 counts twice)');
    assert.equal(delta('journey_request_prefill_time_seconds_count'), 4);
    assert.equal(delta('journey_request_decode_time_seconds_count'), 4);
    assert.equal(delta('journey_time_per_output_token_seconds_count'), 4);
    assert.equal(delta('journey_inter_token_latency_seconds_count'), 4 + 3 + 3 + 2, 'one per token after the first');
    assert.equal(delta('journey_generation_tokens_total'), 5 + 8 + 3);
    assert.equal(delta('journey_prompt_tokens_total'), ok[0].json.usage.prompt_tokens + ok[1].json.usage.prompt_tokens + 6);
    assert.equal(delta('journey_requests_finished_total{finish_reason="length"}'), 4);
    assert.equal(delta('journey_requests_rejected_total{reason="validation_error"}'), 1);
    assert.equal(delta('journey_requests_aborted_total{reason="validation_error"}'), 0, 'a rejection is not an abort');
    assert.equal(delta('journey_requests_finished_total{finish_reason="abort"}'), 0, 'nor a finished completion');
    assert.equal(delta('gen_ai_server_request_duration_seconds_count{gen_ai_provider_name="journey-llm",gen_ai_request_model="dummy-tiny",gen_ai_response_model="dummy-tiny",gen_ai_operation_name="text_completion",error_type=""}'), 2);
    assert.equal(delta('gen_ai_server_request_duration_seconds_count{gen_ai_provider_name="journey-llm",gen_ai_request_model="dummy-tiny",gen_ai_response_model="dummy-tiny",gen_ai_operation_name="text_completion",error_type="validation_error"}'), 0);
    assert.equal(delta('gen_ai_server_time_to_first_token_seconds_count{gen_ai_provider_name="journey-llm",gen_ai_request_model="dummy-tiny",gen_ai_response_model="dummy-tiny",gen_ai_operation_name="chat"}'), 1);
    assert.equal(delta('gen_ai_server_time_per_output_token_seconds_count{gen_ai_provider_name="journey-llm",gen_ai_request_model="dummy-tiny",gen_ai_response_model="dummy-tiny",gen_ai_operation_name="chat"}'), 2);
    assert.equal(m.get('journey_num_requests_running'), 0);
    assert.ok((m.get('journey_e2e_request_latency_seconds_sum') ?? 0) > (before.get('journey_e2e_request_latency_seconds_sum') ?? 0));
  });
});
