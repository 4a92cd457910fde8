#!/usr/bin/env node
/**
 * Builds the native kernel addon (kernels/native) with node-gyp, offline: node-gyp is npm's own
 * (npm puts it on the path of lifecycle scripts; otherwise the copy beside this Node's npm), and
 * the Node headers are this Node's own (its include/node), so nothing is downloaded.
 *
 * The addon is optional: where it cannot be built (no compiler, no headers), this says why, in
 * kernels/native/build/unavailable.txt too, and exits 0, so `npm ci` succeeds and the server
 * serves on the wasm kernels; `--kernels native` then refuses to start with that reason.
 *
 * Plain JavaScript, not TypeScript: npm runs it at install, before anything is compiled.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'kernels', 'native');
const build = path.join(dir, 'build');
const reasonFile = path.join(build, 'unavailable.txt');

function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return fromNpm;
  const prefix = path.dirname(path.dirname(process.execPath));
  for (const candidate of [
    path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(path.dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ]) {
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** This Node's own headers, when it was installed with them (the official builds are). */
function nodeDir() {
  const prefix = path.dirname(path.dirname(process.execPath));
  return existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

function unavailable(reason) {
  mkdirSync(build, { recursive: true });
  writeFileSync(reasonFile, `${reason}\n`);
  process.stderr.write(`journey-llm: the native kernels were not built (${reason}); the wasm kernels will serve\n`);
  process.exit(0);
}

const gyp = nodeGyp();
if (!gyp) unavailable('node-gyp was not found beside npm');
const headers = nodeDir();
const args = headers ? [`--nodedir=${headers}`] : [];
const run = (command) => spawnSync(process.execPath, [gyp, command, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, npm_config_offline: 'true' } });
// configure once; later builds are make's incremental ones
const configured = existsSync(path.join(build, 'Makefile')) && existsSync(path.join(build, 'config.gypi'));
for (const step of configured ? ['build'] : ['configure', 'build']) {
  const result = run(step);
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n');
    const error = output.find((l) => /error/i.test(l) && !/^gyp (info|ERR! (cwd|node|stack|System|command|not ok))/.test(l)) ?? output.at(-1) ?? `node-gyp ${step} failed`;
    if (step === 'build' && configured) rmSync(path.join(build, 'Makefile'), { force: true }); // reconfigure next time
    unavailable(`node-gyp ${step} failed: ${error.trim().slice(0, 300)}`);
  }
}
rmSync(reasonFile, { force: true });
