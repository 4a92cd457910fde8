import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { createServer } from '../../lib/api/create-server.js';
import { ModelLoadError } from '../../lib/formats/model-load-error.js';
import { createLogger } from '../../lib/util/logger.js';
import { buildCheckpoint, checkpoint } from '../../tools/checkpoints.js';
import { post, startServer } from '../helpers/server.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const dir = mkdtempSync(path.join(os.tmpdir(), 'journey-llm-templates-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A small Qwen checkpoint whose file carries `template` as its chat template. */
function withTemplate(name: string, template: string): string {
  return buildCheckpoint({ ...checkpoint('qwen2-f32'), name, chatTemplate: template }, dir).path;
}

const ALWAYS = {
  'a range of a billion': '{% for i in range(10**9) %}{% endfor %}{{ messages[0].content }}',
  'a string doubled forty times': "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
  'loops nested a billion deep': '{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}{{ messages[0].content }}',
};

/** Hostile only for some conversations: the start-up probe passes, and those requests must be refused. */
const WHEN_ASKED =
  "{% for m in messages %}{% if m.content == 'spin' %}{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}{% elif m.content == 'grow' %}{% for i in range(10**9) %}{% endfor %}{% endif %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}<|im_start|>assistant\n";

describe("a model file's hostile chat template", () => {
  for (const [what, template] of Object.entries(ALWAYS)) {
    it(`stops the start with a one-line error when it always misbehaves: ${what}`, async () => {
      const file = withTemplate(`always-${Object.keys(ALWAYS).indexOf(what)}`, template);
      await assert.rejects(
        createServer({ model: file, workers: 1, chatTemplateTimeoutSeconds: 0.5, logger: createLogger({ level: 'silent' }), host: '127.0.0.1', port: 0 }),
        (err: unknown) => err instanceof ModelLoadError && /chat template/.test(err.message) && !err.message.includes('\n'),
      );
    });
  }

  it('exits the CLI with status 1 and one line naming the template', async () => {
    const file = withTemplate('always-cli', ALWAYS['a range of a billion']);
    const child = spawn(process.execPath, [new URL('../../lib/server.js', import.meta.url).pathname, '--model', file, '--port', '0', '--chat-template-timeout', '0.5', '--log-level', 'silent'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 1);
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0], /^journey-llm: .*chat template/);
  });

  it('refuses, with a 400 naming the template, a conversation it spins or grows on, and keeps serving', async () => {
    const t = await startServer({ model: withTemplate('when-asked', WHEN_ASKED), chatTemplateTimeoutSeconds: 0.5 });
    try {
      const model = 'when-asked.gguf';
      for (const content of ['spin', 'grow']) {
        const refused = await post(`${t.url}/v1/chat/completions`, { model, messages: [{ role: 'user', content }], max_tokens: 2 });
        assert.equal(refused.status, 400, content);
        assert.equal(refused.json.error.param, 'messages');
        assert.match(refused.json.error.message, /chat template/);
        const tokenize = await post(`${t.url}/tokenize`, { model, messages: [{ role: 'user', content }] });
        assert.equal(tokenize.status, 400);
      }
      assert.equal((await fetch(`${t.url}/health`)).status, 200);
      const served = await post(`${t.url}/v1/chat/completions`, { model, messages: [{ role: 'user', content: 'hello' }], max_tokens: 2 });
      assert.equal(served.status, 200);
    } finally {
      await t.close();
    }
  });
});
