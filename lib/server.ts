#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { createEngine } from './engine/engine.js';
import { applyChatTemplate } from './tokenizer/chat-template.js';

/** Generates a reply to one prompt with the engine in this thread. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'dummy' },
      kernels: { type: 'string', default: 'gpujs' },
      prompt: { type: 'string', default: 'Hello!' },
      'max-tokens': { type: 'string', default: '64' },
      temperature: { type: 'string', default: '0' },
      seed: { type: 'string' },
    },
  });
  const engine = await createEngine({ model: values.model, kernels: values.kernels as 'gpujs' });
  const prompt = applyChatTemplate(engine.tokenizer, [{ role: 'user', content: values.prompt }]);
  const params = {
    maxTokens: Number(values['max-tokens']),
    temperature: Number(values.temperature),
    ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
  };
  for await (const delta of engine.generate(prompt, params)) {
    process.stdout.write(delta.text);
    if (delta.finishReason) process.stdout.write(`\n[finish_reason: ${delta.finishReason}]\n`);
  }
  await engine.close();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(2);
});
