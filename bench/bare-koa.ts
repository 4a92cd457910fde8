/**
 * The upper bound of the HTTP layer for bench:http: a bare Koa app answering every POST with a
 * fixed completion-sized JSON body, with no routing, validation or engine. Prints its URL.
 */
import http from 'node:http';
import Koa from 'koa';

const body = JSON.stringify({
  id: 'cmpl-000000000000000000000000',
  object: 'text_completion',
  created: 0,
  model: 'dummy-tiny',
  choices: [{ index: 0, text: 'x', logprobs: null, finish_reason: 'length' }],
  usage: { prompt_tokens: 6, completion_tokens: 1, total_tokens: 7 },
});
const app = new Koa();
app.use((ctx) => {
  ctx.type = 'application/json';
  ctx.body = body;
});
const server = http.createServer({ noDelay: true, keepAliveTimeout: 5000 }, app.callback());
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
