import OpenAI from 'openai';
import { createServer, type JourneyServer, type ServerOptions } from '../../lib/api/create-server.js';
import { createLogger } from '../../lib/util/logger.js';

/**
 * A KV cache of 16 blocks of 4 tokens: two sequences growing to 55 tokens each cannot both stay,
 * so one of two concurrent `PREEMPTING_REQUEST`s is preempted.
 */
export const PREEMPTION_PRONE = Object.freeze({ maxModelLen: 64, kvCacheTokens: 64, blockSize: 4, enablePrefixCaching: false, maxNumSeqs: 4, maxNumBatchedTokens: 64 });
export const PREEMPTING_REQUEST = Object.freeze({ prompt: 'preempt me please', max_tokens: 37, ignore_eos: true });

export interface TestServer {
  readonly server: JourneyServer;
  readonly url: string;
  readonly client: OpenAI;
  close(): Promise<void>;
}

/**
 * A real server on 127.0.0.1 with a free port, one engine worker of one thread and the tiny model.
 * One thread: a kernel team spins while it waits for its helpers, and beside other test files on
 * a machine of few cores that spinning would decide how long timing-dependent tests take.
 */
export async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  const server = await createServer({
    model: 'dummy-tiny',
    workers: 1,
    threadsPerWorker: 1,
    host: '127.0.0.1',
    port: 0,
    logger: createLogger({ level: 'silent' }),
    ...options,
  });
  const { url } = await server.listen();
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: options.apiKey ?? 'unused', maxRetries: 0 });
  return { server, url, client, close: () => server.close() };
}

/** POSTs `body` (an object, or raw text) as JSON unless told otherwise; returns status, headers and parsed body. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: leave the text
  }
  return { status: response.status, headers: response.headers, json };
}
