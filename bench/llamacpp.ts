/**
 * journey-llm beside llama.cpp on the same GGUF files, in one run, so that the ratios are fair on
 * a shared, noisy machine: prompt processing (128 and 512 tokens) and decode at 1, 8 and 32
 * parallel sequences for each file type and thread count, and the same streamed HTTP workload
 * against journey-llm's server and llama-server --parallel. One JSON line per row, each with
 * the ratio journey-llm / llama.cpp (above 1: journey-llm is faster; for latencies, below 1).
 *
 *   npm run bench:llamacpp -- [--shape dummy-shape] [--types F32,F16,Q8_0,Q4_K_M] [--threads 1,2]
 *        [--npl 1,8,32] [--http-concurrency 1,8] [--http-prompts 24] [--chart docs/llamacpp.svg]
 *        [--parts batched,http] [--kernels auto|native|wasm] [--from RUN.jsonl]
 *
 * --from draws the chart from the JSON lines of an earlier run instead of measuring.
 *
 * llama.cpp is built once from the source node-llama-cpp bundles (scripts/llama-cpp-tool.ts; about
 * 7 minutes on 2 cores, in $JOURNEY_LLAMA_CPP_DIR or the system's temporary folder), and its
 * llama-quantize makes the F16, Q8_0 and Q4_K_M files from an F32 checkpoint of the shape (seeded
 * random weights; BENCHMARK_SHAPES in tools/checkpoints.ts). About 15 minutes with the defaults.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildLlamaCpp, scratchDir } from '../scripts/llama-cpp-tool.js';
import { BENCHMARK_SHAPES, buildCheckpoint } from '../tools/checkpoints.js';
import { machine, round } from './bench-util.js';
import { journeyBatched, llamaCppBatched, startJourneyServer, startLlamaServer, type BatchedRow, type RunningServer } from './llamacpp/runs.js';
import { runLoad } from './serve/load.js';
import { summarize } from './serve/summary.js';
import { makeWorkload } from './serve/workload.js';
import { barChart } from './svg-chart.js';

const { values } = parseArgs({
  options: {
    shape: { type: 'string', default: 'dummy-shape' },
    types: { type: 'string', default: 'F32,F16,Q8_0,Q4_K_M' },
    threads: { type: 'string', default: '1,2' },
    npl: { type: 'string', default: '1,8,32' },
    'http-concurrency': { type: 'string', default: '1,8' },
    'http-prompts': { type: 'string', default: '24' },
    chart: { type: 'string' },
    parts: { type: 'string', default: 'batched,http' },
    kernels: { type: 'string', default: 'auto' },
    from: { type: 'string' },
  },
});
const shape = BENCHMARK_SHAPES[values.shape];
if (!shape) throw new RangeError(`--shape must be one of ${Object.keys(BENCHMARK_SHAPES).join(', ')}`);
const types = values.types.split(',');
const threadCounts = values.threads.split(',').map(Number);
const npls = values.npl.split(',').map(Number);
const concurrencies = values['http-concurrency'].split(',').filter(Boolean).map(Number);

const parts = values.from ? [] : values.parts.split(',');
const bin = parts.length > 0 ? buildLlamaCpp() : '';
const dir = path.join(scratchDir(), 'bench-models');
mkdirSync(dir, { recursive: true });

/** The shape's checkpoint in `type`: F32 written here, the others quantized from it by llama.cpp. */
function modelFile(type: string): string {
  const f32 = buildCheckpoint({ ...shape, name: `${values.shape}-f32`, type: 'F32', seed: 1 }, dir).path;
  if (type === 'F32') return f32;
  const file = path.join(dir, `${values.shape}-${type.toLowerCase()}.gguf`);
  if (!existsSync(file)) execFileSync(path.join(bin, 'llama-quantize'), [f32, file, type, '2'], { stdio: 'ignore' });
  return file;
}

const rows: Record<string, unknown>[] = [];
function emit(row: Record<string, unknown>): void {
  rows.push(row);
  console.log(JSON.stringify({ bench: 'llamacpp', shape: values.shape, ...row }));
}

/** Side-by-side rows of one metric: journey-llm's value, llama.cpp's, and their ratio. */
function compare(base: Record<string, unknown>, metric: string, journey: number, llamaCpp: number, unit = 'tok/s'): void {
  emit({ ...base, metric, unit, journeyLlm: round(journey, 1), llamaCpp: round(llamaCpp, 1), ratio: round(journey / llamaCpp, 3) });
}

