/** A conversation as the chat routes hand it to a tokenizer's chat template. */
export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface ChatTemplateOptions {
  /** End with the opening of an assistant turn (default true). */
  readonly addGenerationPrompt?: boolean;
  /** Extra variables for the template (vLLM's chat_template_kwargs, e.g. enable_thinking). */
  readonly kwargs?: Readonly<Record<string, unknown>>;
  /** As EncodeOptions.limit, for the rendered conversation. */
  readonly limit?: number;
}

export function isChatRole(role: unknown): role is ChatRole {
  return role === 'system' || role === 'user' || role === 'assistant';
}
