/**
 * What llama.cpp is asked about when the goldens are written (scripts/llama-cpp-goldens.ts), and
 * what the tests ask journey-llm: the same inputs, in one place.
 */

/** Text that exercises tokenizers: emoji and joiners, CJK, code, whitespace runs, contractions, special-token text. */
export const TOKENIZER_CORPUS: readonly string[] = [
  'Hello world',
  ' leading space',
  'trailing space ',
  '  two   three    four spaces  ',
  '\n\nnewlines\n\n\nand\r\nwindows\r\n',
  '\ttabs\t\tand\t mixed \t',
  'The quick brown fox jumps over the lazy dog. 1234567890 3.14159',
  "I'm sure you're right, they'll see it's WE'VE DONE it, isn'T it",
  '🦙 llamas 🤗 hugging 🙂‍↔️ heads 👩‍👩‍👧‍👦 family ✌🏽',
  '日本語のテキスト、中文文本。한국어 텍스트',
  'def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)  # slow\n',
  'const x = arr.map((v, i) => v ** 2 + i);   // => [0, 2, 6]',
  '<s>hi</s> <unk> <|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n',
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhey<|eot_id|>',
  '<think>\nreasoning\n</think>\n\n<tool_call>{"name": "f"}</tool_call>',
  'café naïve résumé Ångström ﬁ ligature e\u0301 combining',
  'non\u00a0breaking\u2009thin\u3000ideographic',
  '<0x0A> literal byte-token text [INST] [/INST] <<SYS>>',
  'ÀÁÂÃÄÅ ΑΒΓΔ αβγδ АБВГД абвгд',
  '!!!??? ... ,,, ;;; ::: --- ___ *** ### $$$ %%% ^^^ &&& ||| ~~~ ```',
  '1 12 123 1234 12345 123456 1,234,567.89 ١٢٣ ½',
  'x',
  ' ',
  '\n',
];

/** Prompts for greedy continuations. */
export const GREEDY_PROMPTS: readonly string[] = ['The capital of France is', 'def fibonacci(n):\n    ', '日本語と English mixed 🦙 and numbers 2024:'];

/** Tokens generated per prompt, greedily, and the logits kept per step. */
export const GREEDY_TOKENS = 32;
export const TOP_LOGITS = 8;

export type Conversation = readonly { readonly role: 'system' | 'user' | 'assistant'; readonly content: string }[];

/** Conversations rendered through each real chat template. */
export const CONVERSATIONS: readonly { readonly messages: Conversation; readonly addGenerationPrompt: boolean }[] = [
  { messages: [{ role: 'user', content: 'Hello!' }], addGenerationPrompt: true },
  {
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: '  What is 2 + 2?  ' },
    ],
    addGenerationPrompt: true,
  },
  {
    messages: [
      { role: 'system', content: 'Answer in French.' },
      { role: 'user', content: 'Hi 🦙' },
      { role: 'assistant', content: '<think>\nThey greet me.\n</think>\n\nBonjour !' },
      { role: 'user', content: '日本語で？\nplease' },
    ],
    addGenerationPrompt: true,
  },
  {
    messages: [
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'two' },
    ],
    addGenerationPrompt: false,
  },
  {
    // roles out of order: Llama 2's template refuses this
    messages: [
      { role: 'user', content: 'a' },
      { role: 'user', content: 'b' },
    ],
    addGenerationPrompt: true,
  },
];
