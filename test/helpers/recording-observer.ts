import type { AbortReason, RequestLifecycle, RequestObserver } from '../../lib/observe/request-observer.js';

export interface Recorded {
  readonly route: string;
  readonly requestId: string;
  readonly events: string[];
  reason?: AbortReason;
  /** The abort's error message. */
  error?: string;
}

/** Records every request's lifecycle calls, and lets a test wait for one to end. */
export class RecordingObserver implements RequestObserver {
  readonly requests: Recorded[] = [];
  private waiters: { match: (r: Recorded) => boolean; resolve: (r: Recorded) => void }[] = [];

  begin(route: string, _operation: string, requestId: string): RequestLifecycle {
    const record: Recorded = { route, requestId, events: ['arrived'] };
    this.requests.push(record);
    const push = (event: string) => {
      record.events.push(event);
      this.waiters = this.waiters.filter((w) => !(w.match(record) && (w.resolve(record), true)));
    };
    return {
      described: () => push('described'),
      traceFor: () => undefined,
      handedOff: () => push('handedOff'),
      firstResponse: () => push('firstResponse'),
      choiceEvent: () => {},
      departed: () => push('departed'),
      aborted: (reason, error) => {
        record.reason = reason;
        record.error = error instanceof Error ? error.message : String(error);
        push(`aborted:${reason}`);
      },
      logFields: () => ({}),
    };
  }

  /** Resolves once a request that began at position `from` or later has recorded an event starting with `event`. */
  when(event: string, from = 0): Promise<Recorded> {
    const match = (r: Recorded) => this.requests.indexOf(r) >= from && r.events.some((e) => e.startsWith(event));
    const found = this.requests.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
}
