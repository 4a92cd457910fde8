import type { Architecture } from './architecture.js';
import type { ModelConfig } from './model.js';
import { LLAMA_FAMILY } from './llama/llama-architecture.js';

/** Every architecture this server builds, each under the general.architecture names it serves. */
const ARCHITECTURES: readonly Architecture<never>[] = [LLAMA_FAMILY as Architecture<never>];

/** The general.architecture names served, in order. */
export function supportedArchitectures(): string[] {
  return ARCHITECTURES.flatMap((a) => a.names);
}

/** The architecture serving `name`, or null. */
export function architectureNamed(name: string): Architecture<ModelConfig> | null {
  return (ARCHITECTURES.find((a) => a.names.includes(name)) as Architecture<ModelConfig> | undefined) ?? null;
}
