import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { createLogger } from '../../lib/util/logger.js';
import { OtlpReceiver, type ReceiverMode } from '../../tools/otlp-receiver.js';
import { startServer } from '../helpers/server.js';
import { scrapeMetric } from '../../tools/metrics.js';
import { postJson } from '../helpers/tracing.js';

const MODEL = 'dummy-tiny';

/** A logger that records lines and lets a test wait for one matching `pattern`. */
function recordingLogger() {
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const logger = createLogger({
    level: 'warn',
    write: (line) => {
      lines.push(line);
      for (const w of waiters.filter((w) => w.pattern.test(line))) w.resolve();
    },
  });
  const when = (pattern: RegExp) => (lines.some((l) => pattern.test(l)) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ pattern, resolve })));
  return { logger, lines, when };
}

// each case needs its own collector behaviour, so each runs its own server in this one process;
// the API thread's provider is released when a server closes, so the next server starts afresh
for (const mode of ['down', 'refuse', 'black-hole'] as const) {
  describe(`a collector that is ${mode === 'down' ? 'down' : mode === 'refuse' ? 'refusing' : 'a black hole'}`, () => {
    it('changes nothing for clients; what is lost is counted and logged once', async () => {
      const receiver = await OtlpReceiver.start(mode === 'down' ? 'accept' : (mode as ReceiverMode));
      const endpoint = receiver.url;
      if (mode === 'down') await receiver.close(); // nothing listens there any more
      const { logger, lines, when } = recordingLogger();
      const t = await startServer({ logger, tracing: { enabled: true, endpoint, maxQueueSize: 8, exportTimeoutMs: 300, shutdownTimeoutMs: 300 } });
      try {
        const bodies = Array.from({ length: 30 }, (_, i) => ({ model: MODEL, prompt: `request ${i}`, max_tokens: 4, ignore_eos: true }));
        const results = await Promise.all(bodies.map((b) => postJson(`${t.url}/v1/completions`, b)));
        for (const r of results) {
          assert.equal(r.status, 200);
          assert.equal(r.json.usage.completion_tokens, 4);
        }
        // 30 API spans against a queue of 8: the rest are dropped and counted, not buffered
        await when(/trace export queue full|trace export failed/);
        const lost = async () => (await scrapeMetric(t.url, 'journey_tracing_spans_dropped_total')) + (await scrapeMetric(t.url, 'journey_tracing_spans_failed_total'));
        assert.ok((await lost()) > 0, 'lost spans are counted');
        assert.equal(lines.filter((l) => l.includes('trace export queue full')).length <= 1, true, 'logged once per cause');
        assert.equal(await scrapeMetric(t.url, 'journey_tracing_spans_exported_total'), 0);
        // and the server still serves normally
        assert.equal((await postJson(`${t.url}/v1/completions`, bodies[0])).status, 200);
      } finally {
        await t.close();
        if (mode !== 'down') await receiver.close();
      }
    });
  });
}

describe('a collector that accepts connections and never speaks HTTP/2', () => {
  it('holds at most one connection attempt per thread open, however long it lasts', async () => {
    let open = 0;
    let total = 0;
    let peak = 0;
    const blackHole = net.createServer((socket) => {
      total++;
      peak = Math.max(peak, ++open);
      socket.on('close', () => open--);
      socket.on('error', () => {});
      socket.resume(); // reads the client's preface and settings, answers nothing
    });
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const { port } = blackHole.address() as net.AddressInfo;
    const { logger } = recordingLogger();
    const t = await startServer({ logger, tracing: { enabled: true, endpoint: `http://127.0.0.1:${port}`, maxQueueSize: 8, exportTimeoutMs: 300, shutdownTimeoutMs: 300 } });
    try {
      // every request leaves spans to export on both threads; keep going until the exporters
      // have had to open several connections
      for (let i = 0; total < 6; i++) {
        const r = await postJson(`${t.url}/v1/completions`, { model: MODEL, prompt: `request ${i}`, max_tokens: 2 });
        assert.equal(r.status, 200);
      }
      assert.ok(peak <= 2, `${peak} connections open at once for 2 threads (of ${total} opened)`);
    } finally {
      await t.close();
      blackHole.close();
    }
  });
});
