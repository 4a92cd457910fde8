import { parseArgs } from 'node:util';
import { GPUJS_MODES, NATIVE_ISAS, THREADED_BACKENDS } from './backends/registry.js';
import { CONNECTION_DEFAULTS, connectionLimitsProblem, type ConnectionLimits } from './api/connection-limits.js';
import { CORS_DEFAULTS, corsProblem, type CorsOptions } from './api/cors.js';
import type { ServerOptions } from './api/create-server.js';
import { ENGINE_DEFAULTS, KERNEL_SETTINGS } from './engine/engine-config.js';
import { defaultServedModelName } from './models/open-model.js';
import { isPresetName, MODEL_PRESETS } from './models/presets.js';
import { supportedArchitectures } from './models/registry.js';
import type { TracingInput } from './observe/tracing/tracing-config.js';
import { COMPUTED_TYPES, ggmlTypeName } from './tensors/tensor-types.js';
import { byteSizeFlag, choiceFlag, integerFlag, listFlag, numberFlag, textFlag, urlFlag, UsageError, type FlagReader } from './util/flag-values.js';
import { LOG_LEVELS, type LogLevel } from './util/logger.js';

export { UsageError } from './util/flag-values.js';

/**
 * Everything `node lib/server.js` can be told, validated: createServer's options as the flags
 * set them, plus the two that only the command line uses.
 */
export type ServerConfig = Omit<ServerOptions, 'servedModelName' | 'tracing'> & {
  readonly host: string;
  readonly port: number;
  readonly model: string;
  /** The names clients may use; the first is the primary one. */
  readonly servedModelName: readonly string[];
  readonly tracing: TracingInput;
  /** Seconds in-flight requests get to finish at shutdown. */
  readonly shutdownGraceSeconds: number;
  readonly logLevel: LogLevel;
};

/** Where a flag's value goes: a key of ServerConfig, or a key of one of its nested option objects. */
type ConfigPath =
  | Exclude<keyof ServerConfig & string, 'connectionLimits' | 'cors' | 'tracing'>
  | `connectionLimits.${keyof ConnectionLimits & string}`
  | `cors.${keyof CorsOptions & string}`
  | `tracing.${keyof TracingInput & string}`;

/** One command-line flag, written once: its parse option, its usage lines and where its value goes. */
interface Flag {
  readonly name: string;
  readonly short?: string;
  /** The value's placeholder in the usage text; a flag without one is a switch. */
  readonly value?: string;
  readonly help: string;
  /** As a person would type it; read like a given value. */
  readonly default?: string;
  /** The default, in words, where it is not a value one types. */
  readonly defaultHelp?: string;
  /** Environment variables read, in order, when the flag is not given. */
  readonly env?: readonly string[];
  /** Takes several values: the words after the flag (vLLM's form), or the flag repeated. */
  readonly multiple?: boolean;
  /** Absent for --help and --version, which are actions, not settings. */
  readonly to?: ConfigPath;
  readonly read?: FlagReader<unknown>;
  /** A switch's value when given; a switch without one is true when given and false otherwise. */
  readonly whenSet?: unknown;
}

const modelFlag: FlagReader<string> = (text, flag) => {
  if (!isPresetName(text) && !text.toLowerCase().endsWith('.gguf')) {
    throw new UsageError(`${flag}: unknown model "${text}"; give a built-in model (${Object.keys(MODEL_PRESETS).join(', ')}) or the path of a .gguf file`);
  }
  return text;
};

const seconds = (max: number, min = 0) => numberFlag(min, max);