const pick = (rowsOf: BatchedRow[], npp: number, npl: number) => rowsOf.find((r) => r.npp === npp && r.npl === npl) as BatchedRow;

if (values.from) {
  for (const line of readFileSync(values.from, 'utf8').split('\n')) {
    if (line.startsWith('{') && JSON.parse(line).metric) rows.push(JSON.parse(line));
  }
}
for (const type of parts.includes('batched') ? types : []) {
  const model = modelFile(type);
  for (const threads of threadCounts) {
    const base = { type, threads };
    // each system's two runs back to back, alternating, so that a slow spell of the machine hits both
    const ours = [...(await journeyBatched(model, threads, 128, 32, npls, values.kernels)), ...(await journeyBatched(model, threads, 512, 1, [1], values.kernels))];
    const theirs = [...(await llamaCppBatched(bin, model, threads, 128, 32, npls)), ...(await llamaCppBatched(bin, model, threads, 512, 1, [1]))];
    compare(base, 'pp128', pick(ours, 128, 1).pp, pick(theirs, 128, 1).pp);
    compare(base, 'pp512', pick(ours, 512, 1).pp, pick(theirs, 512, 1).pp);
    for (const npl of npls) compare(base, `tg, ${npl} seq`, pick(ours, 128, npl).tg, pick(theirs, 128, npl).tg);
  }
}

// HTTP: the same streamed workload (128-token prompts, 32 tokens out) against both servers
const contextLen = 256;
for (const type of parts.includes('http') ? types : []) {
  const model = modelFile(type);
  const threads = Math.max(...threadCounts);
  for (const concurrency of concurrencies) {
    const workload = makeWorkload({ dataset: 'fixed', numPrompts: Math.max(Number(values['http-prompts']), 2 * concurrency), inputLen: 128, outputLen: 32, rangeRatio: 0, seed: 7, maxModelLen: contextLen });
    const measure = async (server: RunningServer) => {
      try {
        const served = ((await (await fetch(`${server.url}/v1/models`)).json()) as { data: { id: string }[] }).data[0].id;
        await runLoad(workload.slice(0, 2), { url: server.url, model: served, requestRate: Infinity, maxConcurrency: 2, seed: 1 });
        const { results, durationS } = await runLoad(workload, { url: server.url, model: served, requestRate: Infinity, maxConcurrency: concurrency, seed: 1 });
        return { ...summarize(results, durationS), firstError: results.find((r) => !r.ok)?.error?.slice(0, 200) };
      } finally {
        await server.stop();
      }
    };
    const ours = await measure(await startJourneyServer(model, threads, concurrency, contextLen, values.kernels));
    const theirs = await measure(await startLlamaServer(bin, model, threads, concurrency, contextLen));
    const base = { type, threads, http: true, concurrency, failed: { journeyLlm: ours.failed, llamaCpp: theirs.failed }, ...(ours.firstError || theirs.firstError ? { firstError: { journeyLlm: ours.firstError, llamaCpp: theirs.firstError } } : {}) };
    compare(base, 'output tok/s', ours.outputTokenThroughput, theirs.outputTokenThroughput);
    compare(base, 'TTFT p50', ours.ttftMs.p50, theirs.ttftMs.p50, 'ms');
    compare(base, 'TTFT p99', ours.ttftMs.p99, theirs.ttftMs.p99, 'ms');
    compare(base, 'TPOT p50', ours.tpotMs.p50, theirs.tpotMs.p50, 'ms');
    compare(base, 'TPOT p99', ours.tpotMs.p99, theirs.tpotMs.p99, 'ms');
  }
}
if (parts.length > 0) console.log(JSON.stringify({ bench: 'llamacpp', summary: true, ...machine() }));

if (values.chart && rows.some((r) => !r.http)) {
  // one panel per thread count: journey-llm / llama.cpp per metric, a series per file type
  const metrics = ['pp128', 'pp512', ...npls.map((n) => `tg, ${n} seq`)];
  const panels = threadCounts.map((threads) => ({
    title: `${threads} thread${threads > 1 ? 's' : ''}`,
    unit: 'journey-llm / llama.cpp',
    groups: metrics,
    values: types.map((type) => metrics.map((metric) => Number(rows.find((r) => r.type === type && r.threads === threads && r.metric === metric && !r.http)?.ratio ?? 0))),
  }));
  writeFileSync(values.chart, barChart(`journey-llm / llama.cpp, ${values.shape} (1.0 = parity)`, types, panels, `npm run bench:llamacpp; ${machine().cpus} × ${machine().cpu}, Node ${process.version}`));
}
