import { InvalidRequestError } from '../errors.js';
import { SPECIAL_TOKENS, type ByteTokenizer } from './byte-tokenizer.js';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

const ROLE_TOKEN: Readonly<Record<ChatRole, number>> = {
  system: SPECIAL_TOKENS.system,
  user: SPECIAL_TOKENS.user,
  assistant: SPECIAL_TOKENS.assistant,
};

export function isChatRole(role: unknown): role is ChatRole {
  return role === 'system' || role === 'user' || role === 'assistant';
}

/**
 * The built-in chat template, written with the special tokens' names:
 *
 *   <|bos|> ( <|role|> content <|end|> )* <|assistant|>
 *
 * Each message is its role token, its UTF-8 content and <|end|>; the final <|assistant|> asks
 * the model for the next assistant turn. The model is expected to end its turn with <|eos|>.
 */
export function applyChatTemplate(tokenizer: ByteTokenizer, messages: readonly ChatMessage[]): number[] {
  if (messages.length === 0) throw new InvalidRequestError('messages must not be empty', 'messages');
  const ids: number[] = [tokenizer.bosTokenId];
  for (const message of messages) {
    ids.push(ROLE_TOKEN[message.role]);
    for (const id of tokenizer.encode(message.content, false)) ids.push(id);
    ids.push(SPECIAL_TOKENS.end);
  }
  ids.push(SPECIAL_TOKENS.assistant);
  return ids;
}
