import { contextLengthProblem } from '../../engine/validate-request.js';
import type { Engine } from '../../engine/engine.js';
import { InvalidRequestError } from '../../errors.js';
import type { GenerationRoutePath, RequestInfo } from '../../observe/request-observer.js';
import type { PromptTokenizer } from '../../tokenizer/prompt-tokenizer.js';
import { boundText } from '../../util/bound-text.js';
import { parseChatRequest, parseCompletionRequest, type ChatRequest, type CompletionRequest } from '../openai-request.js';
import { chatFormat, completionFormat, type ResponseFormat } from '../response-format.js';
import { responsesFormat } from '../responses-format.js';
import { parseResponsesRequest } from '../responses-request.js';
import { resolveModelName, type ServedModels } from '../served-models.js';

export type GenerationKind = 'chat' | 'completion' | 'responses';

/** Each generation route: its path, its GenAI operation, and the prefix of the ids it makes. */
export const GENERATION_ROUTES: Readonly<Record<GenerationKind, { path: GenerationRoutePath; operation: 'chat' | 'text_completion'; idPrefix: string }>> = {
  chat: { path: '/v1/chat/completions', operation: 'chat', idPrefix: 'chatcmpl' },
  completion: { path: '/v1/completions', operation: 'text_completion', idPrefix: 'cmpl' },
  // the Responses API generates a conversation's next message: a chat operation in the GenAI conventions
  responses: { path: '/v1/responses', operation: 'chat', idPrefix: 'resp' },
};

/** What a parsed request turns into: its fields, prompts as token ids, and what each prompt's choices echo. */
export interface Prepared {
  readonly request: ChatRequest | CompletionRequest;
  readonly format: ResponseFormat;
  readonly prompts: readonly (readonly number[])[];
  readonly echoes: readonly string[] | null;
  /** The name the response carries. */
  readonly model: string;
  readonly promptTokens: number;
}

export interface PrepareDeps {
  readonly engine: Engine;
  readonly prompts: PromptTokenizer;
  readonly models: ServedModels;
}

/**
 * The most log probabilities (a token's and each of its alternatives') one non-streamed response
 * may hold: about 16 MB of JSON. A stream sends them as they come and keeps none.
 */
export const MAX_RESPONSE_LOGPROBS = 1 << 18;

function parse(kind: GenerationKind, body: unknown): { request: ChatRequest | CompletionRequest; format: ResponseFormat } {
  if (kind === 'chat') return { request: parseChatRequest(body), format: chatFormat };
  if (kind === 'completion') return { request: parseCompletionRequest(body), format: completionFormat };
  const request = parseResponsesRequest(body);
  return { request, format: responsesFormat(request.settings) };
}

/**
 * A request's body, parsed, its prompts tokenized (only as far as they could fit the context), and
 * every check that can refuse it before the engine sees it: the model name, the context length,
 * the sequences it needs at once, the log-probability budget. `described` is told what the request
 * asks for as soon as that is known, so that even a refused request's span says it.
 */
export async function prepareGeneration(kind: GenerationKind, body: unknown, deps: PrepareDeps, ids: { requestId: string; responseId: string; traceId?: string }, described: (info: RequestInfo) => void): Promise<Prepared> {
  const { request, format } = parse(kind, body);
  const limit = deps.engine.config.maxModelLen;
  const prompts = 'messages' in request
    ? [await deps.prompts.applyChatTemplate(request.messages, { limit })]
    : await Promise.all(request.prompts.map((p) => (typeof p === 'string' ? deps.prompts.encode(p, { limit }) : p)));
  const tooLong = prompts.some((p) => p.length > limit);
  const echoes = 'echo' in request && request.echo ? request.prompts.map((p) => (typeof p === 'string' ? p : deps.engine.tokenizer.decode(p))) : null;
  const promptTokens = tooLong ? 0 : prompts.reduce((sum, p) => sum + p.length, 0);
  const s = request.sampling;
  described({
    requestId: ids.requestId,
    responseId: ids.responseId,
    requestedModel: boundText(request.model ?? deps.models.primary),
    servedModel: deps.models.primary,
    ...(s.temperature !== undefined ? { temperature: s.temperature } : {}),
    ...(s.topP !== undefined ? { topP: s.topP } : {}),
    ...(s.seed !== undefined && s.seed !== null ? { seed: s.seed } : {}),
    ...(s.topK !== undefined ? { topK: s.topK } : {}),
    ...(s.presencePenalty !== undefined ? { presencePenalty: s.presencePenalty } : {}),
    ...(s.frequencyPenalty !== undefined ? { frequencyPenalty: s.frequencyPenalty } : {}),
    ...(ids.traceId !== undefined ? { traceId: ids.traceId } : {}),
    maxTokens: request.maxTokens,
    n: request.n,
    stream: request.stream,
    // a prompt refused as too long was not counted whole
    ...(tooLong ? {} : { promptTokens }),
    numPrompts: prompts.length,
  });
  // checked once described, so that the span of a refused request says which model was asked for
  const model = resolveModelName(deps.models, request.model);
  for (const p of prompts) {
    const problem = contextLengthProblem(p.length, request.maxTokens, limit, 'messages' in request ? 'messages' : 'prompt');
    if (problem) throw problem;
  }
  const held = deps.engine.maxRequestsHeld;
  if (prompts.length * request.n > held) {
    // a 503 would invite retries that can never succeed
    throw new InvalidRequestError(`this request needs ${prompts.length * request.n} sequences at once (n × prompts) but this server holds at most ${held}; lower n or send fewer prompts`, 'n');
  }
  if (!request.stream) checkLogprobBudget(request, prompts, limit);
  return { request, format, prompts, echoes, model, promptTokens };
}

/**
 * Refuses up front a non-streamed request whose log probabilities could outgrow the budget:
 * choices × tokens × (1 + alternatives), for generated tokens and for scored prompt tokens.
 */
function checkLogprobBudget(request: ChatRequest | CompletionRequest, prompts: readonly (readonly number[])[], maxModelLen: number): void {
  const promptLogprobs = 'promptLogprobs' in request ? request.promptLogprobs : null;
  if (request.logprobs === null && promptLogprobs === null) return;
  let total = 0;
  for (const prompt of prompts) {
    const maxTokens = request.maxTokens ?? maxModelLen - prompt.length;
    const perChoice = (request.logprobs === null ? 0 : maxTokens * (1 + request.logprobs)) + (promptLogprobs === null ? 0 : prompt.length * (1 + promptLogprobs));
    total += request.n * perChoice;
  }
  if (total <= MAX_RESPONSE_LOGPROBS) return;
  const top = 'messages' in request ? 'top_logprobs' : 'logprobs';
  throw new InvalidRequestError(
    `this response could hold ${total} log probabilities (choices × tokens × (1 + ${top})), more than the ${MAX_RESPONSE_LOGPROBS} a non-streamed response may; lower n, max_tokens or ${top}, or set stream: true`,
    top,
  );
}
