import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StopStringMatcher } from '../../lib/engine/stop-strings.js';
import { createEngine } from '../../lib/index.js';
import { collect } from '../helpers/collect.js';

/** Feeds `pieces` one by one; returns the concatenated visible text and whether it stopped. */
function feed(stops: string[], pieces: string[]): { text: string; stopped: boolean; deltas: string[] } {
  const m = new StopStringMatcher(stops);
  const deltas: string[] = [];
  for (const [i, piece] of pieces.entries()) {
    const out = m.push(piece, i === pieces.length - 1);
    deltas.push(out.text);
    if (out.stopped) return { text: deltas.join(''), stopped: true, deltas };
  }
  return { text: deltas.join(''), stopped: false, deltas };
}

describe('StopStringMatcher', () => {
  it('cuts the text before a stop string split across deltas, never showing part of it', () => {
    const r = feed(['STOP'], ['abc S', 'T', 'OP and more']);
    assert.deepEqual(r, { text: 'abc ', stopped: true, deltas: ['ab', 'c', ' '] });
  });

  it('releases held-back text that turns out not to be a stop string', () => {
    assert.deepEqual(feed(['STOP'], ['abc ST', 'ART', '!']), { text: 'abc START!', stopped: false, deltas: ['abc', ' ST', 'ART!'] });
  });

  it('takes the earliest of several stop strings', () => {
    assert.equal(feed(['bb', 'a b'], ['xx a bb']).text, 'xx ');
  });

  it('never splits a surrogate pair between shown and held text', () => {
    const r = feed(['zz'], ['a🦙', 'b']);
    for (const d of r.deltas) assert.equal(d, Buffer.from(d, 'utf8').toString('utf8'));
    assert.equal(r.text, 'a🦙b');
  });
});

describe('stop strings in the engine', () => {
  it('end the stream with finish reason stop and the stop string left out', async () => {
    const engine = await createEngine({ model: 'dummy-tiny', kernels: 'reference' });
    try {
      const params = { temperature: 0, maxTokens: 30, ignoreEos: true };
      const free = await collect(engine.generate('stop here', params));
      const stop = free.text.slice(6, 8);
      const stopped = await collect(engine.generate('stop here', { ...params, stop: [stop] }));
      assert.equal(stopped.finishReason, 'stop');
      assert.equal(stopped.text, free.text.slice(0, free.text.indexOf(stop)));
      await collect(engine.generate('x', { maxTokens: 1 }));
      assert.equal(engine.stats().numRunning, 0, 'the engine stopped generating');
    } finally {
      await engine.close();
    }
  });
});
