import { ByteTokenizer } from './byte-tokenizer.js';
import type { Tokenizer } from './tokenizer.js';
import type { VocabData } from './vocab.js';
import { VocabTokenizer } from './vocab-tokenizer.js';

/** What another thread needs to build the same tokenizer: structured-cloneable. */
export type TokenizerRecipe = { readonly kind: 'byte' } | { readonly kind: 'vocab'; readonly data: VocabData };

export function recipeOf(tokenizer: Tokenizer): TokenizerRecipe {
  if (tokenizer instanceof VocabTokenizer) return { kind: 'vocab', data: tokenizer.data };
  if (tokenizer instanceof ByteTokenizer) return { kind: 'byte' };
  throw new TypeError('only the built-in tokenizers can be rebuilt on another thread');
}

export function tokenizerFrom(recipe: TokenizerRecipe): Tokenizer {
  return recipe.kind === 'byte' ? new ByteTokenizer() : new VocabTokenizer(recipe.data);
}
