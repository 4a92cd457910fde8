import { numberProblem } from '../../util/number-rule.js';

/** A sample rate is a fraction of requests. */
export const SAMPLE_RATE_RULE = Object.freeze({ min: 0, max: 1 });

/** How journey tracing is set up; plain data, handed to every engine worker. */
export interface TracingConfig {
  readonly enabled: boolean;
  /** OTLP gRPC endpoint, e.g. http://127.0.0.1:4317. */
  readonly endpoint: string;
  /** Fraction of requests traced when the client sends no sampling decision. */
  readonly sampleRate: number;
  /** Fraction of engine steps traced as llm_step spans (docs/journey-tracing.md §7); each worker decides per step. */
  readonly stepSampleRate: number;
  readonly serviceName: string;
  readonly serviceVersion: string;
  /** One id for the whole server, shared by the API thread and every worker. */
  readonly serviceInstanceId: string;
  /** Most finished spans a thread holds for export before it drops (and counts) new ones. */
  readonly maxQueueSize: number;
  /** How long one export may take before it is abandoned. */
  readonly exportTimeoutMs: number;
  /** How long a thread waits for its last spans to export at shutdown. */
  readonly shutdownTimeoutMs: number;
}

export const TRACING_OFF: TracingConfig = Object.freeze({
  enabled: false,
  endpoint: '',
  sampleRate: 1,
  stepSampleRate: 0,
  serviceName: 'journey-llm',
  serviceVersion: '0.0.0',
  serviceInstanceId: '',
  maxQueueSize: 2048,
  exportTimeoutMs: 5000,
  shutdownTimeoutMs: 3000,
});

/** The endpoint from the flag, else the standard OTEL variables (traces-specific first). */
export function tracesEndpointFrom(flag: string | undefined, env: NodeJS.ProcessEnv): string | null {
  return flag ?? env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? null;
}

/** What a caller may set; everything else has a default. */
export interface TracingInput {
  readonly enabled?: boolean;
  readonly endpoint?: string;
  readonly sampleRate?: number;
  readonly stepSampleRate?: number;
  readonly serviceName?: string;
  readonly maxQueueSize?: number;
  readonly exportTimeoutMs?: number;
  readonly shutdownTimeoutMs?: number;
}

/**
 * Resolves tracing settings against the standard OTEL_* variables. With tracing on and no
 * endpoint anywhere, it refuses (RangeError): silently tracing nowhere would look like tracing.
 */
export function resolveTracingConfig(input: TracingInput = {}, env: NodeJS.ProcessEnv, serviceVersion: string, serviceInstanceId: string): TracingConfig {
  const enabled = input.enabled === true;
  const endpoint = tracesEndpointFrom(input.endpoint, env);
  const sampleRate = input.sampleRate ?? 1;
  const problem = numberProblem(sampleRate, SAMPLE_RATE_RULE);
  if (problem !== null) throw new RangeError(`the journey tracing sample rate ${problem}`);
  const stepSampleRate = input.stepSampleRate ?? 0;
  const stepProblem = numberProblem(stepSampleRate, SAMPLE_RATE_RULE);
  if (stepProblem !== null) throw new RangeError(`the journey step sample rate ${stepProblem}`);
  if (enabled && endpoint === null) {
    throw new RangeError('journey tracing is enabled but no OTLP endpoint is set: pass --otlp-traces-endpoint (or set OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)');
  }
  if (enabled && endpoint !== null && !/^https?:\/\/[^/]+/.test(endpoint)) throw new RangeError(`the OTLP endpoint must be an http(s) URL, got "${endpoint}"`);
  return {
    ...TRACING_OFF,
    enabled,
    endpoint: endpoint ?? '',
    sampleRate,
    stepSampleRate,
    serviceName: input.serviceName ?? env.OTEL_SERVICE_NAME ?? TRACING_OFF.serviceName,
    serviceVersion,
    serviceInstanceId,
    ...(input.maxQueueSize !== undefined ? { maxQueueSize: input.maxQueueSize } : {}),
    ...(input.exportTimeoutMs !== undefined ? { exportTimeoutMs: input.exportTimeoutMs } : {}),
    ...(input.shutdownTimeoutMs !== undefined ? { shutdownTimeoutMs: input.shutdownTimeoutMs } : {}),
  };
}
