import type { GgufFile, GgufValue } from './gguf.js';
import { ModelLoadError } from './model-load-error.js';

/**
 * An architecture's hyperparameters as a GGUF file states them (`<arch>.<key>`), read with the
 * checks every architecture needs: a number where a number is meant, a fallback where llama.cpp
 * has one, and a ModelLoadError naming the file and the key otherwise.
 */
export class GgufSettings {
  constructor(
    readonly file: GgufFile,
    /** The architecture's key prefix (its general.architecture). */
    readonly prefix: string,
  ) {}

  fail(problem: string): ModelLoadError {
    return new ModelLoadError(`${this.file.path}: ${problem}`);
  }

  /** `<prefix>.<key>` as a finite number; `fallback` when absent, a refusal without one. */
  num(key: string, fallback?: number): number {
    const v: GgufValue | undefined = this.file.metadata.get(`${this.prefix}.${key}`);
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw this.fail(v === undefined ? `lacks ${this.prefix}.${key}` : `has a ${this.prefix}.${key} that is not a number (${ArrayBuffer.isView(v) || Array.isArray(v) ? 'per-layer values are not supported' : String(v)})`);
    }
    return v;
  }

  /** `<prefix>.<key>` as a string, or `fallback` when absent. */
  str(key: string, fallback: string): string {
    const v = this.file.metadata.get(`${this.prefix}.${key}`);
    return v === undefined ? fallback : String(v);
  }

  has(key: string): boolean {
    return this.file.metadata.has(`${this.prefix}.${key}`);
  }
}
