import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CONNECTION_DEFAULTS, connectionLimitsProblem, type ConnectionLimits } from './api/connection-limits.js';
import { corsProblem, type CorsOptions } from './api/cors.js';
import { ENGINE_DEFAULTS } from './engine/engine-config.js';
import { defaultServedModelName } from './models/open-model.js';
import { KERNEL_SETTINGS, type KernelsSetting } from './engine/engine-config.js';
import { GPUJS_MODES, type GpuJsMode } from './backends/registry.js';
import { isPresetName, MODEL_PRESETS } from './models/presets.js';
import { tracesEndpointFrom, type TracingInput } from './observe/tracing/tracing-config.js';
import { LOG_LEVELS, type LogLevel } from './util/logger.js';
import { numberProblem, type NumberRule } from './util/number-rule.js';

/** Everything `node lib/server.js` can be told, validated. */
export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly model: string;
  /** The names clients may use; the first is the primary one. */
  readonly servedModelNames: readonly string[];
  /** Engine workers; undefined picks the default for the machine. */
  readonly workers: number | undefined;
  /** Threads per engine worker; undefined picks the default for the machine. */
  readonly threadsPerWorker: number | undefined;
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number;
  readonly maxModelLen: number | undefined;
  readonly kernels: KernelsSetting;
  readonly gpujsMode: GpuJsMode;
  readonly seed: number;
  readonly apiKey: string | null;
  readonly metricsApiKey: string | null;
  /** Host names requests may name; undefined: the server's default (loopback names when bound to loopback). */
  readonly allowedHosts: readonly string[] | undefined;
  readonly connectionLimits: ConnectionLimits;
  /** Cross-origin access; undefined: off. */
  readonly cors: CorsOptions | undefined;
  /** Seconds between the engine's stats lines while busy; 0 = none. */
  readonly logStatsIntervalSeconds: number;
  readonly enablePerRequestMetrics: boolean;
  readonly journeyHistory: number;
  readonly traceUrlTemplate: string | undefined;
  readonly maxRequestBodyBytes: number;
  /** Seconds a generation request may take before it is aborted; 0 = no limit. */
  readonly requestTimeoutSeconds: number;
  /** Seconds in-flight requests get to finish at shutdown. */
  readonly shutdownGraceSeconds: number;
  /** A worker holding requests that finishes no step for this long is replaced; 0 = never. */
  readonly engineIterationTimeoutSeconds: number;
  /** Seconds a chat template may render one conversation before its request is refused. */
  readonly chatTemplateTimeoutSeconds: number;
  readonly logLevel: LogLevel;
  readonly tracing: TracingInput;
}

