import { parentPort, workerData } from 'node:worker_threads';
import { InvalidRequestError } from '../errors.js';
import type { ChatMessage, ChatTemplateOptions } from '../tokenizer/chat-message.js';
import type { EncodeOptions, TokenizerRecipe } from '../tokenizer/tokenizer.js';
import { tokenizerFrom } from '../tokenizer/tokenizer-recipe.js';

/** What the pool asks a tokenizer thread to do. */
export type TokenizerJob =
  | { readonly id: number; readonly kind: 'encode'; readonly text: string; readonly options: EncodeOptions }
  | { readonly id: number; readonly kind: 'chat'; readonly messages: readonly ChatMessage[]; readonly options: ChatTemplateOptions };

/** A job's answer: its ids, or the refusal to raise on the API thread. */
export type TokenizerAnswer =
  | { readonly id: number; readonly ids: Int32Array }
  | { readonly id: number; readonly refused: { readonly message: string; readonly param: string | null; readonly code: string | null } }
  | { readonly id: number; readonly failed: string };

/** The thread's loop: build the tokenizer once, then answer each job in turn. */
export function runTokenizerWorker(): void {
  const port = parentPort;
  if (!port) throw new Error('runTokenizerWorker runs in a worker thread');
  const tokenizer = tokenizerFrom((workerData as { recipe: TokenizerRecipe }).recipe);
  port.on('message', (job: TokenizerJob) => {
    try {
      const ids = Int32Array.from(job.kind === 'encode' ? tokenizer.encode(job.text, job.options) : tokenizer.applyChatTemplate(job.messages, job.options));
      port.postMessage({ id: job.id, ids } satisfies TokenizerAnswer, [ids.buffer]);
    } catch (err) {
      const answer: TokenizerAnswer =
        err instanceof InvalidRequestError ? { id: job.id, refused: { message: err.message, param: err.param, code: err.code } } : { id: job.id, failed: err instanceof Error ? err.message : String(err) };
      port.postMessage(answer);
    }
  });
  port.postMessage('ready');
}
