import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { folderCycles, importEdges, layeringViolations, readSources } from './layers.js';

const LIB = new URL('../../lib', import.meta.url).pathname;

describe('folder layering of lib/', () => {
  it('has no import that runs upward or sideways', () => {
    const edges = importEdges(readSources(LIB));
    assert.ok(edges.length > 100, `read the imports of lib/ (${edges.length} found)`);
    assert.deepEqual(layeringViolations(edges), []);
  });

  it('has no cycle between folders', () => {
    assert.deepEqual(folderCycles(importEdges(readSources(LIB))), []);
  });

  it('catches an upward import, a sideways one and a cycle when there is one', () => {
    const sources = new Map([
      ['engine/scheduler.ts', "import type { Replica } from '../pool/replica.js';"],
      ['observe/x.ts', "const m = await import('../transport/ring.js');"],
      ['transport/ring.ts', "export { Foo } from '../observe/x.js';"],
      ['pool/replica.ts', "import '../engine/scheduler.js';"],
    ]);
    const edges = importEdges(sources);
    assert.equal(edges.length, 4);
    const violations = layeringViolations(edges);
    assert.ok(violations.some((v) => v.startsWith('engine/scheduler.ts imports pool/replica.ts')));
    assert.ok(violations.some((v) => v.startsWith('transport/ring.ts imports observe/x.ts')));
    assert.ok(folderCycles(edges).some((c) => c === 'engine → pool → engine'));
  });
});