/** A bad command line: the message to print, and exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const OPTIONS = {
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string', default: '8000' },
  model: { type: 'string', default: 'dummy' },
  'served-model-name': { type: 'string', multiple: true },
  workers: { type: 'string' },
  'threads-per-worker': { type: 'string' },
  'max-num-seqs': { type: 'string', default: String(ENGINE_DEFAULTS.maxNumSeqs) },
  'max-num-batched-tokens': { type: 'string', default: String(ENGINE_DEFAULTS.maxNumBatchedTokens) },
  'max-model-len': { type: 'string' },
  kernels: { type: 'string', default: ENGINE_DEFAULTS.kernels },
  'gpujs-mode': { type: 'string', default: ENGINE_DEFAULTS.gpujsMode },
  seed: { type: 'string', default: '0' },
  'api-key': { type: 'string' },
  'metrics-api-key': { type: 'string' },
  'allowed-hosts': { type: 'string' },
  'headers-timeout': { type: 'string', default: String(CONNECTION_DEFAULTS.headersTimeoutSeconds) },
  'body-timeout': { type: 'string', default: String(CONNECTION_DEFAULTS.bodyTimeoutSeconds) },
  'keep-alive-timeout': { type: 'string', default: String(CONNECTION_DEFAULTS.keepAliveTimeoutSeconds) },
  'stream-stall-timeout': { type: 'string', default: String(CONNECTION_DEFAULTS.streamStallTimeoutSeconds) },
  'max-connections': { type: 'string', default: String(CONNECTION_DEFAULTS.maxConnections) },
  'max-request-body': { type: 'string', default: '1mb' },
  'request-timeout': { type: 'string', default: '0' },
  'shutdown-grace': { type: 'string', default: '30' },
  'engine-iteration-timeout': { type: 'string', default: '60' },
  'chat-template-timeout': { type: 'string', default: '2' },
  'log-level': { type: 'string', default: 'info' },
  'enable-journey-tracing': { type: 'boolean', default: false },
  'otlp-traces-endpoint': { type: 'string' },
  'journey-tracing-sample-rate': { type: 'string', default: '1.0' },
  'otel-service-name': { type: 'string' },
  'allowed-origins': { type: 'string' },
  'allowed-methods': { type: 'string' },
  'allowed-headers': { type: 'string' },
  'allow-credentials': { type: 'boolean', default: false },
  'disable-log-stats': { type: 'boolean', default: false },
  'enable-per-request-metrics': { type: 'boolean', default: false },
  'journey-history': { type: 'string', default: '1000' },
  'journey-step-sample-rate': { type: 'string', default: '0' },
  'trace-url-template': { type: 'string' },
  version: { type: 'boolean', short: 'v', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} satisfies ParseArgsConfig['options'];

export const USAGE = `Usage: node lib/server.js [options]

An OpenAI-compatible LLM inference server.

Options:
  --host HOST                    address to listen on (default 127.0.0.1)
  --port PORT                    port to listen on (default 8000; 0 picks a free one)
  --model NAME|PATH              a GGUF file (llama, qwen2, qwen3; F32, F16, BF16, Q8_0) or a built-in
                                 model with random weights: ${Object.keys(MODEL_PRESETS).join(', ')} (default dummy)
  --served-model-name NAME...    model names clients may use, the first the primary (default: the model's);
                                 several names follow the flag, or repeat it
  --workers N                    engine workers, each a whole engine with its own batch and KV cache
                                 (default 1, one more per 8 cores past 8)
  --threads-per-worker N         threads each engine's forward pass runs on, sharing every matmul and
                                 attention (wasm kernels; default: the cores divided among the workers,
                                 at most 8)
  --max-num-seqs N               sequences batched together per worker (default ${ENGINE_DEFAULTS.maxNumSeqs})
  --max-num-batched-tokens N     tokens computed per step per worker (default ${ENGINE_DEFAULTS.maxNumBatchedTokens})
  --max-model-len N              context window, prompt plus output (default: the model's)
  --kernels NAME                 kernel backend: ${KERNEL_SETTINGS.join(', ')} (default ${ENGINE_DEFAULTS.kernels}: WebAssembly
                                 SIMD on a CPU; gpu.js on WebGPU where an adapter exists and measures faster)
  --gpujs-mode MODE              gpu.js backend when --kernels gpujs: ${GPUJS_MODES.join(', ')} (default ${ENGINE_DEFAULTS.gpujsMode})
  --seed N                       seed of the dummy weights and of unseeded requests (default 0)
  --api-key KEY                  require "Authorization: Bearer KEY" on every route that serves model
                                 output or data, all of /v1 (also JOURNEY_API_KEY); /health, /version
                                 and /metrics stay open and carry no request content
  --metrics-api-key KEY          require "Authorization: Bearer KEY" on /metrics too (also JOURNEY_METRICS_API_KEY)
  --allowed-hosts NAMES          comma-separated host names the Host header may carry, "*" for any
                                 (default: loopback names when bound to loopback, against DNS rebinding;
                                 any otherwise)
  --headers-timeout SECONDS      a request's headers must arrive within this (default ${CONNECTION_DEFAULTS.headersTimeoutSeconds})
  --body-timeout SECONDS         the whole request, headers and body, must arrive within this; 0 = never
                                 (default ${CONNECTION_DEFAULTS.bodyTimeoutSeconds})
  --keep-alive-timeout SECONDS   close idle keep-alive connections after this (default ${CONNECTION_DEFAULTS.keepAliveTimeoutSeconds})
  --stream-stall-timeout SECONDS disconnect a client that reads nothing of its response for this long
                                 and end its generation; 0 = never (default ${CONNECTION_DEFAULTS.streamStallTimeoutSeconds})
  --max-connections N            close connections beyond this many as they arrive; 0 = no cap (default ${CONNECTION_DEFAULTS.maxConnections})
  --max-request-body SIZE        largest request body, e.g. 65536, 512kb, 1mb (default 1mb)
  --request-timeout SECONDS      abort generations running longer than this; 0 = never (default 0)
  --shutdown-grace SECONDS       time in-flight requests get to finish on SIGINT/SIGTERM (default 30);
                                 a second signal ends it at once, a third exits without waiting
  --engine-iteration-timeout SECONDS  a worker holding requests that finishes no engine step for this
                                 long fails them (engine_failure) and is replaced; 0 = never (default 60)
  --chat-template-timeout SECONDS  a model's chat template that renders one conversation for longer is
                                 stopped and its request refused with a 400 (default 2)
  --allowed-origins ORIGINS      CORS: origins browsers may call from, as a JSON list or comma-separated,
                                 "*" for any (default: none, CORS off)
  --allowed-methods METHODS      CORS: methods allowed (default GET,POST,OPTIONS)
  --allowed-headers HEADERS      CORS: request headers allowed (default authorization,content-type,x-request-id)
  --allow-credentials            CORS: allow credentials (cookies, HTTP auth) from the allowed origins
  --disable-log-stats            no periodic engine stats line (running, waiting, KV use, throughput)
  --enable-per-request-metrics   put a "metrics" object (TTFT, queue, prefill, decode, ...) on every
                                 response unless the request sends include_metrics: false
  --journey-history N            journeys kept for /v1/journeys and the viewer at /journeys (default 1000; 0: none)
  --journey-step-sample-rate R   with journey tracing, fraction of engine steps traced as llm_step spans
                                 linked to the requests in their batch (default 0)
  --trace-url-template URL       the viewer's link for a traced request, {trace_id} replaced, e.g.
                                 http://localhost:16686/trace/{trace_id} (Jaeger)
  --log-level LEVEL              ${LOG_LEVELS.join(', ')} (default info)
  --enable-journey-tracing       record an llm_request span per request on the API thread and an
                                 llm_core span per sequence in the workers, exported over OTLP gRPC
  --otlp-traces-endpoint URL     e.g. http://127.0.0.1:4317 (default: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
                                 then OTEL_EXPORTER_OTLP_ENDPOINT)
  --journey-tracing-sample-rate R  fraction of requests traced when the client sends no decision (default 1.0)
  --otel-service-name NAME       resource service.name (default: OTEL_SERVICE_NAME, else journey-llm)
  -v, --version                  print the version
  -h, --help                     print this help
`;

/** Parses argv (without node and the script) and the environment; throws UsageError. */
export function parseServerConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServerConfig | 'help' | 'version' {
  let values;
  try {
    ({ values } = parseArgs({ args: normaliseArgs(argv), options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  if (values.version) return 'version';
  const model = values.model;
  if (!isPresetName(model) && !model.toLowerCase().endsWith('.gguf')) {
    throw new UsageError(`--model: unknown model "${model}"; give a built-in model (${Object.keys(MODEL_PRESETS).join(', ')}) or the path of a .gguf file`);
  }
  const kernels = values.kernels as KernelsSetting;
  if (!KERNEL_SETTINGS.includes(kernels)) throw new UsageError(`--kernels must be one of ${KERNEL_SETTINGS.join(', ')}`);
  const gpujsMode = values['gpujs-mode'] as GpuJsMode;
  if (!GPUJS_MODES.includes(gpujsMode)) throw new UsageError(`--gpujs-mode must be one of ${GPUJS_MODES.join(', ')}`);
  const logLevel = values['log-level'] as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const endpoint = tracesEndpointFrom(values['otlp-traces-endpoint'], env);
  const tracingEnabled = values['enable-journey-tracing'];
  if (tracingEnabled && endpoint === null) {
    throw new UsageError('--enable-journey-tracing needs --otlp-traces-endpoint (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT)');
  }
  if (endpoint !== null && !/^https?:\/\/[^/]+/.test(endpoint)) throw new UsageError(`--otlp-traces-endpoint must be an http(s) URL, got "${endpoint}"`);
  const apiKey = values['api-key'] ?? env.JOURNEY_API_KEY ?? null;
  if (apiKey === '') throw new UsageError('--api-key must not be empty');
  const metricsApiKey = values['metrics-api-key'] ?? env.JOURNEY_METRICS_API_KEY ?? null;
  if (metricsApiKey === '') throw new UsageError('--metrics-api-key must not be empty');
  const allowedHosts = values['allowed-hosts']?.split(',').map((h) => h.trim()).filter((h) => h !== '');
  if (allowedHosts?.length === 0) throw new UsageError('--allowed-hosts must name at least one host, or "*"');
  const connectionLimits: ConnectionLimits = {
    headersTimeoutSeconds: number(values['headers-timeout'], '--headers-timeout', 1, 3600),
    bodyTimeoutSeconds: number(values['body-timeout'], '--body-timeout', 0, 86400),
    keepAliveTimeoutSeconds: number(values['keep-alive-timeout'], '--keep-alive-timeout', 0, 3600),
    streamStallTimeoutSeconds: number(values['stream-stall-timeout'], '--stream-stall-timeout', 0, 86400),
    maxConnections: integer(values['max-connections'], '--max-connections', 0, 1 << 20),
  };
  const limitsProblem = connectionLimitsProblem(connectionLimits);
  if (limitsProblem !== null) throw new UsageError(`--headers-timeout / --body-timeout: ${limitsProblem}`);
  return {
    host: values.host,
    port: integer(values.port, '--port', 0, 65535),
    model,
    servedModelNames: values['served-model-name'] ?? [defaultServedModelName(model)],
    workers: values.workers === undefined ? undefined : integer(values.workers, '--workers', 1, 256),
    threadsPerWorker: values['threads-per-worker'] === undefined ? undefined : integer(values['threads-per-worker'], '--threads-per-worker', 1, 64),
    maxNumSeqs: integer(values['max-num-seqs'], '--max-num-seqs', 1, 4096),
    maxNumBatchedTokens: integer(values['max-num-batched-tokens'], '--max-num-batched-tokens', 1, 1 << 20),
    maxModelLen: values['max-model-len'] === undefined ? undefined : integer(values['max-model-len'], '--max-model-len', 2, 1 << 20),
    kernels,
    gpujsMode,
    seed: integer(values.seed, '--seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    apiKey,
    metricsApiKey,
    allowedHosts,
    connectionLimits,
    cors: corsOptions(values),
    logStatsIntervalSeconds: values['disable-log-stats'] ? 0 : 10,
    enablePerRequestMetrics: values['enable-per-request-metrics'],
    journeyHistory: integer(values['journey-history'], '--journey-history', 0, 1_000_000),
    traceUrlTemplate: traceUrlTemplate(values['trace-url-template']),
    maxRequestBodyBytes: byteSize(values['max-request-body'], '--max-request-body'),
    requestTimeoutSeconds: number(values['request-timeout'], '--request-timeout', 0, 86400),
    shutdownGraceSeconds: number(values['shutdown-grace'], '--shutdown-grace', 0, 3600),
    engineIterationTimeoutSeconds: number(values['engine-iteration-timeout'], '--engine-iteration-timeout', 0, 86400),
    chatTemplateTimeoutSeconds: number(values['chat-template-timeout'], '--chat-template-timeout', 0.001, 3600),
    logLevel,
    tracing: {
      enabled: tracingEnabled,
      ...(endpoint !== null ? { endpoint } : {}),
      sampleRate: number(values['journey-tracing-sample-rate'], '--journey-tracing-sample-rate', 0, 1),
      stepSampleRate: number(values['journey-step-sample-rate'], '--journey-step-sample-rate', 0, 1),
      ...(values['otel-service-name'] !== undefined ? { serviceName: values['otel-service-name'] } : {}),
    },
  };
}

function integer(text: string, flag: string, min: number, max: number): number {
  // digits only: "1e3" and "0x10" are numbers to Number(), not integers a person types
  return flagNumber(/^\s*-?\d+\s*$/.test(text) ? text : 'NaN', text, flag, { min, max, integer: true });
}

/**
 * What parseArgs cannot take as written: a negative number after a flag ("--seed -1", which it
 * reads as an option) becomes "--seed=-1", and several names after --served-model-name (vLLM's
 * form) become one flag per name.
 */
function normaliseArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--served-model-name') {
      while (i + 1 < argv.length && !argv[i + 1].startsWith('-')) out.push(`--served-model-name=${argv[++i]}`);
      if (out.at(-1)?.startsWith('--served-model-name=') !== true) out.push(arg); // no name: parseArgs says so
      continue;
    }
    if (arg.startsWith('--') && !arg.includes('=') && i + 1 < argv.length && /^-\d+(\.\d+)?$/.test(argv[i + 1])) {
      out.push(`${arg}=${argv[++i]}`);
      continue;
    }
    out.push(arg);
  }
  return out;
}

function traceUrlTemplate(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (!/^https?:\/\//.test(text) || !text.includes('{trace_id}')) throw new UsageError(`--trace-url-template must be an http(s) URL containing {trace_id}, got "${text}"`);
  return text;
}

/** A list flag: a JSON array (vLLM's form) or comma-separated values. */
function listFlag(text: string, flag: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw new UsageError(`${flag} must be a JSON list or comma-separated values, got "${text}"`);
    }
    if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string')) throw new UsageError(`${flag} must be a list of strings`);
    return parsed;
  }
  return trimmed.split(',').map((v) => v.trim()).filter((v) => v !== '');
}

function corsOptions(values: { 'allowed-origins'?: string; 'allowed-methods'?: string; 'allowed-headers'?: string; 'allow-credentials'?: boolean }): CorsOptions | undefined {
  if (values['allowed-origins'] === undefined) {
    if (values['allowed-methods'] !== undefined || values['allowed-headers'] !== undefined || values['allow-credentials']) {
      throw new UsageError('--allowed-methods, --allowed-headers and --allow-credentials need --allowed-origins');
    }
    return undefined;
  }
  const allowedOrigins = listFlag(values['allowed-origins'], '--allowed-origins');
  if (allowedOrigins.length === 0) throw new UsageError('--allowed-origins must name at least one origin, or "*"');
  const options: CorsOptions = {
    allowedOrigins,
    allowedMethods: values['allowed-methods'] !== undefined ? listFlag(values['allowed-methods'], '--allowed-methods') : ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: values['allowed-headers'] !== undefined ? listFlag(values['allowed-headers'], '--allowed-headers') : ['authorization', 'content-type', 'x-request-id'],
    allowCredentials: values['allow-credentials'] ?? false,
  };
  const problem = corsProblem(options);
  if (problem !== null) throw new UsageError(`--allowed-origins '*' with --allow-credentials: ${problem}`);
  return options;
}

/** Start-up errors speak of the engine's fields; a person typed flags. */
const FLAG_OF_FIELD: Readonly<Record<string, string>> = {
  maxModelLen: '--max-model-len',
  maxNumSeqs: '--max-num-seqs',
  maxNumBatchedTokens: '--max-num-batched-tokens',
  gpujsMode: '--gpujs-mode',
};

/** `message` with engine field names replaced by the flags that set them. */
export function inFlagTerms(message: string): string {
  return message.replace(/\b(maxModelLen|maxNumSeqs|maxNumBatchedTokens|gpujsMode)\b/g, (name) => FLAG_OF_FIELD[name] ?? name);
}

function number(text: string, flag: string, min: number, max: number): number {
  return flagNumber(text.trim() === '' ? 'NaN' : text, text, flag, { min, max });
}

function flagNumber(parsed: string, text: string, flag: string, rule: NumberRule): number {
  const value = Number(parsed);
  const problem = numberProblem(value, rule);
  if (problem !== null) throw new UsageError(`${flag} must be ${rule.integer ? 'an integer' : 'a number'} from ${rule.min} to ${rule.max}, got "${text}"`);
  return value;
}

function byteSize(text: string, flag: string): number {
  const match = /^(\d+)\s*(b|kb|mb)?$/i.exec(text.trim());
  const value = match ? Number(match[1]) * { b: 1, kb: 1024, mb: 1024 * 1024 }[(match[2] ?? 'b').toLowerCase() as 'b' | 'kb' | 'mb'] : NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > 1 << 30) throw new UsageError(`${flag} must be a size like 65536, 512kb or 1mb (at most 1024mb), got "${text}"`);
  return value;
}
