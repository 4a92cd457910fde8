/**
 * Writes the golden files the tests compare journey-llm against, from llama.cpp itself:
 *
 *   node scripts/llama-cpp-goldens.js [--only NAME,...]
 *
 * It builds the test checkpoints (tools/checkpoints.ts: seeded random weights, real
 * vocabularies) in a scratch folder, runs llama.cpp (node-llama-cpp's prebuilt CPU build,
 * installed in that folder, one thread, no flash attention, f16 KV cache: llama.cpp's defaults
 * but for the thread count) on them, and writes into test/fixtures/llama-cpp/:
 *   tokenizer-<vocab>.json   the tokenization of a corpus, with and without special tokens
 *                            parsed, its detokenization, and the end-of-generation tokens
 *   model-<checkpoint>.json  each greedy prompt's ids, 32 greedy tokens, and the top logits of
 *                            every step, with the checkpoint's SHA-256
 *   <quantized>.gguf         the checkpoints of QUANTIZED_CHECKPOINTS, quantized by llama.cpp's
 *                            llama-quantize (built from source on first use, ~7 minutes), each
 *                            with its model-<name>.json
 *   chat-templates.json      conversations rendered by Python's jinja2 (as transformers renders
 *                            chat templates) through each vocabulary's template, and their ids
 * Requires python3 with jinja2 (Debian: apt-get install python3-jinja2).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildCheckpoint, checkpoint, CHECKPOINTS, QUANTIZED_CHECKPOINTS, quantizedCheckpointPath, type CheckpointSpec } from '../tools/checkpoints.js';
import { CONVERSATIONS, GREEDY_PROMPTS, GREEDY_TOKENS, TOKENIZER_CORPUS, TOP_LOGITS } from '../tools/golden-inputs.js';
import { loadVocabulary, type VocabName } from '../tools/vocabularies.js';
import { buildLlamaCpp, bundledCommit, NODE_LLAMA_CPP_VERSION, nodeLlamaCpp, scratchDir } from './llama-cpp-tool.js';

/** transformers' chat-template environment (utils/chat_template_utils.py), fed JSON requests on stdin. */
const RENDER_PY = `
import json, sys
from datetime import datetime
import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

def strftime_now(format):
    return datetime.now().strftime(format)

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = strftime_now

out = []
for r in json.load(sys.stdin):
    try:
        text = env.from_string(r["template"]).render(messages=r["messages"], add_generation_prompt=r["add_generation_prompt"], bos_token=r["bos_token"], eos_token=r["eos_token"])
        out.append({"text": text})
    except jinja2.exceptions.TemplateError as e:
        out.append({"error": str(e)})
print(json.dumps(out, ensure_ascii=False))
`;

// llama.cpp's CPU backend sizes its thread pool from this; one thread keeps its sums in one order
if (process.env.UV_THREADPOOL_SIZE !== '1') {
  const run = spawnSync(process.execPath, process.argv.slice(1), { stdio: 'inherit', env: { ...process.env, UV_THREADPOOL_SIZE: '1' } });
  process.exit(run.status ?? 1);
}

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const only = values.only?.split(',') ?? null;
const FIXTURES = new URL('../test/fixtures/llama-cpp', import.meta.url).pathname;
mkdirSync(FIXTURES, { recursive: true });
const checkpointDir = path.join(scratchDir(), 'checkpoints');

const { getLlama, LlamaLogLevel } = await nodeLlamaCpp();
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
const source = { llamaCpp: bundledCommit(), nodeLlamaCpp: NODE_LLAMA_CPP_VERSION, build: llama.buildType, threads: 1, flashAttention: false, kvCache: 'f16' };
process.stderr.write(`llama.cpp ${source.llamaCpp} via node-llama-cpp ${source.nodeLlamaCpp}\n`);

const write = (name: string, data: unknown) => writeFileSync(path.join(FIXTURES, name), `${JSON.stringify(data, null, 1)}\n`);
const wanted = (name: string) => only === null || only.includes(name);

// one checkpoint per vocabulary answers the tokenizer questions
const byVocab = new Map<VocabName, CheckpointSpec>();
for (const spec of CHECKPOINTS) if (!byVocab.has(spec.vocab)) byVocab.set(spec.vocab, spec);
const templates: unknown[] = [];
for (const [vocab, spec] of byVocab) {
  if (!wanted(`tokenizer-${vocab}`) && !wanted('chat-templates')) continue;
  const model = await llama.loadModel({ modelPath: buildCheckpoint(spec, checkpointDir).path });
  const eog: number[] = [];
  for (let id = 0; id < loadVocabulary(vocab).size; id++) if (model.isEogToken(id)) eog.push(id);
  const corpus = TOKENIZER_CORPUS.map((text) => {
    const plain = Array.from(model.tokenize(text, false) as number[]);
    const special = Array.from(model.tokenize(text, true) as number[]);
    return { text, plain, special, decoded: model.detokenize(special, false) };
  });
  write(`tokenizer-${vocab}.json`, { source, vocab, bos: model.tokens.bos, eos: model.tokens.eos, addsBos: model.tokens.shouldPrependBosToken, endOfGeneration: eog, corpus });
  if (wanted('chat-templates')) templates.push(...chatGoldens(vocab, model));
  await model.dispose();
}
if (wanted('chat-templates')) write('chat-templates.json', { source: { ...source, jinja2: jinja2Version() }, templates });