export const FLAGS: readonly Flag[] = [
  { name: 'host', value: 'HOST', default: '127.0.0.1', to: 'host', help: 'address to listen on' },
  { name: 'port', value: 'PORT', default: '8000', to: 'port', read: integerFlag(0, 65535), help: 'port to listen on; 0 picks a free one' },
  {
    name: 'model',
    value: 'NAME|PATH',
    default: 'dummy',
    to: 'model',
    read: modelFlag,
    help: `a GGUF file (${supportedArchitectures().join(', ')}; weights ${COMPUTED_TYPES.map(ggmlTypeName).join(', ')}) or a built-in model with random weights: ${Object.keys(MODEL_PRESETS).join(', ')}`,
  },
  { name: 'served-model-name', value: 'NAME', multiple: true, to: 'servedModelName', defaultHelp: "the model's", help: 'model names clients may use, the first the primary; several names follow the flag, or repeat it' },
  { name: 'workers', value: 'N', to: 'workers', read: integerFlag(1, 256), defaultHelp: 'one per 8 cores, at least 1', help: 'engine workers, each a whole engine with its own batch and KV cache' },
  {
    name: 'threads-per-worker',
    value: 'N',
    to: 'threadsPerWorker',
    read: integerFlag(1, 64),
    defaultHelp: 'the cores divided among the workers, at most 8',
    help: `threads each engine's forward pass runs on, sharing every matmul and attention (kernels that run a thread team: ${THREADED_BACKENDS.join(', ')})`,
  },
  { name: 'max-num-seqs', value: 'N', default: String(ENGINE_DEFAULTS.maxNumSeqs), to: 'maxNumSeqs', read: integerFlag(1, 4096), help: 'sequences batched together per worker' },
  { name: 'max-num-batched-tokens', value: 'N', default: String(ENGINE_DEFAULTS.maxNumBatchedTokens), to: 'maxNumBatchedTokens', read: integerFlag(1, 1 << 20), help: 'tokens computed per step per worker' },
  { name: 'max-model-len', value: 'N', to: 'maxModelLen', read: integerFlag(2, 1 << 20), defaultHelp: "the model's", help: 'context window, prompt plus output' },
  {
    name: 'kernels',
    value: 'NAME',
    default: ENGINE_DEFAULTS.kernels,
    to: 'kernels',
    read: choiceFlag(KERNEL_SETTINGS),
    help: `kernel backend: ${KERNEL_SETTINGS.join(', ')}; auto is the native kernels on a CPU that has AVX2 or AVX-512 (WebAssembly SIMD where the addon could not be built, or on other CPUs), gpu.js on WebGPU where an adapter exists and measures faster`,
  },
  {
    name: 'native-isa',
    value: 'PATH',
    default: ENGINE_DEFAULTS.nativeIsa,
    to: 'nativeIsa',
    read: choiceFlag(NATIVE_ISAS),
    help: `SIMD path of the native kernels: ${NATIVE_ISAS.join(', ')} (auto: the best this CPU has)`,
  },
  { name: 'gpujs-mode', value: 'MODE', default: ENGINE_DEFAULTS.gpujsMode, to: 'gpujsMode', read: choiceFlag(GPUJS_MODES), help: `gpu.js backend when --kernels gpujs: ${GPUJS_MODES.join(', ')}` },
  { name: 'seed', value: 'N', default: '0', to: 'seed', read: integerFlag(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER), help: 'seed of the dummy weights and of unseeded requests' },
  {
    name: 'api-key',
    value: 'KEY',
    env: ['JOURNEY_API_KEY'],
    to: 'apiKey',
    read: textFlag,
    help: 'require "Authorization: Bearer KEY" on every route that serves model output or data, all of /v1; /health, /version and /metrics stay open and carry no request content',
  },
  { name: 'metrics-api-key', value: 'KEY', env: ['JOURNEY_METRICS_API_KEY'], to: 'metricsApiKey', read: textFlag, help: 'require "Authorization: Bearer KEY" on /metrics too' },
  {
    name: 'allowed-hosts',
    value: 'NAMES',
    to: 'allowedHosts',
    read: listFlag,
    defaultHelp: 'loopback names when bound to loopback, against DNS rebinding; any otherwise',
    help: 'host names the Host header may carry, comma-separated, "*" for any',
  },
  { name: 'headers-timeout', value: 'SECONDS', default: String(CONNECTION_DEFAULTS.headersTimeoutSeconds), to: 'connectionLimits.headersTimeoutSeconds', read: seconds(3600, 1), help: "a request's headers must arrive within this" },
  { name: 'body-timeout', value: 'SECONDS', default: String(CONNECTION_DEFAULTS.bodyTimeoutSeconds), to: 'connectionLimits.bodyTimeoutSeconds', read: seconds(86400), help: 'the whole request, headers and body, must arrive within this; 0 = never' },
  { name: 'keep-alive-timeout', value: 'SECONDS', default: String(CONNECTION_DEFAULTS.keepAliveTimeoutSeconds), to: 'connectionLimits.keepAliveTimeoutSeconds', read: seconds(3600), help: 'close idle keep-alive connections after this' },
  {
    name: 'stream-stall-timeout',
    value: 'SECONDS',
    default: String(CONNECTION_DEFAULTS.streamStallTimeoutSeconds),
    to: 'connectionLimits.streamStallTimeoutSeconds',
    read: seconds(86400),
    help: 'disconnect a client that reads nothing of its response for this long and end its generation; 0 = never',
  },
  { name: 'max-connections', value: 'N', default: String(CONNECTION_DEFAULTS.maxConnections), to: 'connectionLimits.maxConnections', read: integerFlag(0, 1 << 20), help: 'close connections beyond this many as they arrive; 0 = no cap' },
  { name: 'max-request-body', value: 'SIZE', default: '1mb', to: 'maxRequestBodyBytes', read: byteSizeFlag, help: 'largest request body, e.g. 65536, 512kb, 1mb' },
  { name: 'request-timeout', value: 'SECONDS', default: '0', to: 'requestTimeoutSeconds', read: seconds(86400), help: 'abort generations running longer than this; 0 = never' },
  { name: 'shutdown-grace', value: 'SECONDS', default: '30', to: 'shutdownGraceSeconds', read: seconds(3600), help: 'time in-flight requests get to finish on SIGINT/SIGTERM; a second signal ends it at once, a third exits without waiting' },
  {
    name: 'engine-iteration-timeout',
    value: 'SECONDS',
    default: '60',
    to: 'engineIterationTimeoutSeconds',
    read: seconds(86400),
    help: 'a worker holding requests that finishes no engine step for this long fails them (engine_failure) and is replaced; 0 = never',
  },
  { name: 'chat-template-timeout', value: 'SECONDS', default: '2', to: 'chatTemplateTimeoutSeconds', read: seconds(3600, 0.001), help: "a model's chat template that renders one conversation for longer is stopped and its request refused with a 400" },
  { name: 'allowed-origins', value: 'ORIGINS', to: 'cors.allowedOrigins', read: listFlag, defaultHelp: 'none, CORS off', help: 'CORS: origins browsers may call from, as a JSON list or comma-separated, "*" for any' },
  { name: 'allowed-methods', value: 'METHODS', to: 'cors.allowedMethods', read: listFlag, defaultHelp: CORS_DEFAULTS.allowedMethods.join(','), help: 'CORS: methods allowed' },
  { name: 'allowed-headers', value: 'HEADERS', to: 'cors.allowedHeaders', read: listFlag, defaultHelp: CORS_DEFAULTS.allowedHeaders.join(','), help: 'CORS: request headers allowed' },
  { name: 'allow-credentials', to: 'cors.allowCredentials', whenSet: true, help: 'CORS: allow credentials (cookies, HTTP auth) from the allowed origins' },
  { name: 'disable-log-stats', to: 'logStatsIntervalSeconds', whenSet: 0, help: 'no periodic engine stats line (running, waiting, KV use, throughput)' },
  { name: 'enable-per-request-metrics', to: 'enablePerRequestMetrics', help: 'put a "metrics" object (TTFT, queue, prefill, decode, ...) on every response unless the request sends include_metrics: false' },
  { name: 'journey-history', value: 'N', default: '1000', to: 'journeyHistory', read: integerFlag(0, 1_000_000), help: 'journeys kept for /v1/journeys and the viewer at /journeys; 0: none' },
  { name: 'journey-step-sample-rate', value: 'R', default: '0', to: 'tracing.stepSampleRate', read: numberFlag(0, 1), help: 'with journey tracing, fraction of engine steps traced as llm_step spans linked to the requests in their batch' },
  { name: 'trace-url-template', value: 'URL', to: 'traceUrlTemplate', read: urlFlag('{trace_id}'), help: "the viewer's link for a traced request, {trace_id} replaced, e.g. http://localhost:16686/trace/{trace_id} (Jaeger)" },
  { name: 'log-level', value: 'LEVEL', default: 'info', to: 'logLevel', read: choiceFlag(LOG_LEVELS), help: LOG_LEVELS.join(', ') },
  { name: 'enable-journey-tracing', to: 'tracing.enabled', help: 'record an llm_request span per request on the API thread and an llm_core span per sequence in the workers, exported over OTLP gRPC' },
  {
    name: 'otlp-traces-endpoint',
    value: 'URL',
    env: ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'],
    to: 'tracing.endpoint',
    read: urlFlag(),
    help: 'where journey spans go, e.g. http://127.0.0.1:4317',
  },
  { name: 'journey-tracing-sample-rate', value: 'R', default: '1.0', to: 'tracing.sampleRate', read: numberFlag(0, 1), help: 'fraction of requests traced when the client sends no decision' },
  { name: 'otel-service-name', value: 'NAME', to: 'tracing.serviceName', read: textFlag, defaultHelp: 'OTEL_SERVICE_NAME, else journey-llm', help: 'resource service.name' },
  { name: 'version', short: 'v', help: 'print the version' },
  { name: 'help', short: 'h', help: 'print this help' },
];

