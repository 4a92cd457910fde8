import { ByteTokenizer } from './byte-tokenizer.js';
import type { Tokenizer, TokenizerRecipe } from './tokenizer.js';
import { VocabTokenizer } from './vocab-tokenizer.js';

/** The tokenizer `recipe` describes, built in this thread. */
export function tokenizerFrom(recipe: TokenizerRecipe): Tokenizer {
  return recipe.kind === 'byte' ? new ByteTokenizer() : new VocabTokenizer(recipe.data);
}
