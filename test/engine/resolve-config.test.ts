import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { defaultEngineLayout, defaultThreadsPerWorker } from '../../lib/engine/engine-config.js';
import { resolveEngineConfig } from '../../lib/engine/resolve-config.js';
import { hasWebGpuAdapter } from '../../lib/backends/gpujs/webgpu-setup.js';
import { loadNativeAddon } from '../../lib/backends/native/native-addon.js';

const gpuDevice = readdirSync('/dev').some((d) => /^nvidia\d+$/.test(d)) || (existsSync('/dev/dri') && readdirSync('/dev/dri').some((d) => d.startsWith('renderD')));

describe('kernel backend choice', () => {
  it('resolves auto to a concrete backend: without a GPU, the native kernels on the best path this CPU has (else WebAssembly SIMD)', { skip: gpuDevice && 'this machine has a GPU device' }, async () => {
    const { config, reason } = await resolveEngineConfig({ model: 'dummy-tiny' });
    const best = loadNativeAddon().addon?.cpu().best ?? 'none';
    if (best === 'none') {
      assert.equal(config.kernels, 'wasm');
      assert.match(reason, /no GPU device; WebAssembly SIMD: the native kernels are unavailable \(.+\)/);
    } else {
      assert.equal(config.kernels, 'native');
      assert.equal(config.nativeIsa, best);
      assert.match(reason, /no GPU device; native kernels for this CPU/);
    }
  });

  it('takes a SIMD path of the native kernels by name, and refuses one the CPU lacks with what it has', async (t) => {
    const cpu = loadNativeAddon().addon?.cpu();
    if (!cpu || cpu.best === 'none') return t.skip('no native kernels here');
    for (const nativeIsa of cpu.paths) {
      const { config } = await resolveEngineConfig({ model: 'dummy-tiny', kernels: 'native', nativeIsa });
      assert.equal(config.nativeIsa, nativeIsa);
    }
    const missing = (['avx512-vnni', 'avx2'] as const).find((p) => !cpu.paths.includes(p));
    if (missing) await assert.rejects(resolveEngineConfig({ model: 'dummy-tiny', kernels: 'native', nativeIsa: missing }), new RegExp(`cannot run the native ${missing} kernels \\(it has: `));
  });

  it('leaves an explicit backend alone', async () => {
    const { config, reason } = await resolveEngineConfig({ model: 'dummy-tiny', kernels: 'reference' });
    assert.equal(config.kernels, 'reference');
    assert.equal(reason, 'chosen explicitly');
  });

  it('refuses gpu.js webgpu mode clearly where no WebGPU adapter answers', async (t) => {
    if (await hasWebGpuAdapter()) return t.skip('this machine has a WebGPU adapter');
    await assert.rejects(resolveEngineConfig({ model: 'dummy-tiny', kernels: 'gpujs', gpujsMode: 'webgpu' }), /WebGPU adapter/);
  });
});

describe('threads per engine', () => {
  it('default to one engine on every core, up to 8 threads, and more engines only past that', () => {
    assert.deepEqual(defaultEngineLayout(1), { workers: 1, threadsPerWorker: 1 });
    assert.deepEqual(defaultEngineLayout(2), { workers: 1, threadsPerWorker: 2 });
    assert.deepEqual(defaultEngineLayout(8), { workers: 1, threadsPerWorker: 8 });
    assert.deepEqual(defaultEngineLayout(16), { workers: 2, threadsPerWorker: 8 });
    // workers named by the caller divide the cores among them
    assert.equal(defaultThreadsPerWorker(2, 2), 1);
    assert.equal(defaultThreadsPerWorker(3, 16), 5);
  });

  it('are what the caller asks, for the wasm kernels', async () => {
    const { config } = await resolveEngineConfig({ model: 'dummy-tiny', kernels: 'wasm', threadsPerWorker: 3 });
    assert.equal(config.threadsPerWorker, 3);
    await assert.rejects(resolveEngineConfig({ model: 'dummy-tiny', threadsPerWorker: 0 }), /threadsPerWorker/);
    await assert.rejects(resolveEngineConfig({ model: 'dummy-tiny', threadsPerWorker: 65 }), /threadsPerWorker must be at most 64/);
  });

  it('are one on other backends, and asking for more there is refused', async () => {
    const { config } = await resolveEngineConfig({ model: 'dummy-tiny', kernels: 'reference' });
    assert.equal(config.threadsPerWorker, 1);
    await assert.rejects(resolveEngineConfig({ model: 'dummy-tiny', kernels: 'reference', threadsPerWorker: 2 }), /threadsPerWorker above 1 needs kernels that run a thread team \(native, wasm\), not reference/);
  });
});