const HELP_COLUMN = 33;
const WIDTH = 104;

/** The usage text, every option line generated from FLAGS. */
export const USAGE = `Usage: node lib/server.js [options]

An OpenAI-compatible LLM inference server.

Options:
${FLAGS.map(usageLines).join('')}`;

/** createServer's options from a parsed command line: every flag but the two that only the command uses. */
export function serverOptions(config: ServerConfig): ServerOptions {
  const { shutdownGraceSeconds: _grace, logLevel: _level, ...options } = config;
  return options;
}

/** Parses argv (without node and the script) and the environment; throws UsageError. */
export function parseServerConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServerConfig | 'help' | 'version' {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({ args: normaliseArgs(argv), options: parseOptions(), strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  if (values.version) return 'version';
  const config: Record<string, unknown> = {};
  for (const flag of FLAGS) {
    if (!flag.to) continue;
    const value = flagValue(flag, values[flag.name], env);
    if (value !== undefined) place(config, flag.to, value);
  }
  return checked(config);
}

/** A flag's value: given, else from the environment, else its default; undefined when none. */
function flagValue(flag: Flag, given: string | boolean | (string | boolean)[] | undefined, env: NodeJS.ProcessEnv): unknown {
  const option = `--${flag.name}`;
  if (flag.value === undefined) return given ? (flag.whenSet ?? true) : flag.whenSet === undefined ? false : undefined;
  const read = flag.read ?? ((text: string) => text);
  if (Array.isArray(given)) return given.map((text) => read(String(text), option));
  if (typeof given === 'string') return read(given, option);
  const fromEnv = flag.env?.map((name) => env[name]).find((v) => v !== undefined);
  if (fromEnv !== undefined) return read(fromEnv, option);
  return flag.default !== undefined ? read(flag.default, option) : undefined;
}

/** Sets `path` ("a" or "a.b") of `config` to `value`. */
function place(config: Record<string, unknown>, path: string, value: unknown): void {
  const [head, leaf] = path.split('.');
  if (leaf === undefined) config[head] = value;
  else config[head] = { ...(config[head] as object | undefined), [leaf]: value };
}

/** What no single flag can check: flags that need each other, and the defaults that depend on others. */
function checked(config: Record<string, unknown>): ServerConfig {
  const draft = config as { -readonly [K in keyof ServerConfig]: ServerConfig[K] };
  draft.servedModelName ??= [defaultServedModelName(draft.model)];
  if (draft.tracing.enabled && draft.tracing.endpoint === undefined) {
    throw new UsageError('--enable-journey-tracing needs --otlp-traces-endpoint (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT)');
  }
  const limitsProblem = connectionLimitsProblem(draft.connectionLimits as ConnectionLimits);
  if (limitsProblem !== null) throw new UsageError(`--headers-timeout / --body-timeout: ${limitsProblem}`);
  if (draft.cors !== undefined) {
    if (draft.cors.allowedOrigins === undefined) throw new UsageError('--allowed-methods, --allowed-headers and --allow-credentials need --allowed-origins');
    draft.cors = { ...CORS_DEFAULTS, ...draft.cors };
    const problem = corsProblem(draft.cors);
    if (problem !== null) throw new UsageError(`--allowed-origins '*' with --allow-credentials: ${problem}`);
  }
  return draft;
}

function parseOptions() {
  return Object.fromEntries(
    FLAGS.map((f) => [f.name, { type: f.value === undefined ? ('boolean' as const) : ('string' as const), ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) }]),
  );
}

/**
 * What parseArgs cannot take as written: a negative number after a flag ("--seed -1", which it
 * reads as an option) becomes "--seed=-1", and several values after a flag that takes many
 * (vLLM's "--served-model-name a b") become one flag per value.
 */
function normaliseArgs(argv: readonly string[]): string[] {
  const many = new Set(FLAGS.filter((f) => f.multiple).map((f) => `--${f.name}`));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (many.has(arg)) {
      const before = out.length;
      while (i + 1 < argv.length && !argv[i + 1].startsWith('-')) out.push(`${arg}=${argv[++i]}`);
      if (out.length === before) out.push(arg); // no value: parseArgs says so
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

/** A flag's lines of the usage text: the flag and its placeholder, then its help wrapped beside them. */
function usageLines(flag: Flag): string {
  const label = `  ${flag.short ? `-${flag.short}, ` : ''}--${flag.name}${flag.value ? ` ${flag.value}${flag.multiple ? '...' : ''}` : ''}`;
  const notes = [
    flag.env ? `also ${flag.env.join(', then ')}` : null,
    flag.default !== undefined ? `default ${flag.default}` : flag.defaultHelp !== undefined ? `default: ${flag.defaultHelp}` : null,
  ].filter((n) => n !== null);
  const words = `${flag.help}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`.split(' ');
  const lines: string[] = [];
  let line = label.length < HELP_COLUMN - 1 ? label.padEnd(HELP_COLUMN) : `${label}  `;
  let empty = true;
  for (const word of words) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = ' '.repeat(HELP_COLUMN);
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines.map((l) => `${l}\n`).join('');
}

/** Start-up errors speak of option names (maxModelLen); a person typed flags (--max-model-len). */
const FLAG_OF_OPTION: ReadonlyMap<string, string> = new Map(
  FLAGS.filter((f) => f.to !== undefined && /[A-Z]/.test(f.to)).map((f) => [(f.to as string).split('.').at(-1) as string, `--${f.name}`]),
);

/** `message` with option names replaced by the flags that set them. */
export function inFlagTerms(message: string): string {
  return message.replace(/\b[a-z]+(?:[A-Z][a-z]*)+\b/g, (name) => FLAG_OF_OPTION.get(name) ?? name);
}
