/**
 * What one engine step did and where its time went, filled in by LLMEngine.step when asked
 * (for a sampled step span, docs/journey-tracing.md §7); plain data, measured only when wanted.
 */
export interface StepProfile {
  step: number;
  numSeqs: number;
  numPrefillSeqs: number;
  numDecodeSeqs: number;
  numPrefillTokens: number;
  numDecodeTokens: number;
  kvBlocksUsed: number;
  kvBlocksFree: number;
  numPreempted: number;
  scheduleMs: number;
  forwardMs: number;
  sampleMs: number;
  /** The sequences in the batch. */
  readonly batch: { seqId: number; requestId: string }[];
}

export function emptyStepProfile(): StepProfile {
  return {
    step: 0,
    numSeqs: 0,
    numPrefillSeqs: 0,
    numDecodeSeqs: 0,
    numPrefillTokens: 0,
    numDecodeTokens: 0,
    kvBlocksUsed: 0,
    kvBlocksFree: 0,
    numPreempted: 0,
    scheduleMs: 0,
    forwardMs: 0,
    sampleMs: 0,
    batch: [],
  };
}
