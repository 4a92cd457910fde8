import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PREEMPTING_REQUEST, PREEMPTION_PRONE, startServer, type TestServer } from '../helpers/server.js';

/** The page's globals, as the functions run in the browser see them (this project compiles without the DOM library). */
declare const document: { body: { dataset: Record<string, string | undefined> }; querySelectorAll(selector: string): { length: number } };

const KEY = 'sk-viewer';
const AUTH = { authorization: `Bearer ${KEY}` };
/** Where a browser may be: CHROMIUM_PATH, else Debian's and the usual packages'. */
const BROWSER = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p): p is string => typeof p === 'string' && existsSync(p));
/** CI sets this: there the browser must be present, and its absence is a failure, not a skip. */
const REQUIRED = process.env.JOURNEY_REQUIRE_BROWSER === '1';

interface JourneyJson {
  id: string;
  state: string;
  ttft_ms: number | null;
  e2e_ms: number | null;
  choices: { timings: Record<string, number | null>; events: { name: string; t_ms: number }[] }[];
}

async function post(url: string, body: unknown): Promise<Response> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...AUTH }, body: JSON.stringify(body) });
  await response.arrayBuffer();
  return response;
}

async function journeys(url: string, limit = 1000): Promise<JourneyJson[]> {
  return ((await (await fetch(`${url}/v1/journeys?limit=${limit}`, { headers: AUTH })).json()) as { data: JourneyJson[] }).data;
}

/** What the page must show, computed here from the API the way the README defines it. */
function expectedBreakdown(list: JourneyJson[]): Record<string, string> {
  const finishedAt = (c: JourneyJson['choices'][number]) => c.events.find((e) => e.name === 'journey.FINISHED')?.t_ms ?? -1;
  const done = list.filter((j) => j.e2e_ms !== null && j.choices.length > 0);
  const percentile = (values: number[], p: number) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))].toFixed(1) : '–';
  };
  const out: Record<string, string> = {};
  const e2e = done.reduce((s, j) => s + (j.e2e_ms as number), 0);
  for (const part of ['queue', 'prefill', 'decode']) {
    const values = done.map((j) => [...j.choices].sort((a, b) => finishedAt(b) - finishedAt(a))[0].timings[`${part}_ms`]).filter((v): v is number => v !== null);
    out[`share-${part}`] = `${((values.reduce((a, b) => a + b, 0) / e2e) * 100).toFixed(1)}%`;
    out[`p50-${part}`] = percentile(values, 50);
    out[`p99-${part}`] = percentile(values, 99);
  }
  out['p50-e2e'] = percentile(done.map((j) => j.e2e_ms as number), 50);
  out['p99-ttft'] = percentile(done.map((j) => j.ttft_ms).filter((v): v is number => v !== null), 99);
  return out;
}

/** Waits until the page has loaded the journeys at least `count` times. */
async function loaded(page: Page, count: number): Promise<void> {
  await page.waitForFunction((n) => Number(document.body.dataset.loaded ?? 0) >= n, count);
}

