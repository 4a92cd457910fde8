/**
 * Writes a GGUF file of a real model's shape with seeded random weights and its real vocabulary,
 * for benchmarks (no trained model can be downloaded here):
 *
 *   node scripts/make-checkpoint.js --shape qwen2.5-0.5b --type Q8_0 --out /tmp/qwen-q8_0.gguf
 *
 * Shapes: see BENCHMARK_SHAPES in tools/checkpoints.ts. Types: F32, F16, BF16, Q8_0.
 */
import { renameSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BENCHMARK_SHAPES, buildCheckpoint, type FileType } from '../tools/checkpoints.js';

const { values } = parseArgs({ options: { shape: { type: 'string', default: 'qwen2.5-0.5b' }, type: { type: 'string', default: 'Q8_0' }, out: { type: 'string' }, seed: { type: 'string', default: '1' } } });
const shape = BENCHMARK_SHAPES[values.shape];
if (!shape) throw new Error(`--shape must be one of ${Object.keys(BENCHMARK_SHAPES).join(', ')}`);
if (!['F32', 'F16', 'BF16', 'Q8_0'].includes(values.type)) throw new Error('--type must be F32, F16, BF16 or Q8_0');
const name = `${values.shape}-${values.type.toLowerCase()}`;
const out = path.resolve(values.out ?? `${name}.gguf`);
const started = performance.now();
const built = buildCheckpoint({ ...shape, name, type: values.type as FileType, seed: Number(values.seed) }, path.dirname(out));
if (built.path !== out) renameSync(built.path, out);
process.stdout.write(`${JSON.stringify({ file: out, sha256: built.sha256, seconds: Math.round((performance.now() - started) / 100) / 10 })}\n`);
