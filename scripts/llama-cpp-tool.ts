/**
 * llama.cpp as a tool, installed in a scratch folder, never a dependency of the project:
 * npm's node-llama-cpp, which ships a prebuilt CPU llama.cpp and the whole llama.cpp source as a
 * git bundle. `nodeLlamaCpp()` installs the package (once) and imports it; `buildLlamaCpp()`
 * builds the bundled source offline with cmake and ninja into llama-quantize,
 * llama-batched-bench, llama-bench and llama-server (about 7 minutes on 2 cores).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const NODE_LLAMA_CPP_VERSION = '3.22.1';

/** Where the tools live: $JOURNEY_LLAMA_CPP_DIR, else a folder in the system's temporary directory. */
export function scratchDir(): string {
  const dir = process.env.JOURNEY_LLAMA_CPP_DIR ?? path.join(os.tmpdir(), 'journey-llm-llama-cpp');
  mkdirSync(dir, { recursive: true });
  return dir;
}

function packageDir(): string {
  return path.join(scratchDir(), 'node_modules', 'node-llama-cpp');
}

/** Installs node-llama-cpp into the scratch folder unless it is there. */
export function installNodeLlamaCpp(): string {
  const dir = packageDir();
  const installed = existsSync(path.join(dir, 'package.json')) && JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).version === NODE_LLAMA_CPP_VERSION;
  if (!installed) {
    process.stderr.write(`installing node-llama-cpp@${NODE_LLAMA_CPP_VERSION} into ${scratchDir()}\n`);
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', scratchDir(), `node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`], { stdio: 'inherit' });
  }
  return dir;
}

/** The node-llama-cpp module (typed loosely: it is not a dependency, so its types are not here). */
export async function nodeLlamaCpp(): Promise<any> {
  const dir = installNodeLlamaCpp();
  return import(pathToFileURL(path.join(dir, 'dist', 'index.js')).href);
}

/** The llama.cpp commit the package bundles (its git bundle's HEAD). */
export function bundledCommit(): string {
  const bundle = path.join(installNodeLlamaCpp(), 'llama', 'gitRelease.bundle');
  const heads = execFileSync('git', ['bundle', 'list-heads', bundle], { encoding: 'utf8' });
  return heads.split(/\s+/)[0].slice(0, 7);
}

/** Clones the bundled llama.cpp source and builds its tools; returns the folder holding the binaries. */
export function buildLlamaCpp(): string {
  const source = path.join(scratchDir(), 'llama.cpp');
  const bin = path.join(source, 'build', 'bin');
  const tools = ['llama-quantize', 'llama-batched-bench', 'llama-bench', 'llama-server'];
  if (tools.every((t) => existsSync(path.join(bin, t)))) return bin;
  for (const tool of ['git', 'cmake', 'ninja', 'g++']) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    } catch {
      throw new Error(`building llama.cpp needs ${tool}; on Debian: apt-get install git cmake ninja-build g++`);
    }
  }
  if (!existsSync(source)) execFileSync('git', ['clone', '--quiet', path.join(installNodeLlamaCpp(), 'llama', 'gitRelease.bundle'), source], { stdio: 'inherit' });
  process.stderr.write(`building llama.cpp in ${source} (about 7 minutes on 2 cores)\n`);
  execFileSync('cmake', ['-S', source, '-B', path.join(source, 'build'), '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=Release', '-DLLAMA_CURL=OFF', '-DLLAMA_BUILD_TESTS=OFF'], { stdio: 'inherit' });
  execFileSync('cmake', ['--build', path.join(source, 'build'), '-j', String(os.availableParallelism()), '--target', ...tools], { stdio: 'inherit' });
  return bin;
}
