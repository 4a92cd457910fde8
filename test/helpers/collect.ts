import type { GenerationStream } from '../../lib/engine/generation-stream.js';

export interface Collected {
  text: string;
  tokenIds: number[];
  finishReason: string | null;
}

/** Drains a generation into its whole text and tokens. */
export async function collect(stream: GenerationStream): Promise<Collected> {
  const out: Collected = { text: '', tokenIds: [], finishReason: null };
  for await (const delta of stream) {
    out.text += delta.text;
    out.tokenIds.push(...delta.tokenIds);
    if (delta.finishReason) out.finishReason = delta.finishReason;
  }
  return out;
}
