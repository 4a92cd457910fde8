/**
 * Every span, event and attribute name of the journey tracing contract
 * (shared/spec/journey-tracing.md), in one place. Dashboards and queries depend on these strings.
 */
export const SPAN = Object.freeze({ request: 'llm_request', core: 'llm_core' });
export const SCOPE = Object.freeze({ api: 'journey.api', core: 'journey.scheduler' });

export const API_EVENT = Object.freeze({
  arrived: 'api.ARRIVED',
  handoff: 'api.HANDOFF_TO_CORE',
  firstResponse: 'api.FIRST_RESPONSE_FROM_CORE',
  departed: 'api.DEPARTED',
  aborted: 'api.ABORTED',
});

export const CORE_EVENT_PREFIX = 'journey.';

export const ATTR = Object.freeze({
  // on every api.* event
  eventTsMonotonic: 'event.ts.monotonic',
  eventTsMonotonicNs: 'event.ts.monotonic_ns',
  // on api.ABORTED
  reason: 'reason',
  error: 'error',
  // on llm_request
  requestId: 'gen_ai.request.id',
  httpRoute: 'http.route',
  operationName: 'gen_ai.operation.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  temperature: 'gen_ai.request.temperature',
  topP: 'gen_ai.request.top_p',
  maxTokens: 'gen_ai.request.max_tokens',
  n: 'gen_ai.request.n',
  seed: 'gen_ai.request.seed',
  stream: 'gen_ai.request.stream',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  finishReasons: 'gen_ai.response.finish_reasons',
  // on llm_core
  choiceIndex: 'gen_ai.request.choice_index',
  // on every journey.* event
  eventType: 'event.type',
  tsMonotonic: 'ts.monotonic',
  tsMonotonicNs: 'ts.monotonic_ns',
  schedulerStep: 'scheduler.step',
  phase: 'phase',
  prefillDone: 'prefill.done_tokens',
  prefillTotal: 'prefill.total_tokens',
  decodeDone: 'decode.done_tokens',
  decodeMax: 'decode.max_tokens',
  numPreemptions: 'num_preemptions',
  scheduleKind: 'schedule.kind',
  finishStatus: 'finish.status',
});

/** Resource attributes that say which thread exported a span. */
export const RESOURCE_ATTR = Object.freeze({ threadName: 'thread.name', workerIndex: 'journey.worker.index' });
