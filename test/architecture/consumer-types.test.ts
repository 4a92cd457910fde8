import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const ROOT = new URL('../..', import.meta.url).pathname;

/** A consumer's program, using the public API and its types. */
const CONSUMER = `
import { createServer, createEngine, type Engine, type JourneyServer, type ServerOptions } from 'journey-llm';

const options: ServerOptions = { model: 'dummy-tiny', port: 0, servedModelName: ['a', 'b'], connectionLimits: { maxConnections: 10 } };
const server: JourneyServer = await createServer(options);
server.app.use(async (ctx, next) => {
  ctx.set('x-powered-by', 'consumer');
  await next();
});
const engine: Engine = await createEngine({ model: 'dummy-tiny' });
for await (const delta of engine.generate('hi', { maxTokens: 2, presencePenalty: 0.5, logprobs: 2 })) {
  const text: string = delta.text;
  const first: number | undefined = delta.logprobs?.[0]?.logprob;
  void text, first;
}
await engine.close();
await server.close();
`;

describe('the published type declarations', () => {
  it('type-check in a consumer project that has only the production dependencies (and @types/node)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'journey-llm-consumer-'));
    try {
      const modules = path.join(dir, 'node_modules');
      mkdirSync(path.join(modules, '@types'), { recursive: true });
      // the package as npm would publish it
      const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT });
      for (const { path: file } of JSON.parse(stdout)[0].files as { path: string }[]) cpSync(path.join(ROOT, file), path.join(modules, 'journey-llm', file));
      // production packages only, as an install of the published package would bring
      const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
      for (const [where, meta] of Object.entries(lock.packages)) {
        const name = where.replace(/^node_modules\//, '');
        if (!where.startsWith('node_modules/') || name.includes('node_modules/') || meta.dev) continue;
        mkdirSync(path.dirname(path.join(modules, name)), { recursive: true });
        symlinkSync(path.join(ROOT, where), path.join(modules, name), 'dir');
      }
      // a consumer of a Node library has Node's types of its own (if no production package brought them)
      if (!existsSync(path.join(modules, '@types/node'))) symlinkSync(path.join(ROOT, 'node_modules/@types/node'), path.join(modules, '@types/node'), 'dir');
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
      writeFileSync(path.join(dir, 'consumer.ts'), CONSUMER);
      writeFileSync(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] }, files: ['consumer.ts'] }),
      );
      const tsc = path.join(ROOT, 'node_modules/.bin/tsc');
      const result = await promisify(execFile)(tsc, ['-p', dir], { cwd: dir }).then(
        () => '',
        (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`,
      );
      assert.equal(result, '', 'the consumer type-checks');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