for (const spec of CHECKPOINTS) {
  if (!wanted(spec.name)) continue;
  const { path: file, sha256 } = buildCheckpoint(spec, checkpointDir);
  write(`model-${spec.name}.json`, { source, checkpoint: spec.name, sha256, prompts: await greedyRuns(file, spec.contextLength) });
  process.stderr.write(`${spec.name}: done\n`);
}

// quantized by llama.cpp itself: the file is committed beside its golden
for (const q of QUANTIZED_CHECKPOINTS) {
  if (!wanted(q.name)) continue;
  const spec = checkpoint(q.source);
  const from = buildCheckpoint(spec, checkpointDir);
  const file = quantizedCheckpointPath(q);
  execFileSync(path.join(buildLlamaCpp(), 'llama-quantize'), [from.path, file, q.quantization, '1'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
  const golden = { source: { ...source, quantizedBy: `llama-quantize ${q.quantization}` }, checkpoint: q.name, sourceSha256: from.sha256, sha256, prompts: await greedyRuns(file, spec.contextLength) };
  write(`model-${q.name}.json`, golden);
  process.stderr.write(`${q.name}: done\n`);
}

/** Each greedy prompt's ids, GREEDY_TOKENS greedy tokens, and the top logits of every step. */
async function greedyRuns(file: string, contextLength: number) {
  const model = await llama.loadModel({ modelPath: file });
  const context = await model.createContext({ contextSize: contextLength, batchSize: contextLength, threads: 1, flashAttention: false });
  const prompts = [];
  const sequence = context.getSequence();
  for (const text of GREEDY_PROMPTS) {
    await sequence.clearHistory();
    const promptIds = [...(model.tokens.shouldPrependBosToken ? [model.tokens.bos] : []), ...model.tokenize(text, true)];
    const steps: { token: number; top: [number, number][] }[] = [];
    let input = promptIds.map((id: number, i: number) => (i === promptIds.length - 1 ? [id, { generateNext: { logits: { filter: { tokens: [], includeTop: TOP_LOGITS } } } }] : id));
    for (let i = 0; i < GREEDY_TOKENS; i++) {
      const results = await sequence.controlledEvaluate(input);
      const logits = results[input.length - 1].next.logits as Map<number, number>;
      const top = [...logits.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, TOP_LOGITS);
      steps.push({ token: top[0][0], top });
      input = [[top[0][0], { generateNext: { logits: { filter: { tokens: [], includeTop: TOP_LOGITS } } } }]];
    }
    prompts.push({ text, promptIds, steps });
  }
  sequence.dispose();
  await context.dispose();
  await model.dispose();
  return prompts;
}

function stripBos(text: string, bos: string | null): string {
  return bos && text.startsWith(bos) ? text.slice(bos.length) : text;
}

interface TokenizingModel {
  tokens: { shouldPrependBosToken: boolean; bos: number; bosString: string | null };
  tokenize(text: string, special: boolean): number[];
}

/**
 * Every conversation through `vocab`'s template, rendered by Python's jinja2 as transformers does,
 * with the ids llama-server would make of it: a BOS the template wrote is dropped and added back
 * as the model asks, and special tokens are parsed.
 */
function chatGoldens(vocab: VocabName, model: TokenizingModel) {
  const v = loadVocabulary(vocab);
  const requests = CONVERSATIONS.map((c) => ({ template: v.chatTemplate, bos_token: v.bosToken, eos_token: v.eosToken, messages: c.messages, add_generation_prompt: c.addGenerationPrompt }));
  const rendered: ({ text: string } | { error: string })[] = JSON.parse(execFileSync(python(), ['-c', RENDER_PY], { input: JSON.stringify(requests), encoding: 'utf8' }));
  return requests.map((r, i) => {
    const out = rendered[i];
    const bos = model.tokens.shouldPrependBosToken ? [model.tokens.bos] : [];
    const ids = 'text' in out ? [...bos, ...model.tokenize(stripBos(out.text, model.tokens.bosString), true)] : null;
    return { vocab, messages: r.messages, addGenerationPrompt: r.add_generation_prompt, ...out, ids };
  });
}

function python(): string {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    if (spawnSync(candidate, ['-c', 'import jinja2'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  throw new Error('no python3 with jinja2 found; on Debian: apt-get install python3-jinja2');
}

function jinja2Version(): string {
  return execFileSync(python(), ['-c', 'import jinja2; print(jinja2.__version__)'], { encoding: 'utf8' }).trim();
}
