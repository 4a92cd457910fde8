import { Worker } from 'node:worker_threads';
import { EngineFailureError, EngineOverloadedError, InvalidRequestError } from '../errors.js';
import type { ChatMessage, ChatTemplateOptions } from '../tokenizer/chat-message.js';
import type { PromptTokenizer } from '../tokenizer/prompt-tokenizer.js';
import type { EncodeOptions, Tokenizer } from '../tokenizer/tokenizer.js';
import type { Logger } from '../util/logger.js';
import type { TokenizerAnswer, TokenizerJob } from './tokenizer-worker.js';

export interface TokenizerPoolOptions {
  /** Threads that tokenize and render chat templates. */
  readonly threads: number;
  /** Jobs that may wait for a thread; more are refused as overload (503). */
  readonly maxQueue: number;
  /** A chat template that renders for longer is stopped (its thread replaced) and the request refused. */
  readonly templateTimeoutMs: number;
  /** Each thread's heap: a template that builds more runs out of memory there, not in the server. */
  readonly heapLimitMb: number;
  readonly logger: Logger;
}

export const TOKENIZER_POOL_DEFAULTS = Object.freeze({ threads: 1, maxQueue: 64, templateTimeoutMs: 2000, heapLimitMb: 512 });

/** Text at most this long is tokenized on the calling thread: a few milliseconds at worst, less than a hand-off. */
const INLINE_CHARS = 4096;

interface Pending {
  readonly job: TokenizerJob;
  resolve(ids: number[]): void;
  reject(err: Error): void;
}

interface Thread {
  worker: Worker;
  ready: boolean;
  current: Pending | null;
  timer: NodeJS.Timeout | undefined;
  /** Why the pool ended this thread, when it did. */
  endedBecause: 'timeout' | null;
}

/**
 * Tokenization and chat templates off the event loop (as vLLM's async tokenizer): a few threads,
 * each with its own copy of the model's tokenizer, fed from a bounded queue. Short text is
 * tokenized in place. A chat template is code from the model file: one that renders past
 * `templateTimeoutMs` has its thread terminated, one that exhausts its thread's heap kills only
 * that thread; either way the request gets a 400 naming the template, and a fresh thread takes
 * the place of the old one.
 */
export class TokenizerPool implements PromptTokenizer {
  private readonly threads: Thread[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  private readonly recipe;

  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly options: TokenizerPoolOptions,
  ) {
    this.recipe = tokenizer.recipe;
  }

  /** Starts the threads; resolves once each has built its tokenizer. */
  static async start(tokenizer: Tokenizer, options: TokenizerPoolOptions): Promise<TokenizerPool> {
    const pool = new TokenizerPool(tokenizer, options);
    try {
      await Promise.all(Array.from({ length: options.threads }, () => pool.spawn()));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  encode(text: string, options: EncodeOptions = {}): Promise<number[]> {
    if (text.length <= INLINE_CHARS) return Promise.resolve(this.tokenizer.encode(text, options));
    return this.submit({ id: this.nextId++, kind: 'encode', text, options });
  }

  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): Promise<number[]> {
    return this.submit({ id: this.nextId++, kind: 'chat', messages, options });
  }

  async close(): Promise<void> {
    this.closed = true;
    const shutdown = new EngineFailureError('the server shut down before the prompt was tokenized', 'server_shutdown');
    for (const p of this.queue.splice(0)) p.reject(shutdown);
    await Promise.all(
      this.threads.map(async (t) => {
        clearTimeout(t.timer);
        t.current?.reject(shutdown);
        t.current = null;
        await t.worker.terminate();
      }),
    );
  }

  private submit(job: TokenizerJob): Promise<number[]> {
    if (this.closed) return Promise.reject(new EngineFailureError('the server is shutting down', 'server_shutdown'));
    if (this.queue.length >= this.options.maxQueue) return Promise.reject(new EngineOverloadedError(`${this.queue.length} prompts are waiting to be tokenized`));
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const t of this.threads) {
      if (this.queue.length === 0) return;
      if (!t.ready || t.current) continue;
      const pending = this.queue.shift() as Pending;
      t.current = pending;
      if (pending.job.kind === 'chat') t.timer = setTimeout(() => this.stop(t, 'timeout'), this.options.templateTimeoutMs);
      t.worker.postMessage(pending.job);
    }
  }

  /** A new thread, ready once its tokenizer is built. */
  private spawn(): Promise<void> {
    const worker = new Worker(new URL('../../workers/tokenizer-worker.js', import.meta.url), {
      workerData: { recipe: this.recipe },
      resourceLimits: { maxOldGenerationSizeMb: this.options.heapLimitMb },
      // the process's flags, but those a worker refuses (a parent started with -e --input-type=module)
      execArgv: process.execArgv.filter((flag) => !flag.startsWith('--input-type')),
    });
    const t: Thread = { worker, ready: false, current: null, timer: undefined, endedBecause: null };
    this.threads.push(t);
    return new Promise((resolve, reject) => {
      let started = false;
      worker.on('message', (m: 'ready' | TokenizerAnswer) => {
        if (m === 'ready') {
          started = t.ready = true;
          resolve();
          this.dispatch();
        } else this.answered(t, m);
      });
      worker.on('error', (err) => {
        if (!started) reject(err);
        else this.ended(t, err);
      });
      worker.on('exit', () => {
        if (!started) reject(new Error('a tokenizer thread exited while it started'));
        else this.ended(t, null);
      });
    });
  }

  private answered(t: Thread, answer: TokenizerAnswer): void {
    const pending = t.current;
    if (!pending || pending.job.id !== answer.id) return;
    clearTimeout(t.timer);
    t.current = null;
    if ('ids' in answer) pending.resolve(Array.from(answer.ids));
    else if ('refused' in answer) pending.reject(new InvalidRequestError(answer.refused.message, answer.refused.param, answer.refused.code));
    else pending.reject(new Error(`tokenizing failed: ${answer.failed}`));
    this.dispatch();
  }

  private stop(t: Thread, why: 'timeout'): void {
    t.endedBecause = why;
    void t.worker.terminate();
  }

  /** A thread is gone (terminated, out of memory, crashed): its job is refused, and another thread takes its place. */
  private ended(t: Thread, err: Error | null): void {
    if (!this.threads.includes(t)) return;
    this.threads.splice(this.threads.indexOf(t), 1);
    clearTimeout(t.timer);
    const pending = t.current;
    t.current = null;
    if (pending) pending.reject(this.failureOf(pending.job, t.endedBecause, err));
    if (this.closed) return;
    if (t.endedBecause === null) this.options.logger.warn('a tokenizer thread ended; starting another', { error: err ? String(err.message) : 'exited' });
    this.spawn().catch((e: unknown) => this.options.logger.error('a tokenizer thread could not start', { error: String(e) }));
  }

  private failureOf(job: TokenizerJob, why: 'timeout' | null, err: Error | null): Error {
    const outOfMemory = (err as NodeJS.ErrnoException | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
    if (job.kind === 'chat' && why === 'timeout') return new InvalidRequestError(`the model's chat template did not finish rendering these messages within ${this.options.templateTimeoutMs} ms`, 'messages', 'chat_template_error');
    if (job.kind === 'chat' && outOfMemory) return new InvalidRequestError(`the model's chat template ran out of memory (${this.options.heapLimitMb} MB) rendering these messages`, 'messages', 'chat_template_error');
    return new Error(`the tokenizer thread failed: ${err ? err.message : 'it exited'}`);
  }
}
