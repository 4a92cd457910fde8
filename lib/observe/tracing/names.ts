/**
 * Every span, event and attribute name of the journey tracing contract
 * (docs/journey-tracing.md), in one place. Dashboards and queries depend on these strings.
 */
export const SPAN = Object.freeze({ request: 'llm_request', core: 'llm_core', step: 'llm_step' });
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
  // on llm_step (§7)
  batchNumSeqs: 'batch.num_seqs',
  batchNumPrefillSeqs: 'batch.num_prefill_seqs',
  batchNumDecodeSeqs: 'batch.num_decode_seqs',
  batchNumPrefillTokens: 'batch.num_prefill_tokens',
  batchNumDecodeTokens: 'batch.num_decode_tokens',
  kvBlocksUsed: 'kv.blocks_used',
  kvBlocksFree: 'kv.blocks_free',
  batchNumPreempted: 'batch.num_preempted',
  stepScheduleMs: 'step.schedule_ms',
  stepForwardMs: 'step.forward_ms',
  stepSampleMs: 'step.sample_ms',
  stepOutputMs: 'step.output_ms',
  // current GenAI conventions, beside the contract's own names
  providerName: 'gen_ai.provider.name',
  choiceCount: 'gen_ai.request.choice.count',
  topK: 'gen_ai.request.top_k',
  presencePenalty: 'gen_ai.request.presence_penalty',
  frequencyPenalty: 'gen_ai.request.frequency_penalty',
  responseId: 'gen_ai.response.id',
});

/** gen_ai.provider.name: no well-known value fits a self-hosted server, so the conventions' custom value is its own name. */
export const PROVIDER_NAME = 'journey-llm';

/** Resource attributes that say which thread exported a span. */
export const RESOURCE_ATTR = Object.freeze({ threadName: 'thread.name', workerIndex: 'journey.worker.index' });
