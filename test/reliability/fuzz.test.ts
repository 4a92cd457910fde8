import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';
import { fuzzCase, sendAndCheck, type Outcome } from './request-fuzzer.js';

const MODEL = 'dummy-tiny';
/** A few hundred cases in the normal suite; FUZZ_CASES=N runs N (thousands, for a soak). */
const CASES = Number(process.env.FUZZ_CASES ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? 1);
const CONCURRENCY = 4;
/** No request may take longer than this on the tiny model, however it is malformed. */
const BOUND_MS = 30_000;

describe(`${CASES} fuzzed requests (seed ${SEED}) over the three generation routes`, () => {
  let t: TestServer;
  before(async () => (t = await startServer({ maxNumSeqs: 8, maxRequestBodyBytes: 64 * 1024 })));
  after(() => t.close());

  it('get a well-formed answer in bounded time, never a 5xx but 503 and 504, and leave the server healthy', async (context) => {
    const outcomes = new Map<Outcome, number>();
    const problems: string[] = [];
    let next = 0;
    const runner = async () => {
      while (next < CASES) {
        const index = next++;
        const c = fuzzCase(SEED, index, MODEL);
        const { outcome, problem } = await sendAndCheck(t.url, c, BOUND_MS);
        if (outcome) outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        if (problem) problems.push(`case ${index} (${c.route}; ${c.mutations.join('; ')}): ${problem}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, runner));
    context.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    assert.deepEqual(problems.slice(0, 10), [], `${problems.length} problems`);
    assert.ok((outcomes.get('ok') ?? 0) > CASES / 10, 'enough cases were valid to exercise generation');
    assert.ok((outcomes.get('client_error') ?? 0) > CASES / 4, 'enough cases were refused to exercise validation');

    assert.equal((await fetch(`${t.url}/health`)).status, 200);
    // one request after them all passes through the only worker once every abort has been applied
    const after = await fetch(`${t.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt: 'after', max_tokens: 1 }) });
    assert.equal(after.status, 200);
    const stats = t.server.engine.stats();
    assert.equal(stats.numRunning + stats.numWaiting, 0, 'no request left in the engine');
    assert.equal(stats.numFreeKvBlocks, stats.numKvBlocks, 'every KV block is free');
  });
});
