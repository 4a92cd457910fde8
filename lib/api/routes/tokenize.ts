import type { Context } from 'koa';
import type { Engine } from '../../engine/engine.js';
import type { PromptTokenizer } from '../../tokenizer/prompt-tokenizer.js';
import { InvalidRequestError } from '../../errors.js';
import { readJsonBody } from '../json-body.js';
import { jsonPieces, writeJsonPieces } from '../json-pieces.js';
import { asObject, checkMessageFields, invalid, optionalBoolean, parseContent, parseModel, parseRole } from '../openai-request.js';
import { resolveModelName, type ServedModels } from '../served-models.js';

interface TokenizeDeps {
  readonly engine: Engine;
  readonly prompts: PromptTokenizer;
  readonly models: ServedModels;
  readonly maxRequestBodyBytes: number;
}

const TOKENIZE_FIELDS = ['model', 'prompt', 'messages', 'add_special_tokens', 'add_generation_prompt'];
const DETOKENIZE_FIELDS = ['model', 'tokens'];

function checkFields(body: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(body)) if (!known.includes(key)) throw new InvalidRequestError(`Unrecognized request argument supplied: ${key.slice(0, 64)}`, key.slice(0, 64), 'unknown_parameter');
}

/**
 * POST /tokenize, in vLLM's shape: `prompt` (text) or `messages` (through the chat template) →
 * `{count, max_model_len, tokens}`. Special tokens are added (BOS) unless add_special_tokens is false.
 */
export function tokenizeRoute(deps: TokenizeDeps) {
  return async (ctx: Context) => {
    const body = asObject(await readJsonBody(ctx, deps.maxRequestBodyBytes));
    checkFields(body, TOKENIZE_FIELDS);
    resolveModelName(deps.models, parseModel(body.model));
    let tokens: readonly number[];
    if (body.messages !== undefined) {
      if (!Array.isArray(body.messages) || body.messages.length === 0) throw invalid('messages must be a non-empty array', 'messages');
      const messages = body.messages.map((raw, i) => {
        const m = asObject(raw, `messages[${i}]`);
        checkMessageFields(m, `messages[${i}]`);
        const role = parseRole(m.role, `messages[${i}].role`);
        return { role, content: parseContent(m.content, role, `messages[${i}].content`) };
      });
      if (optionalBoolean(body.add_generation_prompt, 'add_generation_prompt') === false) throw invalid('add_generation_prompt: false is not supported; the template always adds it', 'add_generation_prompt');
      tokens = await deps.prompts.applyChatTemplate(messages);
    } else {
      if (typeof body.prompt !== 'string') throw invalid('prompt must be a string (or send messages)', 'prompt');
      tokens = await deps.prompts.encode(body.prompt, { addSpecial: optionalBoolean(body.add_special_tokens, 'add_special_tokens') ?? true });
    }
    // a megabyte of text is a million ids: written a few thousand at a time, as the socket drains
    ctx.respond = false;
    const answer = { count: tokens.length, max_model_len: deps.engine.config.maxModelLen, tokens };
    await writeJsonPieces(ctx.res, 200, { 'content-type': 'application/json; charset=utf-8' }, jsonPieces(answer, 'tokens', 4096));
  };
}

/** POST /detokenize, in vLLM's shape: `tokens` → `{prompt}`. */
export function detokenizeRoute(deps: TokenizeDeps) {
  return async (ctx: Context) => {
    const body = asObject(await readJsonBody(ctx, deps.maxRequestBodyBytes));
    checkFields(body, DETOKENIZE_FIELDS);
    resolveModelName(deps.models, parseModel(body.model));
    const vocab = deps.engine.config.modelConfig.vocabSize;
    if (!Array.isArray(body.tokens) || body.tokens.some((t) => !Number.isInteger(t) || (t as number) < 0 || (t as number) >= vocab)) {
      throw invalid(`tokens must be an array of token ids from 0 to ${vocab - 1}`, 'tokens');
    }
    ctx.body = { prompt: deps.engine.tokenizer.decode(body.tokens as number[]) };
  };
}
