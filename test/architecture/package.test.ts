import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const ROOT = new URL('../..', import.meta.url).pathname;
/** What fault injection and test hooks are called; none of it may ship. */
const TEST_HOOK = /ForTesting|enableTestHooks|TestHooks|injectFault|fail-step|CRASH_WORKER|CrashMode|FAULTY_WORKER/;

describe('the published package', () => {
  it('carries no test hooks or fault injection', async () => {
    // --ignore-scripts: the build has run already; pack only lists what it would publish
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT });
    const files: string[] = JSON.parse(stdout)[0].files.map((f: { path: string }) => f.path);
    assert.ok(files.includes('lib/index.js') && files.includes('workers/engine-worker.js'), 'the package holds the library and the worker entry');
    assert.ok(!files.some((f) => f.startsWith('test/')), 'no test files');
    const offending = files.filter((f) => /\.(js|d\.ts)$/.test(f) && TEST_HOOK.test(readFileSync(ROOT + f, 'utf8')));
    assert.deepEqual(offending, []);
  });
});
