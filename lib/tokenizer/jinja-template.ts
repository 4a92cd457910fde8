import { Template } from '@huggingface/jinja';
import { InvalidRequestError } from '../errors.js';
import type { ChatMessage, ChatTemplateOptions } from './chat-message.js';

/**
 * ChatML, the template llama.cpp falls back to when a model file carries none (its
 * "chatml" built-in): each message as <|im_start|>role\ncontent<|im_end|>\n.
 */
export const CHATML_TEMPLATE =
  "{%- for message in messages -%}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{%- endfor -%}{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}";

/** A model's chat template (Jinja, as in its tokenizer_config.json), rendered as transformers renders it. */
export class JinjaChatTemplate {
  private readonly template: Template;

  constructor(
    readonly source: string,
    private readonly bosToken: string,
    private readonly eosToken: string,
  ) {
    this.template = new Template(source);
  }

  /** The prompt text of a conversation. A template that raises (roles out of order, …) is a 400. */
  render(messages: readonly ChatMessage[], { addGenerationPrompt = true, kwargs = {} }: ChatTemplateOptions = {}): string {
    if (messages.length === 0) throw new InvalidRequestError('messages must not be empty', 'messages');
    try {
      return this.template.render({
        ...kwargs,
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        add_generation_prompt: addGenerationPrompt,
        bos_token: this.bosToken,
        eos_token: this.eosToken,
      });
    } catch (err) {
      // raise_exception('...') in a template is how it refuses a conversation
      const message = err instanceof Error ? err.message : String(err);
      throw new InvalidRequestError(`the model's chat template refused these messages: ${message.slice(0, 300)}`, 'messages');
    }
  }
}
