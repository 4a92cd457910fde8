import { Rng } from '../../lib/util/rng.js';
import { fuzzCase } from '../../tools/request-fuzzer.js';

/** The kinds of request a soak mixes, with their weights. */
const KINDS = [
  ['stream', 40],
  ['choices', 15],
  ['disconnect', 15],
  ['malformed', 25],
  ['long', 5],
  ['megabyte', 2],
] as const;

type Kind = (typeof KINDS)[number][0];

/**
 * Clients that keep sending a mix of requests until `until()` is false: streams read to the
 * end, n > 1 requests, streams abandoned after their first chunk, fuzzed malformed requests, the
 * occasional long generation, and megabyte prompts (tokenized, or refused as too long).
 * Counts every outcome as "kind:status".
 */
export class MixedLoad {
  readonly outcomes = new Map<string, number>();
  private index = 0;

  constructor(
    private readonly baseUrl: string,
    private readonly model: string,
    private readonly seed: number,
  ) {}

  async run(clients: number, until: () => boolean): Promise<void> {
    await Promise.all(Array.from({ length: clients }, (_, i) => this.client(new Rng(this.seed * 1000 + i), until)));
  }

  private async client(rng: Rng, until: () => boolean): Promise<void> {
    while (until()) {
      const kind = pickKind(rng);
      let outcome: string;
      try {
        outcome = `${kind}:${await this.send(kind, rng)}`;
      } catch (err) {
        outcome = `${kind}:${(err as Error).name === 'AbortError' ? 'abandoned' : 'network_error'}`;
      }
      this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
    }
  }

  private async send(kind: Kind, rng: Rng): Promise<number> {
    if (kind === 'megabyte') {
      const text = `soak ${rng.nextUint32()} `.repeat(80_000).slice(0, 1_000_000);
      const tokenize = rng.nextFloat() < 0.5;
      const body = tokenize ? { model: this.model, prompt: text } : { model: this.model, prompt: text, max_tokens: 4 };
      const response = await fetch(this.baseUrl + (tokenize ? '/tokenize' : '/v1/completions'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      await response.arrayBuffer();
      return response.status;
    }
    if (kind === 'malformed') {
      const c = fuzzCase(this.seed, this.index++, this.model);
      const response = await fetch(this.baseUrl + c.route, { method: 'POST', headers: c.headers, body: c.body });
      await response.arrayBuffer();
      return response.status;
    }
    const maxTokens = kind === 'long' ? 400 : 8 + (rng.nextUint32() % 56);
    const body =
      kind === 'choices'
        ? { model: this.model, prompt: 'soak', n: 4, max_tokens: maxTokens }
        : { model: this.model, messages: [{ role: 'user', content: `soak ${rng.nextUint32()}` }], max_tokens: maxTokens, stream: true, ignore_eos: true };
    const route = kind === 'choices' ? '/v1/completions' : '/v1/chat/completions';
    const controller = new AbortController();
    const response = await fetch(this.baseUrl + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: controller.signal });
    if (kind === 'disconnect' && response.ok) {
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      controller.abort();
      return response.status;
    }
    await response.arrayBuffer();
    return response.status;
  }
}

function pickKind(rng: Rng): Kind {
  const total = KINDS.reduce((sum, [, w]) => sum + w, 0);
  let roll = rng.nextUint32() % total;
  for (const [kind, weight] of KINDS) {
    if (roll < weight) return kind;
    roll -= weight;
  }
  return 'stream';
}
