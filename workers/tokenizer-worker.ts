/** The thread entry of the tokenizer pool (lib/pool/tokenizer-pool.ts). */
import { runTokenizerWorker } from '../lib/pool/tokenizer-worker.js';

runTokenizerWorker();
