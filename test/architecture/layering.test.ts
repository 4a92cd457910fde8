import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backendRuleViolations, fileCycles, folderCycles, importEdges, layeringViolations, readSources } from './layers.js';

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

  it('has no cycle between files, type-only imports included', () => {
    assert.deepEqual(fileCycles(importEdges(readSources(LIB))), []);
  });

  it('lets models/ see only the backend contract, and only the registry import a backend', () => {
    assert.deepEqual(backendRuleViolations(importEdges(readSources(LIB))), []);
  });

  it('catches a file-level cycle, a model importing a backend and a backend imported around the registry', () => {
    const sources = new Map([
      ['engine/engine.ts', "import { createEngineCore } from './engine-core.js';"],
      ['engine/engine-core.ts', "import type { Engine } from './engine.js';\nimport { Rng } from '../util/rng.js';"],
      ['util/rng.ts', ''],
      ['tokenizer/a.ts', "import './b.js';"],
      ['tokenizer/b.ts', "import './c.js';"],
      ['tokenizer/c.ts', "import type { A } from './a.js';"],
      ['models/llama/llama-model.ts', "import type { Kernels } from '../../backends/kernels.js';\nimport { WasmKernels } from '../../backends/wasm/wasm-kernels.js';"],
      ['models/load-weights.ts', "import { weightsBuffer } from '../backends/backend.js';\nimport { ROPE } from '../backends/rope-table.js';"],
      ['engine/engine-core2.ts', "import { backendNamed } from '../backends/registry.js';\nimport { WASM_BACKEND } from '../backends/wasm/wasm-backend.js';"],
      ['backends/registry.ts', "import { WASM_BACKEND } from './wasm/wasm-backend.js';"],
      ['backends/wasm/wasm-backend.ts', "import { WasmKernels } from './wasm-kernels.js';\nimport { ropeTable } from '../rope-table.js';"],
      ['backends/gpujs/gpujs-backend.ts', "import { WasmKernels } from '../wasm/wasm-kernels.js';"],
    ]);
    const edges = importEdges(sources);
    assert.deepEqual(fileCycles(edges).sort(), ['engine/engine-core.ts → engine/engine.ts → engine/engine-core.ts', 'tokenizer/a.ts → tokenizer/b.ts → tokenizer/c.ts → tokenizer/a.ts']);
    const broken = backendRuleViolations(edges).map((v) => v.split(':')[0]);
    assert.deepEqual(broken, [
      // both rules at once: a model importing a backend, around the registry
      'models/llama/llama-model.ts imports backends/wasm/wasm-kernels.ts',
      'models/llama/llama-model.ts imports backends/wasm/wasm-kernels.ts',
      'models/load-weights.ts imports backends/rope-table.ts',
      'engine/engine-core2.ts imports backends/wasm/wasm-backend.ts',
      'backends/gpujs/gpujs-backend.ts imports backends/wasm/wasm-kernels.ts',
    ]);
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