describe('the journey viewer in a real browser', { skip: !BROWSER && !REQUIRED ? 'no Chromium here (Debian: apt-get install chromium; the CI installs it)' : false }, () => {
  let t: TestServer;
  let browser: Browser;
  let page: Page;
  before(async () => {
    assert.ok(BROWSER, 'a Chromium executable (JOURNEY_REQUIRE_BROWSER is set)');
    t = await startServer({ apiKey: KEY, ...PREEMPTION_PRONE, traceUrlTemplate: 'http://jaeger.example/trace/{trace_id}' });
    browser = await chromium.launch({ executablePath: BROWSER, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 }, httpCredentials: { username: 'viewer', password: KEY } });
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shows one row per request, the preempted one with its gap, the aborted one, and the API’s numbers', async () => {
    const long = PREEMPTING_REQUEST;
    await Promise.all([post(`${t.url}/v1/completions`, long), post(`${t.url}/v1/completions`, long), post(`${t.url}/v1/completions`, { prompt: 'two choices', n: 2, max_tokens: 8 })]);
    for (let i = 0; i < 4; i++) await post(`${t.url}/v1/chat/completions`, { messages: [{ role: 'user', content: `hello ${i}` }], max_tokens: 6 + i });
    // a client that leaves while sending its request: aborted as client_disconnect, deterministically
    await new Promise<void>((resolve) => {
      const req = http.request(`${t.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '100', ...AUTH } });
      req.on('error', () => {});
      req.write('{"prompt": "leave ea', () => {
        req.destroy();
        resolve();
      });
    });
    while (!(await journeys(t.url)).some((j) => j.state === 'aborted')) await new Promise((resolve) => setImmediate(resolve));

    const response = await page.goto(`${t.url}/journeys`);
    assert.equal(response?.status(), 200, 'the browser passed the key it was asked for');
    await loaded(page, 1);
    const api = await journeys(t.url);
    const rowIds = await page.$$eval('#rows .row:not(.choice)', (rows) => rows.map((r) => (r as unknown as { dataset: Record<string, string> }).dataset.requestId));
    assert.deepEqual(rowIds, api.map((j) => j.id), 'one row per request, newest first');
    assert.equal(await page.locator('#rows .row.choice').count(), 2, 'the n = 2 request shows its two choices');

    const preempted = api.find((j) => j.choices.some((c) => c.events.some((e) => e.name === 'journey.PREEMPTED')));
    assert.ok(preempted, 'the workload preempted a request');
    const gap = page.locator(`#rows .row:not(.choice)[data-request-id="${preempted.id}"] .seg-gap`);
    assert.equal(await gap.count(), 1);
    assert.ok(((await gap.boundingBox())?.width ?? 0) > 0, 'the gap is drawn');
    const aborted = api.find((j) => j.state === 'aborted') as JourneyJson;
    assert.equal(await page.locator(`#rows .row[data-request-id="${aborted.id}"] .end-aborted`).count(), 1);
    assert.match((await page.locator(`#rows .row[data-request-id="${aborted.id}"] .reason`).textContent()) ?? '', /client_disconnect/);

    for (const [id, text] of Object.entries(expectedBreakdown(api))) assert.equal(await page.locator(`#${id}`).textContent(), text, id);

    await page.locator(`#rows .row:not(.choice)[data-request-id="${preempted.id}"]`).click();
    const details = (await page.locator('#details').textContent()) ?? '';
    assert.match(details, /journey\.PREEMPTED/);
    assert.match(details, /SCHEDULED RESUME/);
    await page.screenshot({ path: process.env.JOURNEY_VIEWER_SCREENSHOT ?? `${process.env.TMPDIR ?? '/tmp'}/journey-viewer.png` });
  });

  it('refreshes live, and stays usable with 1,000 journeys', async (context) => {
    const before = Number(await page.evaluate(() => document.body.dataset.loaded));
    await post(`${t.url}/v1/completions`, { prompt: 'live', max_tokens: 2 });
    await loaded(page, before + 1);
    const newest = (await journeys(t.url, 1))[0];
    await page.waitForSelector(`#rows .row[data-request-id="${newest.id}"]`);

    for (let i = 0; i < 1000; i += 8) await Promise.all(Array.from({ length: 8 }, (_, k) => post(`${t.url}/v1/completions`, { prompt: `bulk ${i + k}`, max_tokens: 1 })));
    await page.locator('#live').uncheck();
    await page.selectOption('#limit', '1000');
    const started = performance.now();
    await page.waitForFunction(() => document.querySelectorAll('#rows .row:not(.choice)').length === 1000);
    context.diagnostic(`1,000 journeys fetched and drawn in ${Math.round(performance.now() - started)} ms`);
    const api = await journeys(t.url);
    for (const [id, text] of Object.entries(expectedBreakdown(api))) assert.equal(await page.locator(`#${id}`).textContent(), text, id);
    await page.locator('#rows .row:not(.choice)').nth(999).scrollIntoViewIfNeeded();
    await page.locator('#rows .row:not(.choice)').nth(999).click();
    assert.match((await page.locator('#details h2').textContent()) ?? '', new RegExp(api[999].id));
  });
});
