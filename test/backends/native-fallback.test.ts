import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = new URL('../..', import.meta.url).pathname;

/**
 * The package as a machine without a compiler would have it: everything but the built addon,
 * whose build left its reason behind (scripts/build-native.mjs writes it where it fails).
 */
function packageWithoutAddon(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'journey-no-addon-'));
  for (const part of ['lib', 'workers', 'package.json']) cpSync(path.join(ROOT, part), path.join(dir, part), { recursive: true });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  mkdirSync(path.join(dir, 'kernels', 'native', 'build'), { recursive: true });
  writeFileSync(path.join(dir, 'kernels', 'native', 'build', 'unavailable.txt'), 'node-gyp build failed: make: g++: No such file or directory\n');
  return dir;
}

async function runServer(dir: string, args: string[]): Promise<{ code: number | null; stderr: string; started: Record<string, unknown> | null }> {
  const child = spawn(process.execPath, [path.join(dir, 'lib', 'server.js'), '--port', '0', '--model', 'dummy-tiny', '--workers', '1', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let started: Record<string, unknown> | null = null;
  child.stderr.on('data', (c: Buffer) => {
    stderr += c;
    const line = stderr.split('\n').find((l) => l.includes('journey-llm listening'));
    if (line && !started) {
      started = JSON.parse(line) as Record<string, unknown>;
      child.kill('SIGTERM');
    }
  });
  const [code] = await once(child, 'exit');
  return { code, stderr, started };
}

describe('a package whose native addon could not be built', () => {
  let dir: string;
  before(() => (dir = packageWithoutAddon()));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves on the wasm kernels with --kernels auto, and its start line says why', async () => {
    const { code, started } = await runServer(dir, []);
    assert.equal(code, 0);
    assert.ok(started);
    assert.equal(started.kernels, 'wasm');
    assert.match(String(started.kernelsReason), /native kernels are unavailable \(node-gyp build failed: make: g\+\+: No such file or directory\)/);
  });

  it('refuses --kernels native with one line naming the reason, and exit status 2', async () => {
    const { code, stderr, started } = await runServer(dir, ['--kernels', 'native']);
    assert.equal(started, null);
    assert.equal(code, 2);
    const lines = stderr.trim().split('\n').filter((l) => !l.startsWith('{'));
    assert.deepEqual(lines, ['journey-llm: node-gyp build failed: make: g++: No such file or directory']);
  });
});
