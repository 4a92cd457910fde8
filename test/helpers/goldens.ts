import { readFileSync } from 'node:fs';

/** A golden file written by scripts/llama-cpp-goldens.ts from llama.cpp's own outputs. */
export function readGolden<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/llama-cpp/${name}`, import.meta.url), 'utf8')) as T;
}

export interface TokenizerGolden {
  readonly bos: number | null;
  readonly eos: number | null;
  readonly addsBos: boolean;
  readonly endOfGeneration: number[];
  readonly corpus: { text: string; plain: number[]; special: number[]; decoded: string }[];
}

export interface ModelGolden {
  readonly source: { llamaCpp: string };
  readonly sha256: string;
  readonly prompts: { text: string; promptIds: number[]; steps: { token: number; top: [number, number][] }[] }[];
}

export interface ChatTemplateGolden {
  readonly templates: {
    vocab: string;
    messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
    addGenerationPrompt: boolean;
    text?: string;
    error?: string;
    ids: number[] | null;
  }[];
}
