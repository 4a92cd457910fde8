/**
 * Run as its own process by the shutdown test: starts a pool, puts requests in flight, closes
 * it, prints what each request ended with, and then simply returns. The process must exit by
 * itself: any handle left open would keep it alive.
 */
import { createPoolEngine } from '../../lib/pool/pool-engine.js';

const client = await createPoolEngine({ model: 'dummy-tiny', workers: 2 });
const outcomes = await Promise.all(
  [0, 1, 2, 3].map(async (i) => {
    const iterator = client.generate(`request ${i}`, { maxTokens: 2000, ignoreEos: true })[Symbol.asyncIterator]();
    try {
      await iterator.next(); // in flight for sure (unless the close below came first)
      if (i === 3) void client.close();
      while (!(await iterator.next()).done);
      return 'finished';
    } catch (err) {
      return (err as { code?: string }).code ?? String(err);
    }
  }),
);
await client.close();
process.stdout.write(JSON.stringify({ outcomes, generateAfterClose: tryGenerate() }));

function tryGenerate(): string {
  try {
    client.generate('x');
    return 'accepted';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}
