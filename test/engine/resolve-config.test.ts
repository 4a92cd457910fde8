import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { resolveEngineConfig } from '../../lib/engine/resolve-config.js';
import { hasWebGpuAdapter } from '../../lib/model/kernels/webgpu-setup.js';

const gpuDevice = readdirSync('/dev').some((d) => /^nvidia\d+$/.test(d)) || (existsSync('/dev/dri') && readdirSync('/dev/dri').some((d) => d.startsWith('renderD')));

describe('kernel backend choice', () => {
  it('resolves auto to a concrete backend, and to WebAssembly SIMD on a machine without a GPU', { skip: gpuDevice && 'this machine has a GPU device' }, async () => {
    const { config, reason } = await resolveEngineConfig({ model: 'dummy-tiny' });
    assert.equal(config.kernels, 'wasm');
    assert.match(reason, /no GPU device/);
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
